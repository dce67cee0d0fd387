// DeriveIfBranchValues: the input values that take each branch of an If, through comparisons,
// Not and Cast chains; the reasons given when they cannot be derived; and how the values of
// several Ifs combine into verification runs (SampleIntAssignments).
#include <gtest/gtest.h>

#include "optimizer/if_branch_values.h"
#include "optimizer/sample_dims.h"
#include "verification/if_models.h"

namespace graphopt {
namespace {

using testing::AddIf;
using testing::ModelBuilder;
using testing::ScalarInt;

ir::Value* Cast(ModelBuilder& b, ir::Value* v, DataType to) {
  ir::Value* out = b.Op("Cast", {v});
  b.LastNode()->SetInt("to", static_cast<int64_t>(to));
  return out;
}

// The single If of a model whose condition is `cond` (built from inputs of `b`).
IfBranchCoverage DeriveOne(ModelBuilder& b, ir::Value* cond) {
  ir::Value* x = b.Input("x", DataType::kFloat, {2});
  b.Output(AddIf(b, cond, x, "Mul", 2, "Add", 1));
  auto ifs = DeriveIfBranchValues(b.graph());
  EXPECT_EQ(ifs.size(), 1u);
  return ifs.empty() ? IfBranchCoverage{} : ifs[0];
}

TEST(IfBranchValues, EqualThroughCastToBoolTakesTheConstantAndItsNeighbour) {
  // Silero VAD's shape: If(Cast<bool>(Equal(sr, 16000))).
  ModelBuilder b;
  ir::Value* sr = b.Input("sr", DataType::kInt64, {});
  ir::Value* eq = b.Op("Equal", {sr, ScalarInt(b, "k", 16000)});
  IfBranchCoverage c = DeriveOne(b, Cast(b, eq, DataType::kBool));
  ASSERT_TRUE(c.both_branches) << c.reason;
  EXPECT_EQ(c.node, "if");
  EXPECT_EQ(c.input, "sr");
  EXPECT_EQ(c.then_value, 16000);
  EXPECT_EQ(c.else_value, 16001);
}

TEST(IfBranchValues, GreaterAndConstantOnTheLeft) {
  {
    ModelBuilder b;
    ir::Value* n = b.Input("n", DataType::kInt64, {1});
    IfBranchCoverage c = DeriveOne(b, b.Op("Greater", {n, ScalarInt(b, "k", 10)}));
    ASSERT_TRUE(c.both_branches) << c.reason;
    EXPECT_EQ(c.then_value, 11);
    EXPECT_EQ(c.else_value, 10);
  }
  {
    // Less(100, n) is n > 100.
    ModelBuilder b;
    ir::Value* n = b.Input("n", DataType::kInt32, {});
    ir::Value* k = b.Init("k", Tensor::FromVector<int32_t>(DataType::kInt32, {}, {100}));
    IfBranchCoverage c = DeriveOne(b, b.Op("Less", {k, n}));
    ASSERT_TRUE(c.both_branches) << c.reason;
    EXPECT_EQ(c.then_value, 101);
    EXPECT_EQ(c.else_value, 100);
  }
}

TEST(IfBranchValues, NotSwapsTheBranches) {
  ModelBuilder b;
  ir::Value* n = b.Input("n", DataType::kInt64, {});
  ir::Value* lt = b.Op("Less", {n, ScalarInt(b, "k", 5)});
  IfBranchCoverage c = DeriveOne(b, b.Op("Not", {b.Op("Not", {b.Op("Not", {lt})})}));
  ASSERT_TRUE(c.both_branches) << c.reason;
  EXPECT_EQ(c.then_value, 5);  // not (5 < 5)
  EXPECT_EQ(c.else_value, 4);
}

TEST(IfBranchValues, CastChainsOnBothSidesOfTheComparison) {
  // int32 -> float compared with 2.5, then bool -> int64 -> bool, through a Squeeze.
  ModelBuilder b;
  ir::Value* n = b.Input("n", DataType::kInt32, {1});
  ir::Value* f = Cast(b, n, DataType::kFloat);
  ir::Value* ge = b.Op("GreaterOrEqual", {f, b.Floats("k", {}, {2.5f})});
  ir::Value* i = Cast(b, ge, DataType::kInt64);
  ir::Value* sq = b.Op("Squeeze", {i});
  IfBranchCoverage c = DeriveOne(b, Cast(b, sq, DataType::kBool));
  ASSERT_TRUE(c.both_branches) << c.reason;
  EXPECT_EQ(c.then_value, 3);
  EXPECT_EQ(c.else_value, 2);
}

TEST(IfBranchValues, AnIntegerInputAsTheConditionIsItsTruth) {
  // If(Cast<bool>(flag)) and If(Not(bool_input)): nonzero / true takes then.
  {
    ModelBuilder b;
    ir::Value* flag = b.Input("flag", DataType::kInt64, {});
    IfBranchCoverage c = DeriveOne(b, Cast(b, flag, DataType::kBool));
    ASSERT_TRUE(c.both_branches) << c.reason;
    EXPECT_EQ(c.then_value, 1);
    EXPECT_EQ(c.else_value, 0);
  }
  {
    ModelBuilder b;
    ir::Value* on = b.Input("on", DataType::kBool, {});
    IfBranchCoverage c = DeriveOne(b, b.Op("Not", {on}));
    ASSERT_TRUE(c.both_branches) << c.reason;
    EXPECT_EQ(c.then_value, 0);
    EXPECT_EQ(c.else_value, 1);
  }
}

TEST(IfBranchValues, ValuesTheInputTypeCannotHoldAreNotClaimed) {
  // uint8 > 255 is never true: only the else branch can run.
  ModelBuilder b;
  ir::Value* n = b.Input("n", DataType::kUint8, {});
  ir::Value* k = b.Init("k", Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {255}));
  IfBranchCoverage c = DeriveOne(b, b.Op("Greater", {n, k}));
  EXPECT_FALSE(c.both_branches);
  EXPECT_NE(c.reason.find("then branch"), std::string::npos) << c.reason;
}

TEST(IfBranchValues, ReasonsWhenTheConditionIsNotDerived) {
  {
    // Data-dependent: a reduction of the float input.
    ModelBuilder b;
    ir::Value* v = b.Input("v", DataType::kFloat, {3});
    ir::Value* s = b.Op("ReduceSum", {v});
    IfBranchCoverage c = DeriveOne(b, b.Op("Greater", {s, b.Floats("k", {}, {0.f})}));
    EXPECT_FALSE(c.both_branches);
    EXPECT_NE(c.reason.find("ReduceSum"), std::string::npos) << c.reason;
  }
  {
    // A float input compared with a constant: only integer and bool inputs are set.
    ModelBuilder b;
    ir::Value* t = b.Input("t", DataType::kFloat, {});
    IfBranchCoverage c = DeriveOne(b, b.Op("Greater", {t, b.Floats("k", {}, {0.5f})}));
    EXPECT_FALSE(c.both_branches);
    EXPECT_NE(c.reason.find("'t'"), std::string::npos) << c.reason;
    EXPECT_NE(c.reason.find("float"), std::string::npos) << c.reason;
  }
  {
    // Two inputs compared with each other.
    ModelBuilder b;
    ir::Value* p = b.Input("p", DataType::kInt64, {});
    ir::Value* q = b.Input("q", DataType::kInt64, {});
    IfBranchCoverage c = DeriveOne(b, b.Op("Equal", {p, q}));
    EXPECT_FALSE(c.both_branches);
    EXPECT_NE(c.reason.find("constant"), std::string::npos) << c.reason;
  }
}

TEST(IfBranchValues, AnIfInsideABranchReadsTheOuterInput) {
  // The outer If's then branch holds an If on Equal(mode, 2), mode captured from the top graph.
  ModelBuilder b;
  ir::Value* mode = b.Input("mode", DataType::kInt64, {});
  ir::Value* x = b.Input("x", DataType::kFloat, {2});
  ir::Value* outer_cond = b.Op("Greater", {mode, ScalarInt(b, "k0", 0)});
  ir::Value* y = AddIf(b, outer_cond, x, "Mul", 2, "Add", 1);
  b.Output(y);
  ir::Node* outer = y->producer();
  ir::Graph* then_graph = outer->Subgraphs()[0];
  ir::Value* inner_mode = then_graph->OuterRef("mode");
  ir::Value* k =
      then_graph->NewInitializer("k1", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {2}));
  ir::Node* eq = then_graph->AddNode("Equal", {inner_mode, k}, 1);
  ir::Node* inner = then_graph->AddNode("If", {eq->output(0)}, 1, "inner");
  outer->AddImplicitInput(mode);
  auto ifs = DeriveIfBranchValues(b.graph());
  ASSERT_EQ(ifs.size(), 2u);
  EXPECT_EQ(ifs[1].node, inner->name());
  ASSERT_TRUE(ifs[1].both_branches) << ifs[1].reason;
  EXPECT_EQ(ifs[1].input, "mode");
  EXPECT_EQ(ifs[1].then_value, 2);
  EXPECT_EQ(ifs[1].else_value, 3);
}

