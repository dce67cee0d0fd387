// Verification runs both branches of an If decided by an integer input: the pipeline on a small
// If model records both values and passes at each, and a wrong rewrite inside the branch the
// random inputs never take is caught now (the single random run it replaced let it through).
#include <gtest/gtest.h>

#include "optimizer/evaluator.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
#include "verification/if_models.h"

namespace graphopt {
namespace {

using testing::AddIf;
using testing::ModelBuilder;
using testing::ScalarInt;

int64_t TopLevelCount(const ir::Model& m, const std::string& op) {
  int64_t n = 0;
  for (const ir::Node* node : m.graph->nodes()) n += node->op_type() == op;
  return n;
}

// y = If(mode == 3) then x * (1 + 1) else x + 1, plus a foldable Add in the top graph, with x of
// shape [batch] or [4].
std::unique_ptr<ir::Model> EqualIfModel(bool symbolic) {
  ModelBuilder b(17);
  ir::Value* x = symbolic ? b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "batch"}})
                          : b.Input("x", DataType::kFloat, {4});
  ir::Value* mode = b.Input("mode", DataType::kInt64, {});
  ir::Value* cond = b.Op("Equal", {mode, ScalarInt(b, "three", 3)});
  ir::Value* y = AddIf(b, cond, x, "Mul", 2, "Add", 1);
  ir::Value* one = b.Op("Add", {b.Floats("a", {}, {0.5f}), b.Floats("b", {}, {0.5f})});
  b.Output(b.Op("Mul", {y, one}));
  return b.Build();
}

TEST(IfVerification, PipelineRecordsBothValuesAndPassesAtEach) {
  for (bool symbolic : {false, true}) {
    SCOPED_TRACE(symbolic ? "x[batch]" : "x[4]");
    auto model = EqualIfModel(symbolic);
    auto reference = ir::CloneModel(*model);
    PipelineOptions options;
    options.level = Level::kBasic;
    auto report = OptimizeModel(*model, reference.get(), options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    // The constant Add of the top graph folded away: the passes changed the verified model.
    EXPECT_EQ(TopLevelCount(*reference, "Add"), 1);
    EXPECT_EQ(TopLevelCount(*model, "Add"), 0);
    EXPECT_EQ(TopLevelCount(*model, "If"), 1);
    EXPECT_EQ(report->verification_status, VerificationStatus::kPassed)
        << report->verification_message;
    ASSERT_EQ(report->verification_ifs.size(), 1u);
    const IfBranchCoverage& c = report->verification_ifs[0];
    EXPECT_TRUE(c.both_branches) << c.reason;
    EXPECT_EQ(c.input, "mode");
    EXPECT_EQ(c.then_value, 3);
    EXPECT_EQ(c.else_value, 4);
    // Every dims assignment with each branch value, recorded run by run.
    const size_t dims_runs = symbolic ? 2 : 1;
    ASSERT_EQ(report->verification_shapes.size(), 2 * dims_runs);
    ASSERT_EQ(report->verification_int_inputs.size(), 2 * dims_runs);
    for (size_t r = 0; r < report->verification_int_inputs.size(); ++r) {
      EXPECT_EQ(report->verification_int_inputs[r].at("mode"), r % 2 == 0 ? 3 : 4);
    }
    if (symbolic) {
      EXPECT_NE(report->verification_shapes[0].at("batch"),
                report->verification_shapes[2].at("batch"));
    }
    EXPECT_NE(report->verification_message.find("mode=3"), std::string::npos);
    EXPECT_NE(report->verification_message.find("mode=4"), std::string::npos);
    const std::string json = report->ToJson();
    EXPECT_NE(json.find("\"int_inputs\""), std::string::npos);
    EXPECT_NE(json.find("\"both_branches\": true"), std::string::npos);
    EXPECT_NE(report->ToHtml().find("both branches (<code>mode</code> = 3 then, 4 else)"),
              std::string::npos);
  }
}

TEST(IfVerification, TheIntegerValueSelectsTheBranchThatRuns) {
  // The same model against one whose else branch adds 2: equal at mode=3 (then), different at
  // mode=4 (else) by exactly 1 per element, so int_values really reached the If.
  auto a = EqualIfModel(false);
  auto b_model = [] {
    ModelBuilder b(17);
    ir::Value* x = b.Input("x", DataType::kFloat, {4});
    ir::Value* mode = b.Input("mode", DataType::kInt64, {});
    ir::Value* cond = b.Op("Equal", {mode, ScalarInt(b, "three", 3)});
    ir::Value* y = AddIf(b, cond, x, "Mul", 2, "Add", 2);
    ir::Value* one = b.Op("Add", {b.Floats("a", {}, {0.5f}), b.Floats("b", {}, {0.5f})});
    b.Output(b.Op("Mul", {y, one}));
    return b.Build();
  }();
  auto evaluator = MakeReferenceEvaluator();
  VerifyOptions options;
  options.int_values = {{"mode", 3}};
  auto same = evaluator->Verify(*a, *b_model, options);
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_TRUE(same->passed) << same->message;
  options.int_values = {{"mode", 4}};
  auto differ = evaluator->Verify(*a, *b_model, options);
  ASSERT_TRUE(differ.ok()) << differ.status().ToString();
  EXPECT_FALSE(differ->passed);
  ASSERT_EQ(differ->outputs.size(), 1u);
  EXPECT_NEAR(differ->outputs[0].max_abs_err, 1.0, 1e-6);
}

// y = If(mode < 1000) then x * 2 else x + else_c: random int inputs ([0, 100)) take then only.
std::unique_ptr<ir::Model> LessIfModel(float else_c) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {4});
  ir::Value* mode = b.Input("mode", DataType::kInt64, {});
  ir::Value* cond = b.Op("Less", {mode, ScalarInt(b, "limit", 1000)});
  b.Output(AddIf(b, cond, x, "Mul", 2, "Add", else_c));
  return b.Build();
}

