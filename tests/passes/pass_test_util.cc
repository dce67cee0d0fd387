#include "passes/pass_test_util.h"

#include <gtest/gtest.h>

#include "optimizer/evaluator.h"

namespace graphopt::testing {

PassRun RunSinglePass(ir::Model& model, const std::string& pass, const std::string& target) {
  PassRun run;
  run.original = ir::CloneModel(model);
  EXPECT_TRUE(ir::InferShapes(model).ok());
  PassManagerOptions options;
  options.level = Level::kDisabled;
  options.enable = {pass};
  auto profile = TargetRegistry::Get().Find(target);
  EXPECT_TRUE(profile.ok());
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