TEST(SampleIntAssignments, EveryBranchOfEveryIfIsInSomeRun) {
  std::vector<IfBranchCoverage> ifs = {
      {"a", "sr", 16000, 16001, true, ""},
      {"b", "sr", 8000, 8001, true, ""},
      {"c", "flag", 1, 0, true, ""},
      {"d", "", 0, 0, false, "the condition is computed by ReduceSum"},
  };
  auto runs = SampleIntAssignments(&ifs, {});
  ASSERT_EQ(runs.size(), 4u);  // sr needs 4 values, flag 2
  const std::vector<int64_t> sr = {16000, 16001, 8000, 8001};
  const std::vector<int64_t> flag = {1, 0, 1, 1};
  for (size_t k = 0; k < runs.size(); ++k) {
    EXPECT_EQ(runs[k].at("sr"), sr[k]);
    EXPECT_EQ(runs[k].at("flag"), flag[k]);
    EXPECT_EQ(runs[k].size(), 2u);
  }
  EXPECT_TRUE(ifs[0].both_branches);
  EXPECT_FALSE(ifs[3].both_branches);
}

TEST(SampleIntAssignments, AnOverrideHoldsEverywhereAndPinsItsIfsToOneBranch) {
  std::vector<IfBranchCoverage> ifs = {{"a", "sr", 16000, 16001, true, ""},
                                       {"c", "flag", 1, 0, true, ""}};
  auto runs = SampleIntAssignments(&ifs, {{"sr", 8000}});
  ASSERT_EQ(runs.size(), 2u);
  for (const auto& r : runs) EXPECT_EQ(r.at("sr"), 8000);
  EXPECT_EQ(runs[0].at("flag"), 1);
  EXPECT_EQ(runs[1].at("flag"), 0);
  EXPECT_FALSE(ifs[0].both_branches);
  EXPECT_NE(ifs[0].reason.find("--verify-int"), std::string::npos) << ifs[0].reason;
  EXPECT_TRUE(ifs[1].both_branches);
}

TEST(SampleIntAssignments, NoIfMeansOneRunWithRandomInputs) {
  std::vector<IfBranchCoverage> ifs;
  auto runs = SampleIntAssignments(&ifs, {});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs[0].empty());
}

TEST(CheckVerifyInts, NamesAnIntegerInputWhoseTypeHoldsTheValue) {
  ModelBuilder b;
  b.Input("level", DataType::kUint8, {});
  b.Input("on", DataType::kBool, {});
  b.Input("x", DataType::kFloat, {2});
  auto model = b.Build();
  EXPECT_TRUE(CheckVerifyInts(*model, {{"level", 255}, {"on", 1}}).ok());
  for (const auto& [ints, words] : std::vector<std::pair<IntAssignment, std::string>>{
           {{{"level", 256}}, "out of range for its type uint8"},
           {{{"on", 2}}, "out of range for its type bool"},
           {{{"x", 1}}, "its integer inputs: level, on"},
           {{{"rate", 1}}, "--verify-int rate"}}) {
    Status s = CheckVerifyInts(*model, ints);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find(words), std::string::npos) << s.message();
  }
}

}  // namespace
}  // namespace graphopt
