// Golden tests of fuse_conv_batchnorm: folds where it may (op counts and equal outputs on the
// reference executor), leaves the graph alone where a precondition fails.
#include <gtest/gtest.h>

#include "optimizer/evaluator.h"
#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::AddBatchNorm;
using testing::CompareOutputs;
using testing::CountOp;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

constexpr const char* kPass = "fuse_conv_batchnorm";

// x[1,4,6,6] -> Conv(W[out, 4/group, 3, 3], bias?) -> BN -> Relu
struct ConvBn {
  ModelBuilder b{15};
  ir::Value* x = nullptr;
  ir::Value* conv = nullptr;
  ir::Value* bn = nullptr;
};

ConvBn MakeConvBn(int64_t out, int64_t group, bool bias, DataType type = DataType::kFloat,
                  float epsilon = 1e-5f) {
  ConvBn m;
  m.x = m.b.Input("x", type, {1, 4, 6, 6});
  auto* w = RandomInit(m.b, "w", {out, 4 / group, 3, 3}, 7, type);
  std::vector<ir::Value*> in{m.x, w};
  if (bias) in.push_back(RandomInit(m.b, "b", {out}, 8, type));
  m.conv = m.b.Op("Conv", in);
  m.b.LastNode()->SetInt("group", group);
  m.b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  m.bn = AddBatchNorm(m.b, m.conv, out, 20, type, epsilon);
  return m;
}

TEST(FuseConvBatchNorm, FoldsIntoConvWithBias) {
  ConvBn m = MakeConvBn(6, 1, true);
  m.b.Output(m.b.Op("Relu", {m.bn}));
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(run.record.rule_counts.at("conv_batchnorm"), 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(CountOp(*model, "Conv"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// Grouped (depthwise) Conv without bias, a large epsilon (ignoring it would show), and the
// BN's output a graph output whose name must survive.
TEST(FuseConvBatchNorm, FoldsGroupedConvWithoutBiasAndKeepsOutputName) {
  ConvBn m = MakeConvBn(8, 4, false, DataType::kFloat, 0.5f);
  m.b.graph().RenameValue(m.bn, "y");
  m.b.Output(m.bn);
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  ASSERT_EQ(model->graph->outputs().size(), 1u);
  EXPECT_EQ(model->graph->outputs()[0]->name(), "y");
  EXPECT_EQ(model->graph->outputs()[0]->producer()->op_type(), "Conv");
  EXPECT_EQ(model->graph->outputs()[0]->producer()->inputs().size(), 3u);  // a bias appeared
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseConvBatchNorm, FoldsDoubleWeights) {
  ConvBn m = MakeConvBn(3, 1, true, DataType::kDouble);
  m.b.Output(m.bn);
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  const ir::Node* conv = model->graph->outputs()[0]->producer();
  EXPECT_EQ(conv->input(1)->initializer()->dtype(), DataType::kDouble);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// float16: the folded weights are stored as float16; both models round at different places,
// so compare with a half-precision tolerance.
TEST(FuseConvBatchNorm, FoldsHalfWeights) {
  ConvBn m = MakeConvBn(4, 2, true, DataType::kFloat16);
  m.b.Output(m.bn);
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  const ir::Node* conv = model->graph->outputs()[0]->producer();
  EXPECT_EQ(conv->input(1)->initializer()->dtype(), DataType::kFloat16);
  EXPECT_EQ(conv->input(2)->initializer()->dtype(), DataType::kFloat16);
  auto evaluator = MakeReferenceEvaluator();
  VerifyOptions options;
  options.atol = 2e-2;
  options.rtol = 2e-2;
  auto result = evaluator->Verify(*run.original, *model, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->passed) << result->message;
}

// A weight shared with a second Conv: the fused Conv gets its own copy, the other keeps W.
TEST(FuseConvBatchNorm, SharedWeightStaysIntactForTheOtherConv) {
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 5, 5});
  auto* w = RandomInit(b, "w", {3, 3, 3, 3}, 3);
  auto* c1 = b.Op("Conv", {x, w});
  auto* bn = testing::AddBatchNorm(b, c1, 3, 4);
  auto* c2 = b.Op("Conv", {x, w});
  ir::Node* other = b.LastNode();
  b.Output(bn);
  b.Output(c2);
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(other->input(1), w);
  EXPECT_NE(model->graph->outputs()[0]->producer()->input(1), w);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// Each near miss: the graph must come out exactly as it went in.
void ExpectUnchanged(std::unique_ptr<ir::Model> model) {
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

TEST(FuseConvBatchNorm, RefusesWhenConvOutputHasAnotherReader) {
  ConvBn m = MakeConvBn(4, 1, true);
  m.b.Output(m.bn);
  m.b.Output(m.b.Op("Relu", {m.conv}));
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvBatchNorm, RefusesWhenConvOutputIsAGraphOutput) {
  ConvBn m = MakeConvBn(4, 1, true);
  m.b.Output(m.bn);
  m.b.Output(m.conv);
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvBatchNorm, RefusesNonConstantBatchNormParameter) {
  ConvBn m = MakeConvBn(4, 1, true);
  ir::Node* bn = m.bn->producer();
  bn->SetInput(3, m.b.Input("mean", DataType::kFloat, {4}));
  m.b.Output(m.bn);
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvBatchNorm, RefusesNonConstantWeight) {
  ConvBn m = MakeConvBn(4, 1, false);
  m.conv->producer()->SetInput(1, m.b.Input("w_in", DataType::kFloat, {4, 4, 3, 3}));
  m.b.Output(m.bn);
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvBatchNorm, RefusesTrainingMode) {
  ConvBn m = MakeConvBn(4, 1, true);
  m.bn->producer()->SetInt("training_mode", 1);
  m.b.Output(m.bn);
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvBatchNorm, RefusesBatchNormNotAfterConv) {
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 4, 4});
  b.Output(AddBatchNorm(b, b.Op("Relu", {x}), 3, 1));
  ExpectUnchanged(b.Build());
}

}  // namespace
}  // namespace graphopt
