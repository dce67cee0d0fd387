// Golden tests of fuse_convtranspose_batchnorm: folds where it may (op counts and equal outputs
// on the reference executor), leaves the graph alone where a precondition fails.
#include <gtest/gtest.h>

#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::AddBatchNorm;
using testing::CompareOutputs;
using testing::CountOp;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

constexpr const char* kPass = "fuse_convtranspose_batchnorm";

// x[1,4,5,5] -> ConvTranspose(W[4, out/group, 2, 2], stride 2, bias?) -> BN -> Relu
struct DeconvBn {
  ModelBuilder b{15};
  ir::Value* deconv = nullptr;
  ir::Value* bn = nullptr;
};

DeconvBn MakeDeconvBn(int64_t out, int64_t group, bool bias) {
  DeconvBn m;
  ir::Value* x = m.b.Input("x", DataType::kFloat, {1, 4, 5, 5});
  std::vector<ir::Value*> in{x, RandomInit(m.b, "w", {4, out / group, 2, 2}, 3)};
  if (bias) in.push_back(RandomInit(m.b, "b", {out}, 4));
  m.deconv = m.b.Op("ConvTranspose", in);
  m.b.LastNode()->SetInt("group", group);
  m.b.LastNode()->SetInts("strides", {2, 2});
  m.bn = AddBatchNorm(m.b, m.deconv, out, 30);
  return m;
}

TEST(FuseConvTransposeBatchNorm, FoldsIntoWeightsAndANewBias) {
  DeconvBn m = MakeDeconvBn(6, 1, false);
  m.b.Output(m.b.Op("Relu", {m.bn}));
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(run.record.rule_counts.at("convtranspose_batchnorm"), 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(CountOp(*model, "ConvTranspose"), 1);
  EXPECT_EQ(model->graph->nodes().size(), 2u);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// Two groups: output channel g * 3 + j is slice j of the rows of group g, not one block.
TEST(FuseConvTransposeBatchNorm, FoldsGroupedWithBias) {
  DeconvBn m = MakeDeconvBn(6, 2, true);
  m.b.Output(m.bn);
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// Where the ConvTranspose's output has another reader, or its weight is not a constant, the
// BN stays; decompose_batchnorm may still take it.
TEST(FuseConvTransposeBatchNorm, LeavesSharedOutputsAndVariableWeights) {
  DeconvBn m = MakeDeconvBn(4, 1, true);
  m.b.Output(m.bn);
  m.b.Output(m.b.Op("Relu", {m.deconv}));
  ir::Value* x2 = m.b.Input("x2", DataType::kFloat, {1, 4, 3, 3});
  ir::Value* w2 = m.b.Input("w2", DataType::kFloat, {4, 4, 2, 2});
  m.b.Output(AddBatchNorm(m.b, m.b.Op("ConvTranspose", {x2, w2}), 4, 40));
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 2);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

}  // namespace
}  // namespace graphopt
