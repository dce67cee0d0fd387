// Reports that explain (issue 16): per-pass node counts of a pass's own runs with their round,
// near misses with reasons, passes and rules a target drops, rewrite provenance, the rewrite
// limit (--bisect-limit) and the culprit bisection, progress events with rounds.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>

#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
#include "optimizer/pass/pass_manager.h"
#include "optimizer/target.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CountOp;
using testing::ModelBuilder;

const PassStats& PassNamed(const Report& r, const std::string& name) {
  auto it = std::find_if(r.passes.begin(), r.passes.end(),
                         [&](const PassStats& p) { return p.name == name; });
  if (it == r.passes.end()) throw std::runtime_error("no pass " + name);
  return *it;
}

// x -> Identity -> Identity -> Conv -> BatchNormalization -> Relu: 5 nodes.
std::unique_ptr<ir::Model> IdentityConvBn(bool constant_bn_scale) {
  ModelBuilder b(13);
  ir::Value* x = b.Input("x", DataType::kFloat, {1, 2, 4, 4});
  ir::Value* scale = constant_bn_scale ? b.Floats("scale", {2}, {1.5f, 0.5f})
                                       : b.Input("scale", DataType::kFloat, {2});
  ir::Value* v = b.Op("Identity", {x});
  v = b.Op("Identity", {v});
  v = b.Op("Conv", {v, b.Floats("w", {2, 2, 1, 1}, {1, 2, 3, 4}), b.Floats("cb", {2}, {0.1f, 0.2f})});
  b.LastNode()->set_name("conv");
  v = b.Op("BatchNormalization", {v, scale, b.Floats("bias", {2}, {0.3f, -0.2f}),
                                  b.Floats("mean", {2}, {0.5f, 1.0f}),
                                  b.Floats("var", {2}, {2.0f, 0.25f})});
  b.LastNode()->set_name("bn");
  v = b.Op("Relu", {v});
  b.LastNode()->set_name("relu");
  b.Output(v);
  return b.Build();
}

Result<Report> Optimize(ir::Model& model, PipelineOptions options) {
  std::unique_ptr<ir::Model> original = ir::CloneModel(model);
  return OptimizeModel(model, original.get(), options);
}

TEST(Explain, PassNodeCountsAreThoseOfItsOwnRuns) {
  auto model = IdentityConvBn(true);
  PipelineOptions options;  // basic, generic
  auto report = Optimize(*model, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed)
      << report->verification_message;
  EXPECT_EQ(report->nodes_before, 5);
  EXPECT_EQ(report->nodes_after, 2);  // Conv (with the BatchNormalization folded in), Relu
  const PassStats& identity = PassNamed(*report, "eliminate_identity");
  EXPECT_EQ(identity.applied, 2);
  EXPECT_EQ(identity.nodes_before, 5);
  EXPECT_EQ(identity.nodes_after, 3);
  const PassStats& dropout = PassNamed(*report, "eliminate_dropout");
  EXPECT_EQ(dropout.applied, 0);
  EXPECT_EQ(dropout.nodes_before, 3);
  EXPECT_EQ(dropout.nodes_after, 3);  // nothing of its own, whatever others did
  const PassStats& bn = PassNamed(*report, "fuse_conv_batchnorm");
  EXPECT_EQ(bn.applied, 1);
  EXPECT_EQ(bn.nodes_after, bn.nodes_before - 1);
  // Round 1 changed the graph, round 2 found the fixed point: every pass ran in both.
  ASSERT_EQ(identity.rounds.size(), 2u);
  EXPECT_EQ(identity.rounds[0].round, 1);
  EXPECT_EQ(identity.rounds[0].applied, 2);
  EXPECT_EQ(identity.rounds[1].round, 2);
  EXPECT_EQ(identity.rounds[1].nodes_before, 2);
  EXPECT_EQ(identity.rounds[1].nodes_after, 2);
  EXPECT_EQ(report->rewrites_total, 3 + PassNamed(*report, "eliminate_dead_code").applied);

  auto j = nlohmann::json::parse(report->ToJson());
  EXPECT_EQ(j["passes"][0]["rounds"].size(), 2u);
  EXPECT_EQ(j["verification"]["status"], "passed");
}

TEST(Explain, ProgressEventsCarryTheRound) {
  auto model = IdentityConvBn(true);
  PipelineOptions options;
  std::vector<ProgressEvent> events;
  options.on_progress = [&](const ProgressEvent& e) {
    if (e.stage == "optimizing" && e.pass_count > 0) events.push_back(e);
  };
  ASSERT_TRUE(Optimize(*model, options).ok());
  ASSERT_FALSE(events.empty());
  const int count = events.front().pass_count;
  ASSERT_EQ(events.size(), static_cast<size_t>(2 * count));  // two rounds
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].round, static_cast<int>(i) / count + 1);
    EXPECT_EQ(events[i].pass_index, static_cast<int>(i) % count);
    EXPECT_EQ(events[i].pass_count, count);
  }
}

