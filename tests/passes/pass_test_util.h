// Runs one pass (by name) on a model the way the pass manager would, for golden tests.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "optimizer/evaluator.h"
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

// Clones `model`, runs shape inference, then runs `pass` alone to a fixed point on `model`
// for the `target` profile. Header-only so every pass test executable can use it.
inline PassRun RunSinglePass(ir::Model& model, const std::string& pass,
                             const std::string& target = "generic") {
  PassRun run;
  run.original = ir::CloneModel(model);
  EXPECT_TRUE(ir::InferShapes(model).ok());
  PassManagerOptions options;
  options.level = Level::kDisabled;
  options.enable = {pass};
  auto profile = TargetRegistry::Get().Find(target);
  EXPECT_TRUE(profile.ok()) << profile.status().ToString();
  if (!profile.ok()) return run;
  auto evaluator = MakeReferenceEvaluator();
  PassManager manager;
  auto stats = manager.Run(model, **profile, evaluator.get(), options);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  if (stats.ok() && !stats->empty()) {
    run.applied = stats->front().applied;
    run.record = stats->front().record;
  }
  return run;
}

}  // namespace graphopt::testing
