// What the optimizer needs from an executor: evaluating constant nodes (folding) and
// comparing two models' outputs (verification). backends/reference implements both.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/verify_options.h"

namespace graphopt {

class Evaluator {
 public:
  virtual ~Evaluator() = default;
  // True when a kernel exists for this node at this opset.
  virtual bool CanEvaluate(const ir::Node& node, int64_t opset) const = 0;
  // Runs one node on constant inputs (nullptr for omitted optional inputs).
  virtual Result<std::vector<Tensor>> EvaluateNode(const ir::Node& node,
                                                   const std::vector<const Tensor*>& inputs,
                                                   int64_t opset) = 0;
  // Runs both models on the same deterministic inputs and compares every graph output.
  virtual Result<VerificationResult> Verify(const ir::Model& original, const ir::Model& optimized,
                                            const VerifyOptions& options) = 0;
};

// The reference executor as an Evaluator; defined in backends/reference.
std::unique_ptr<Evaluator> MakeReferenceEvaluator();

}  // namespace graphopt
