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
  // Progress, before each pass runs: the fixed-point round (from 1), the pass's index in the
  // round (from 0), passes per round, and its name.
  std::function<void(int round, int index, int count, const std::string& name)> on_pass;
  // Counts rewrites across passes and stops them at its limit (--bisect-limit); may be null.
  RewriteCounter* rewrites = nullptr;
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

  // The passes of the level (or enabled) that the target keeps from running, with the profile's
  // reason (the operators they would emit are not listed, or listed as slower).
  static std::vector<DroppedPass> Dropped(const PassManagerOptions& options,
                                          const TargetProfile& target, int64_t opset);

  Result<std::vector<PassStats>> Run(ir::Model& model, const TargetProfile& target,
                                     Evaluator* evaluator, const PassManagerOptions& options);
};

}  // namespace graphopt
