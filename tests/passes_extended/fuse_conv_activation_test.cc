// Golden tests of fuse_conv_activation: Conv + activation and Conv + Add (+ Relu) become one
// FusedConv with equal outputs; shared Conv outputs, non-constant bounds, broadcasting summands
// and targets without FusedConv leave the graph alone.
#include <gtest/gtest.h>

#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountFused;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunFusion;

constexpr const char* kPass = "fuse_conv_activation";

ir::Value* AddConv(ModelBuilder& b, ir::Value* x, uint64_t seed) {
  auto* w = RandomInit(b, "w", {4, 3, 3, 3}, seed);
  auto* bias = RandomInit(b, "b", {4}, seed + 1);
  auto* y = b.Op("Conv", {x, w, bias});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  return y;
}

struct ActivationCase {
  const char* op;
  int64_t params;  // activation_params expected on the FusedConv
};

class ConvActivation : public ::testing::TestWithParam<ActivationCase> {};

TEST_P(ConvActivation, FusesIntoFusedConv) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* conv = AddConv(b, x, 3);
  const std::string op = GetParam().op;
  ir::Value* y;
  if (op == "Clip") {
    y = b.Op("Clip", {conv, testing::Scalar(b, "lo", -0.2f), testing::Scalar(b, "hi", 0.3f)});
  } else {
    y = b.Op(op, {conv});
    if (op == "LeakyRelu") b.LastNode()->SetFloat("alpha", 0.3f);
    if (op == "HardSigmoid") b.LastNode()->SetFloat("alpha", 0.4f);
  }
  b.Output(y);
  auto model = b.Build();
  auto run = RunFusion(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(run.record.rule_counts["conv_activation"], 1);
  EXPECT_EQ(run.record.matched_nodes.size(), 2u);
  EXPECT_EQ(CountFused(*model, "com.microsoft.FusedConv"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  const ir::Node* fused = model->graph->outputs()[0]->producer();
  EXPECT_EQ(fused->GetString("activation", ""), op);
  EXPECT_EQ(static_cast<int64_t>(fused->GetFloats("activation_params").size()), GetParam().params);
  EXPECT_EQ(fused->GetInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

INSTANTIATE_TEST_SUITE_P(Activations, ConvActivation,
                         ::testing::Values(ActivationCase{"Relu", 0}, ActivationCase{"Sigmoid", 0},
                                           ActivationCase{"Tanh", 0},
                                           ActivationCase{"LeakyRelu", 1},
                                           ActivationCase{"HardSigmoid", 2},
                                           ActivationCase{"Clip", 2}),
                         [](const auto& info) { return std::string(info.param.op); });

// Conv + Add(residual of the same shape) + Relu -> one FusedConv with Z and Relu.
TEST(FuseConvActivation, ConvAddRelu) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* r = b.Input("r", DataType::kFloat, {1, 4, 5, 5});
  auto* conv = AddConv(b, x, 5);
  b.Output(b.Op("Relu", {b.Op("Add", {r, conv})}));
  auto model = b.Build();
  auto run = RunFusion(*model, kPass);
  EXPECT_EQ(run.applied, 2);
  EXPECT_EQ(run.record.rule_counts["conv_add"], 1);
  EXPECT_EQ(run.record.rule_counts["conv_activation"], 1);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  const ir::Node* fused = model->graph->outputs()[0]->producer();
  EXPECT_EQ(fused->op_type(), "FusedConv");
  EXPECT_EQ(fused->inputs().size(), 4u);
  EXPECT_EQ(fused->input(3), r);
  EXPECT_EQ(fused->GetString("activation", ""), "Relu");
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// The activation's output is a graph output: the FusedConv's output takes over its name.
TEST(FuseConvActivation, KeepsGraphOutputName) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* y = b.Op("Relu", {AddConv(b, x, 3)});
  b.graph().RenameValue(y, "y");
  b.Output(y);
  auto model = b.Build();
  auto run = RunFusion(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  ASSERT_EQ(model->graph->outputs().size(), 1u);
  EXPECT_EQ(model->graph->outputs()[0]->name(), "y");
  EXPECT_EQ(model->graph->outputs()[0]->producer()->op_type(), "FusedConv");
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// The Conv's output also feeds a graph output: fusing would lose the pre-activation value.
TEST(FuseConvActivation, SharedConvOutputDoesNotFuse) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* conv = AddConv(b, x, 3);
  b.Output(b.Op("Relu", {conv}));
  b.Output(b.Op("Sigmoid", {conv}));
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunFusion(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// A Clip bound computed at run time cannot become an attribute; a summand that broadcasts
// (per-channel bias shape) is no Z.
TEST(FuseConvActivation, NonConstantClipAndBroadcastAddDoNotFuse) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* hi = b.Input("hi", DataType::kFloat, {});
  auto* c1 = AddConv(b, x, 3);
  b.Output(b.Op("Clip", {c1, testing::Scalar(b, "lo", 0.0f), hi}));
  auto* c2 = AddConv(b, x, 7);
  b.Output(b.Op("Add", {c2, RandomInit(b, "chan", {4, 1, 1}, 9)}));
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunFusion(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// cuda's FusedConv takes Relu only; generic has no FusedConv at all.
TEST(FuseConvActivation, TargetDecidesTheActivations) {
  for (const char* target : {"cuda", "generic"}) {
    ModelBuilder b(14);
    auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
    b.Output(b.Op("Sigmoid", {AddConv(b, x, 3)}));
    auto model = b.Build();
    auto run = RunFusion(*model, kPass, target);
    EXPECT_EQ(run.applied, 0) << target;
    EXPECT_EQ(CountFused(*model, "com.microsoft.FusedConv"), 0) << target;
  }
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  b.Output(b.Op("Relu", {AddConv(b, x, 3)}));
  auto model = b.Build();
  auto run = RunFusion(*model, kPass, "cuda");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

}  // namespace
}  // namespace graphopt
