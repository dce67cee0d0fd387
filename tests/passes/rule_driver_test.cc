// The pass infrastructure itself: the worklist driver reaches a fixed point in one run, a failed
// rule leaves the graph as it was (rollback) and says why, the target decides from `emits`,
// pass dependencies order the registry, and the IR verifier catches broken graphs.
#include <gtest/gtest.h>

#include <algorithm>

#include "optimizer/evaluator.h"
#include "optimizer/ir/verifier.h"
#include "optimizer/pass/pass_manager.h"
#include "optimizer/pass/rule.h"
#include "optimizer/target.h"
#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::ModelBuilder;
using testing::RunSinglePass;

std::unique_ptr<ir::Model> ReluChain(int n) {
  ModelBuilder b(13);
  ir::Value* v = b.Input("x", DataType::kFloat, {2, 3});
  for (int i = 0; i < n; ++i) v = b.Op("Relu", {v});
  b.Output(b.Op("Neg", {v}));
  return b.Build();
}

TEST(RuleDriver, CollapsesAReluChainInOneRun) {
  auto model = ReluChain(500);
  auto run = RunSinglePass(*model, "simplify_algebra");
  EXPECT_EQ(run.applied, 499);
  EXPECT_EQ(run.record.rule_counts["relu_relu"], 499);
  EXPECT_EQ(testing::CountOp(*model, "Relu"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 2u);
  EXPECT_TRUE(ir::VerifyModel(*model).ok());
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(RuleDriver, ReachesTheFixedPointWithinOneRun) {
  // Each bypass makes the next Relu's producer a Relu: a one-walk driver would need the pass
  // manager's iterations; the worklist revisits what changed.
  auto model = ReluChain(50);
  auto profile = TargetRegistry::Get().Find("generic");
  ASSERT_TRUE(profile.ok());
  PassOptions options;
  PassRecord record;
  PassContext ctx{*model, **profile, options, nullptr, &record};
  auto pass = PassRegistry::Get().Find("simplify_algebra")->factory();
  auto applied = pass->Run(ctx);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 49);
  auto again = pass->Run(ctx);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

// A rule that builds a node and an initializer, then declines: the driver must take both away.
RewriteResult BuildThenDecline(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  ir::Value* c = rw.CreateInitializer("scratch", Tensor::FromVector<float>(DataType::kFloat, {}, {1}));
  rw.CreateNode("Add", {root->output(0), c}, 1, "scratch_add");
  return MatchFailure("declined after building");
}

TEST(RuleDriver, RollsBackAFailedRewriteAndRecordsWhy) {
  auto model = ReluChain(3);
  const size_t nodes = model->graph->num_nodes();
  const size_t initializers = model->graph->initializers().size();
  auto profile = TargetRegistry::Get().Find("generic");
  ASSERT_TRUE(profile.ok());
  PassOptions options;
  PassRecord record;
  PassContext ctx{*model, **profile, options, nullptr, &record};
  RulePass pass({{"build_then_decline", "Relu", "", BuildThenDecline}});
  auto applied = pass.Run(ctx);
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(*applied, 0);
  EXPECT_EQ(model->graph->num_nodes(), nodes);
  EXPECT_EQ(model->graph->initializers().size(), initializers);
  EXPECT_EQ(record.match_failures["build_then_decline: declined after building"], 3);
  EXPECT_TRUE(ir::VerifyModel(*model).ok());
}

RewriteResult AlwaysApplies(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  return rw.Bypass(root);
}

TEST(RuleDriver, DropsRulesWhoseEmittedOperatorsTheTargetLacks) {
  for (const char* target : {"generic", "cpu"}) {
    auto model = ReluChain(2);
    auto profile = TargetRegistry::Get().Find(target);
    ASSERT_TRUE(profile.ok());
    PassOptions options;
    PassRecord record;
    PassContext ctx{*model, **profile, options, nullptr, &record};
    RulePass pass({{"needs_gelu", "Relu", "", AlwaysApplies, {"com.microsoft.Gelu"}}});
    auto applied = pass.Run(ctx);
    ASSERT_TRUE(applied.ok());
    const bool allowed = (*profile)->Allows("com.microsoft", "Gelu");
    EXPECT_EQ(*applied > 0, allowed) << target;
  }
}

TEST(RuleDriver, FailedMatchesSayWhy) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {1, 2, 5, 5});
  auto* w = b.Floats("w", {2, 2, 3, 3}, std::vector<float>(36, 0.1f));
  b.Output(b.Op("Conv", {b.Op("Relu", {x}), w}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fuse_pad_conv");
  EXPECT_EQ(run.applied, 0);
  EXPECT_GT(run.record.match_failures["pad_into_conv: input is not a Pad"], 0);
}

TEST(PassOrdering, DeclaredDependenciesHoldAndHaveNoCycle) {
  auto& registry = PassRegistry::Get();
  ASSERT_TRUE(registry.Check().ok()) << registry.Check().message();
  const auto all = registry.All();
  auto position = [&](const std::string& name) {
    return std::find_if(all.begin(), all.end(), [&](const PassInfo* p) { return p->name == name; }) -
           all.begin();
  };
  for (const PassInfo* p : all) {
    for (const std::string& other : registry.After(p->name)) {
      EXPECT_LT(position(other), position(p->name)) << p->name << " after " << other;
    }
  }
  EXPECT_LT(position("fuse_conv_batchnorm"), position("decompose_batchnorm"));
}

TEST(IrVerifier, AcceptsAValidGraphAndNamesABrokenOne) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* a = b.Op("Relu", {x});
  b.Output(b.Op("Neg", {a}));
  auto model = b.Build();
  EXPECT_TRUE(ir::VerifyModel(*model).ok());
  // A node appended after its reader breaks the topological order.
  ir::Graph& g = *model->graph;
  ir::Node* late = g.AddNode("Abs", {x}, 1, "late");
  g.nodes()[1]->SetInput(0, late->output(0));
  const Status s = ir::VerifyModel(*model);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("comes before the producer"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace graphopt
