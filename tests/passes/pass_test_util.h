// Runs one pass (by name) on a model the way the pass manager would, for golden tests.
#pragma once

#include <memory>
#include <string>

#include "optimizer/ir/graph.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/pass_manager.h"
#include "optimizer/target.h"

namespace graphopt::testing {

struct PassRun {
  std::unique_ptr<ir::Model> original;  // untouched copy for comparisons
  int64_t applied = 0;
  PassRecord record;
};

// Clones `model`, runs shape inference, then runs `pass` alone to a fixed point on `model`.
PassRun RunSinglePass(ir::Model& model, const std::string& pass,
                      const std::string& target = "generic");

}  // namespace graphopt::testing
