// Runs the passes of a level to a fixed point and records what each one did.
#pragma once

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "optimizer/pass/pass.h"
#include "optimizer/pass/pass_stats.h"
#include "optimizer/target.h"

namespace graphopt {

struct PassManagerOptions {
  Level level = Level::kBasic;
  std::set<std::string> enable;   // run these even if their level is above `level`
  std::set<std::string> disable;  // never run these
  int max_iterations = 8;
  PassOptions pass_options;
  // Progress: (index of the pass in this iteration, passes per iteration, pass name).
  std::function<void(int, int, const std::string&)> on_pass;
  // Checked between passes; when it returns true the run stops with CANCELLED.
  std::function<bool()> cancelled;
  // Checks the IR's invariants after every pass (also on when GRAPHOPT_VERIFY_IR=1); a
  // violation fails the run naming the pass.
  bool verify_ir = false;
  // Prints the graph after this pass (or "all") in ONNX text format, to `print_ir`.
  std::string print_ir_after;
  std::function<void(const std::string& pass, const std::string& text)> print_ir;
};

class PassManager {
 public:
  // Validates pass names in enable/disable; fails on unknown names.
  static Result<std::vector<const PassInfo*>> Select(const PassManagerOptions& options,
                                                     const TargetProfile& target);

  Result<std::vector<PassStats>> Run(ir::Model& model, const TargetProfile& target,
                                     Evaluator* evaluator, const PassManagerOptions& options);
};

}  // namespace graphopt
