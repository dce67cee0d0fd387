// What the optimizer needs from an executor: evaluating constant nodes (folding) and
// comparing two models' outputs (verification). backends/reference implements both.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt {

struct VerifyOptions {
  std::map<std::string, int64_t> dims;  // values for symbolic dims ("batch" -> 1)
  double atol = 1e-4;                   // float tolerances: |a-b| <= atol + rtol*|b|
  double rtol = 1e-3;
  uint64_t seed = 0;
  // int64 inputs are drawn from [0, range) (per input name; "*" for all others).
  std::map<std::string, int64_t> int_ranges;
  int64_t memory_cap_bytes = int64_t{8} << 30;
};

struct OutputComparison {
  std::string name;
  double max_abs_err = 0;
  double max_rel_err = 0;
  bool match = false;
  std::string detail;  // why it does not match (shape, dtype, NaN placement...)
};

struct VerificationResult {
  bool passed = false;
  std::vector<OutputComparison> outputs;
  std::string message;
};

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