TEST(Explain, NearMissNamesNodeRuleAndReason) {
  auto model = IdentityConvBn(/*constant_bn_scale=*/false);
  PipelineOptions options;
  auto report = Optimize(*model, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 1);  // not folded: its scale is an input
  const PassStats& bn = PassNamed(*report, "fuse_conv_batchnorm");
  ASSERT_EQ(bn.record.near_misses.size(), 1u);  // deduplicated across rounds
  EXPECT_EQ(bn.record.near_misses[0].node, "bn");
  EXPECT_EQ(bn.record.near_misses[0].rule, "conv_batchnorm");
  EXPECT_NE(bn.record.near_misses[0].reason.find("constant parameters"), std::string::npos);
  const std::string text = report->ExplainText();
  EXPECT_NE(text.find("conv_batchnorm: BatchNormalization is not in inference mode"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(" bn"), std::string::npos) << text;
  auto j = nlohmann::json::parse(report->ToJson());
  bool found = false;
  for (const auto& p : j["passes"]) {
    if (p["name"] != "fuse_conv_batchnorm") continue;
    found = p["near_misses"][0]["node"] == "bn";
  }
  EXPECT_TRUE(found);
}

// The BatchNormalization's scale is Cast(Shape(x)[1]) on a symbolic-batch input: in round 1
// fold_shape_arithmetic folds the Gather only after fuse_conv_batchnorm declined, the Cast folds
// in round 2 and the BN is fused then. The round-1 near miss must not be reported.
TEST(Explain, NearMissOfANodeFusedInALaterRoundIsDropped) {
  ModelBuilder b(13);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat,
                                 {ir::Dim{-1, "batch"}, ir::Dim{3, ""}, ir::Dim{4, ""}, ir::Dim{4, ""}});
  ir::Value* channels = b.Op("Gather", {b.Op("Shape", {x}), b.Ints("one", {1})});
  ir::Value* scale = b.Op("Cast", {channels});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  ir::Value* v = b.Op("Conv", {x, b.Floats("w", {1, 3, 1, 1}, {1, 2, 3})});
  v = b.Op("BatchNormalization", {v, scale, b.Floats("bias", {1}, {0.3f}),
                                  b.Floats("mean", {1}, {0.5f}), b.Floats("var", {1}, {2.0f})});
  b.LastNode()->set_name("bn");
  b.Output(v);
  auto model = b.Build();
  auto report = Optimize(*model, PipelineOptions{});
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed)
      << report->verification_message;
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(model->graph->num_nodes(), 1u);  // the Conv with the folded weights
  const PassStats& bn = PassNamed(*report, "fuse_conv_batchnorm");
  EXPECT_GT(bn.record.match_failures.size(), 0u);  // it did decline once...
  EXPECT_TRUE(bn.record.near_misses.empty());      // ...but that is not a reason any more
  EXPECT_EQ(report->near_misses_resolved, 1);
  EXPECT_EQ(nlohmann::json::parse(report->ToJson())["near_misses_resolved"], 1);
}

TEST(Explain, DroppedPassesAndRulesGiveTheProfilesReason) {
  PassManagerOptions pm;
  pm.level = Level::kExtended;
  auto cpu = TargetRegistry::Get().Find("cpu");
  auto generic = TargetRegistry::Get().Find("generic");
  ASSERT_TRUE(cpu.ok() && generic.ok());
  auto has = [](const std::vector<DroppedPass>& d, const std::string& name,
                const std::string& words) {
    for (const auto& p : d) {
      if (p.name == name) return p.reason.find(words) != std::string::npos;
    }
    return false;
  };
  const auto on_cpu = PassManager::Dropped(pm, **cpu, 17);
  EXPECT_TRUE(has(on_cpu, "fuse_skip_layer_norm", "slower on this target"));
  EXPECT_FALSE(has(on_cpu, "fuse_attention", ""));
  const auto on_generic = PassManager::Dropped(pm, **generic, 14);
  EXPECT_TRUE(has(on_generic, "fuse_attention", "not among the operators target 'generic'"));
  // The pass runs, but its LayerNormalization rule needs opset 17.
  EXPECT_TRUE(has(on_generic, "fuse_layer_norm/layer_norm", "needs opset 17"));
  EXPECT_FALSE(has(PassManager::Dropped(pm, **generic, 17), "fuse_layer_norm/layer_norm", ""));
}