TEST(IfVerification, AWrongRewriteInTheUntakenBranchIsCaught) {
  auto original = LessIfModel(1);
  auto optimized = LessIfModel(2);  // the "rewrite" broke the else branch
  // Before: one run on random inputs took the then branch only and passed.
  auto evaluator = MakeReferenceEvaluator();
  auto single = evaluator->Verify(*original, *optimized, VerifyOptions{});
  ASSERT_TRUE(single.ok()) << single.status().ToString();
  EXPECT_TRUE(single->passed) << "the random run was meant to miss the else branch";
  // Now: the run at mode=1000 takes the else branch and fails.
  Report report = VerifyModels(*original, *optimized, PipelineOptions{});
  EXPECT_EQ(report.verification_status, VerificationStatus::kFailed);
  ASSERT_EQ(report.verification_int_inputs.size(), 2u);
  EXPECT_EQ(report.verification_int_inputs[0].at("mode"), 999);
  EXPECT_EQ(report.verification_int_inputs[1].at("mode"), 1000);
  EXPECT_NE(report.verification_message.find("not all 1 outputs match"), std::string::npos)
      << report.verification_message;
  EXPECT_NE(report.verification_message.find("mode=1000"), std::string::npos);
  ASSERT_EQ(report.verification_outputs.size(), 1u);
  EXPECT_NEAR(report.verification_outputs[0].max_abs_err, 1.0, 1e-6);
  // The same two models with the else branch intact pass at both values.
  Report ok = VerifyModels(*original, *LessIfModel(1), PipelineOptions{});
  EXPECT_EQ(ok.verification_status, VerificationStatus::kPassed) << ok.verification_message;
  EXPECT_EQ(ok.verification_int_inputs.size(), 2u);
}

TEST(IfVerification, PinnedInputAndUnderivedIfAreReportedAsOneBranch) {
  auto original = LessIfModel(1);
  auto optimized = LessIfModel(2);
  PipelineOptions options;
  options.verify_ints = {{"mode", 5}};  // then branch only: the broken else is not run
  Report report = VerifyModels(*original, *optimized, options);
  EXPECT_EQ(report.verification_status, VerificationStatus::kPassed);
  ASSERT_EQ(report.verification_ifs.size(), 1u);
  EXPECT_FALSE(report.verification_ifs[0].both_branches);
  ASSERT_EQ(report.verification_int_inputs.size(), 1u);
  EXPECT_EQ(report.verification_int_inputs[0].at("mode"), 5);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_NE(report.warnings[0].find("one branch only"), std::string::npos) << report.warnings[0];
  EXPECT_NE(report.ToJson().find("pinned to 5 by --verify-int"), std::string::npos);
}

TEST(IfVerification, UnknownVerifyIntNameIsInvalidArgument) {
  auto model = LessIfModel(1);
  auto reference = ir::CloneModel(*model);
  for (const auto& [ints, words] :
       std::vector<std::pair<std::map<std::string, int64_t>, std::string>>{
           {{{"nosuch", 1}}, "its integer inputs: mode"}, {{{"x", 1}}, "no integer input"}}) {
    PipelineOptions options;
    options.verify_ints = ints;
    auto report = OptimizeModel(*model, reference.get(), options);
    ASSERT_FALSE(report.ok());
    EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(report.status().message().find(words), std::string::npos)
        << report.status().message();
  }
}

}  // namespace
}  // namespace graphopt
