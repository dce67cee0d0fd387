// Golden tests of fuse_conv_mul_add: per-channel constant Mul/Add after a Conv fold into its
// weights and bias; other broadcast shapes and shared intermediates are refused.
#include <gtest/gtest.h>

#include <limits>

#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountOp;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

constexpr const char* kPass = "fuse_conv_mul_add";
constexpr int64_t kChannels = 4;

// x[1,3,6,6] -> Conv(W[4,3,3,3], bias?) -> [1,4,4,4] -> op(conv, constant of `shape`) -> Neg
struct ConvThen {
  ModelBuilder b{13};
  ir::Value* conv = nullptr;
  ir::Value* out = nullptr;
};

ConvThen MakeConvThen(const char* op, const Shape& shape, bool bias, bool conv_first = true) {
  ConvThen m;
  auto* x = m.b.Input("x", DataType::kFloat, {1, 3, 6, 6});
  std::vector<ir::Value*> in{x, RandomInit(m.b, "w", {kChannels, 3, 3, 3}, 5)};
  if (bias) in.push_back(RandomInit(m.b, "b", {kChannels}, 6));
  m.conv = m.b.Op("Conv", in);
  auto* c = RandomInit(m.b, "c", shape, 9);
  m.out = m.b.Op(
      op, conv_first ? std::vector<ir::Value*>{m.conv, c} : std::vector<ir::Value*>{c, m.conv});
  return m;
}

struct ShapeCase {
  const char* name;
  const char* op;
  Shape shape;
  bool bias;
  bool conv_first;
  bool folds;
};

class FuseConvMulAddTest : public ::testing::TestWithParam<ShapeCase> {};

TEST_P(FuseConvMulAddTest, FoldsOnlyPerChannelConstants) {
  const ShapeCase& c = GetParam();
  ConvThen m = MakeConvThen(c.op, c.shape, c.bias, c.conv_first);
  m.b.Output(m.b.Op("Neg", {m.out}));
  auto model = m.b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  if (c.folds) {
    EXPECT_EQ(run.applied, 1);
    EXPECT_EQ(CountOp(*model, c.op), 0);
    EXPECT_EQ(CountOp(*model, "Conv"), 1);
    EXPECT_EQ(run.record.rule_counts.at(std::string("conv_") + (c.op[0] == 'M' ? "mul" : "add")),
              1);
  } else {
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, FuseConvMulAddTest,
    ::testing::Values(ShapeCase{"mul_c11", "Mul", {kChannels, 1, 1}, true, true, true},
                      ShapeCase{"mul_1c11_no_bias", "Mul", {1, kChannels, 1, 1}, false, true, true},
                      ShapeCase{"mul_scalar", "Mul", {}, true, true, true},
                      ShapeCase{"mul_one", "Mul", {1}, true, false, true},
                      ShapeCase{"add_c11_conv_second", "Add", {kChannels, 1, 1}, true, false, true},
                      ShapeCase{"add_1c11_no_bias", "Add", {1, kChannels, 1, 1}, false, true, true},
                      ShapeCase{"add_scalar", "Add", {}, false, true, true},
                      // [C] aligns with the last (width) axis, not the channels.
                      ShapeCase{"mul_c_is_width", "Mul", {kChannels}, true, true, false},
                      ShapeCase{"mul_varies_along_width", "Mul", {1, 1, 4}, true, true, false},
                      ShapeCase{"add_full", "Add", {kChannels, 4, 4}, true, true, false},
                      // A leading extra axis would grow the result's rank.
                      ShapeCase{
                          "mul_grows_rank", "Mul", {1, 1, kChannels, 1, 1}, true, true, false},
                      ShapeCase{"add_grows_batch", "Add", {2, kChannels, 1, 1}, true, true, false}),
    [](const ::testing::TestParamInfo<ShapeCase>& info) { return std::string(info.param.name); });

TEST(FuseConvMulAdd, FoldsMulThenAddChain) {
  ConvThen m = MakeConvThen("Mul", {kChannels, 1, 1}, true);
  auto* shift = RandomInit(m.b, "shift", {1, kChannels, 1, 1}, 11);
  m.b.Output(m.b.Op("Add", {m.out, shift}));
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 2);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

void ExpectUnchanged(std::unique_ptr<ir::Model> model) {
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

TEST(FuseConvMulAdd, RefusesWhenConvOutputHasAnotherReader) {
  ConvThen m = MakeConvThen("Mul", {kChannels, 1, 1}, true);
  m.b.Output(m.out);
  m.b.Output(m.b.Op("Relu", {m.conv}));
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvMulAdd, RefusesNonConstantOperand) {
  ConvThen m = MakeConvThen("Add", {kChannels, 1, 1}, true);
  m.out->producer()->SetInput(1, m.b.Input("shift", DataType::kFloat, {kChannels, 1, 1}));
  m.b.Output(m.out);
  ExpectUnchanged(m.b.Build());
}

TEST(FuseConvMulAdd, RefusesInfiniteScale) {
  ConvThen m = MakeConvThen("Mul", {kChannels, 1, 1}, true);
  const float inf = std::numeric_limits<float>::infinity();
  m.out->producer()->SetInput(1, m.b.Floats("inf", {kChannels, 1, 1}, {1, inf, 1, 1}));
  m.b.Output(m.out);
  ExpectUnchanged(m.b.Build());
}

}  // namespace
}  // namespace graphopt