// x -> 5 Identity -> Relu.
std::unique_ptr<ir::Model> IdentityChain() {
  ModelBuilder b(13);
  ir::Value* v = b.Input("x", DataType::kFloat, {2, 3});
  for (int i = 0; i < 5; ++i) {
    v = b.Op("Identity", {v});
    b.LastNode()->set_name("id" + std::to_string(i));
  }
  b.Output(b.Op("Relu", {v}));
  return b.Build();
}

TEST(Explain, BisectLimitAppliesExactlyTheFirstRewrites) {
  for (int64_t limit : {0, 2, 5}) {
    auto model = IdentityChain();
    PipelineOptions options;
    options.bisect_limit = limit;
    auto report = Optimize(*model, options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->verification_status, VerificationStatus::kPassed);
    EXPECT_EQ(report->rewrites_total, limit);
    EXPECT_EQ(CountOp(*model, "Identity"), 5 - limit) << limit;
    EXPECT_EQ(model->graph->num_nodes(), static_cast<size_t>(6 - limit));
  }
}

TEST(Explain, RewritesRecordProvenanceAndTheArtifactCanCarryIt) {
  auto model = IdentityConvBn(true);
  PipelineOptions options;
  options.level = Level::kExtended;
  options.target = "cpu";
  options.provenance_metadata = true;
  auto report = Optimize(*model, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed);
  EXPECT_EQ(CountOp(*model, "com.microsoft.FusedConv"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  const PassStats& act = PassNamed(*report, "fuse_conv_activation");
  ASSERT_EQ(act.record.rewrites.size(), 1u);
  const RewriteEntry& r = act.record.rewrites[0];
  EXPECT_EQ(r.rule, "conv_activation");
  EXPECT_EQ(r.from, (std::vector<std::string>{"relu", "conv"}));
  ASSERT_EQ(r.to.size(), 1u);
  EXPECT_EQ(r.to[0], model->graph->nodes().front()->name());
  // The rewrite log is ordered across passes from 1.
  const PassStats& identity = PassNamed(*report, "eliminate_identity");
  ASSERT_EQ(identity.record.rewrites.size(), 2u);
  EXPECT_EQ(identity.record.rewrites[0].index, 1);
  EXPECT_EQ(identity.record.rewrites[1].index, 2);
  EXPECT_GT(r.index, 2);

  std::string provenance;
  for (const auto& [k, v] : model->metadata_props) {
    if (k == "graphopt.provenance") provenance = v;
  }
  auto j = nlohmann::json::parse(provenance);
  ASSERT_TRUE(j.is_array());
  EXPECT_EQ(static_cast<int64_t>(j.size()), report->rewrites_total);
  EXPECT_EQ(j.back()["rule"], "conv_activation");
  EXPECT_EQ(j.back()["pass"], "fuse_conv_activation");
}

TEST(Explain, VerificationStatusHasOneSpelling) {
  for (auto s : {VerificationStatus::kSkipped, VerificationStatus::kPassed,
                 VerificationStatus::kFailed}) {
    EXPECT_EQ(ParseVerificationStatus(VerificationStatusName(s)), s);
  }
  EXPECT_EQ(std::string(VerificationStatusName(VerificationStatus::kFailed)), "failed");
  EXPECT_FALSE(ParseVerificationStatus("ok").has_value());
}

}  // namespace
}  // namespace graphopt

namespace graphopt {
namespace {

// A round cap that cuts the fixed point off is reported; a run that converged is not.
TEST(ExplainReport, WarnsWhenTheRoundCapCutsTheFixedPointOff) {
  auto has_cap_warning = [](const Report& r) {
    return std::any_of(r.warnings.begin(), r.warnings.end(), [](const std::string& w) {
      return w.find("did not reach a fixed point in 1 rounds") != std::string::npos;
    });
  };
  PipelineOptions capped;
  capped.max_iterations = 1;  // round 1 rewrites, so no round was seen to change nothing
  auto model = IdentityConvBn(true);
  auto original = ir::CloneModel(*model);
  auto report = OptimizeModel(*model, original.get(), capped);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(has_cap_warning(*report));
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed);

  auto converged = IdentityConvBn(true);
  auto reference = ir::CloneModel(*converged);
  auto full = OptimizeModel(*converged, reference.get(), PipelineOptions{});
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  for (const std::string& w : full->warnings) EXPECT_EQ(w.find("fixed point"), std::string::npos) << w;
  EXPECT_EQ(CountOp(*converged, "Identity"), 0);
}

}  // namespace
}  // namespace graphopt
