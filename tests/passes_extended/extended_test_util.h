// Helpers of the extended-level fusion tests: run one pass for a target profile, count ops of
// any domain, and check outputs on the reference executor (including chosen integer ranges).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "optimizer/evaluator.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/pass_manager.h"
#include "optimizer/target.h"
#include "passes/fusion_test_util.h"
#include "support/test_support.h"

namespace graphopt::testing {

struct FusionRun {
  std::unique_ptr<ir::Model> original;  // untouched copy
  int64_t applied = 0;
  PassRecord record;
};

// Clones `model`, infers shapes, then runs `pass` alone to a fixed point for `target`.
inline FusionRun RunFusion(ir::Model& model, const std::string& pass,
                           const std::string& target = "cpu") {
  FusionRun run;
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

// Op count by "domain.op" ("com.microsoft.Gelu") or plain name for the default domain.
inline int64_t CountFused(const ir::Model& m, const std::string& key) {
  int64_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) {
    n += TargetProfile::Key(node->domain(), node->op_type()) == key;
  }
  return n;
}

// Like CompareOutputs, with integer inputs drawn from [0, range) per input name.
inline std::string CompareWithIntRanges(const ir::Model& a, const ir::Model& b,
                                        const std::map<std::string, int64_t>& int_ranges) {
  auto evaluator = MakeReferenceEvaluator();
  VerifyOptions options;
  options.int_ranges = int_ranges;
  auto result = evaluator->Verify(a, b, options);
  if (!result.ok()) return "verification could not run: " + result.status().ToString();
  if (result->passed) return "";
  std::string why = result->message;
  for (const auto& o : result->outputs) {
    if (!o.match)
      why += " [" + o.name + ": abs " + std::to_string(o.max_abs_err) + " " + o.detail + "]";
  }
  return why.empty() ? "outputs differ" : why;
}

inline ir::Value* Scalar(ModelBuilder& b, const std::string& name, float v) {
  return b.graph().NewInitializer(name, Tensor::ScalarFloat(v));
}

}  // namespace graphopt::testing
