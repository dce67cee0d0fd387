// Golden tests of decompose_batchnorm: an inference BN no Conv/Gemm absorbs becomes Mul + Add
// with constants shaped [C,1,..]; non-constant or training BNs and foldable ones stay.
#include <gtest/gtest.h>

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

constexpr const char* kPass = "decompose_batchnorm";

class DecomposeBatchNormTest : public ::testing::TestWithParam<Shape> {};

TEST_P(DecomposeBatchNormTest, BecomesMulAddWithPerChannelConstants) {
  const Shape shape = GetParam();
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, shape);
  auto* y = AddBatchNorm(b, b.Op("Relu", {x}), shape[1], 3, DataType::kFloat, 0.2f);
  b.graph().RenameValue(y, "y");
  b.Output(y);
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(run.record.rule_counts.at("batchnorm_to_mul_add"), 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(CountOp(*model, "Mul"), 1);
  EXPECT_EQ(CountOp(*model, "Add"), 1);
  EXPECT_EQ(model->graph->outputs()[0]->name(), "y");
  // The scale constant is [C, 1, ...]: rank one less than the input.
  const ir::Node* add = model->graph->outputs()[0]->producer();
  const ir::Node* mul = add->input(0)->producer();
  ASSERT_NE(mul, nullptr);
  ASSERT_TRUE(mul->input(1)->has_initializer());
  Shape expected(shape.size() - 1, 1);
  expected[0] = shape[1];
  EXPECT_EQ(mul->input(1)->initializer()->shape(), expected);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

INSTANTIATE_TEST_SUITE_P(Ranks, DecomposeBatchNormTest,
                         ::testing::Values(Shape{2, 3}, Shape{2, 3, 5}, Shape{1, 4, 3, 3},
                                           Shape{1, 2, 2, 3, 2}));

void ExpectUnchanged(std::unique_ptr<ir::Model> model) {
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

TEST(DecomposeBatchNorm, RefusesNonConstantScale) {
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 2, 2});
  auto* y = AddBatchNorm(b, x, 3, 1);
  y->producer()->SetInput(1, b.Input("scale", DataType::kFloat, {3}));
  b.Output(y);
  ExpectUnchanged(b.Build());
}

TEST(DecomposeBatchNorm, LeavesBatchNormAfterFoldableConvToTheFusion) {
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 4, 4});
  auto* conv = b.Op("Conv", {x, RandomInit(b, "w", {3, 3, 1, 1}, 2)});
  b.Output(AddBatchNorm(b, conv, 3, 1));
  ExpectUnchanged(b.Build());
}

// Training mode with its running statistics read: those need values of their own.
TEST(DecomposeBatchNorm, RefusesTrainingModeWithRunningStatistics) {
  ModelBuilder b(15);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 2, 2});
  std::vector<ir::Value*> in{x, RandomInit(b, "scale", {3}, 1), RandomInit(b, "bias", {3}, 2),
                             RandomInit(b, "mean", {3}, 3), RandomInit(b, "var", {3}, 4)};
  ir::Node* bn = b.graph().AddNode("BatchNormalization", in, 3, "bn");
  bn->SetInt("training_mode", 1);
  b.Output(bn->output(0));
  b.Output(bn->output(1));
  b.Output(bn->output(2));
  ExpectUnchanged(b.Build());
}

}  // namespace
}  // namespace graphopt
