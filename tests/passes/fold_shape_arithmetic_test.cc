// Golden tests of fold_shape_arithmetic: Shape arithmetic on static dims becomes constants,
// Reshape targets computed from symbolic dims become constant targets with 0 and -1, and the
// result still runs (with equal outputs) at other batch and sequence sizes: nothing is frozen.
#include <gtest/gtest.h>

#include "optimizer/pass/rewrite_util.h"
#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountOp;
using testing::ModelBuilder;
using testing::RunSinglePass;

const ir::Dim kBatch{-1, "batch"}, kSeq{-1, "seq"};

ir::Value* Int(ModelBuilder& b, int64_t v) {
  return b.graph().NewInitializer("int", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {v}));
}
ir::Value* Dim(ModelBuilder& b, ir::Value* shape, int64_t i) {
  return b.Op("Unsqueeze", {b.Op("Gather", {shape, Int(b, i)}),
                            b.graph().NewInitializer("axes", Tensor::Int64s({0}))});
}

// x (batch, seq, 8) reshaped to (batch, seq, 2, hidden / 2) with every entry computed from
// Shape(x), hidden being Gather(Shape(x), 2) of the static 8.
std::unique_ptr<ir::Model> MakeComputedReshape() {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, ir::Dim{8, ""}});
  auto* shape = b.Op("Shape", {x});
  auto* half = b.Op("Div", {b.Op("Gather", {shape, Int(b, 2)}), Int(b, 2)});
  auto* half_vec = b.Op("Unsqueeze", {half, b.graph().NewInitializer("axes", Tensor::Int64s({0}))});
  auto* target = b.Op("Concat", {Dim(b, shape, 0), Dim(b, shape, 1),
                                 b.graph().NewInitializer("two", Tensor::Int64s({2})), half_vec});
  b.LastNode()->SetInt("axis", 0);
  b.Output(b.Op("Relu", {b.Op("Reshape", {x, target})}));
  return b.Build();
}

TEST(FoldShapeArithmetic, ComputedReshapeTargetBecomesConstant) {
  auto model = MakeComputedReshape();
  auto run = RunSinglePass(*model, "fold_shape_arithmetic");
  EXPECT_GE(run.record.rule_counts["reshape_target_from_symbols"], 1);
  // The dead Shape arithmetic goes with eliminate_dead_code; here the Reshape no longer reads it.
  const ir::Node* reshape = nullptr;
  for (const ir::Node* n : model->graph->nodes()) {
    if (n->Is("Reshape")) reshape = n;
  }
  ASSERT_NE(reshape, nullptr);
  EXPECT_EQ(ConstantInts(reshape->input(1)), (std::vector<int64_t>{0, 0, 2, 4}));
  EXPECT_EQ(CountOp(*model, "Shape"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}, {"seq", 3}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 1}, {"seq", 7}}), "");
}

// A static dim read through Shape becomes a constant; the symbolic ones stay computed.
TEST(FoldShapeArithmetic, StaticDimFoldsSymbolicDimStays) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, ir::Dim{8, ""}});
  auto* shape = b.Op("Shape", {x});
  auto* hidden = b.Op("Gather", {shape, Int(b, 2)});
  auto* batch = b.Op("Gather", {shape, Int(b, 0)});
  auto* cast = b.Op("Cast", {b.Op("Mul", {hidden, batch})});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  b.Output(b.Op("Add", {x, cast}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_shape_arithmetic");
  EXPECT_EQ(run.record.rule_counts["static_dims_to_constant"], 1);
  EXPECT_EQ(CountOp(*model, "Shape"), 1);  // batch is still read at run time
  EXPECT_EQ(CountOp(*model, "Gather"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}, {"seq", 3}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 5}, {"seq", 1}}), "");
}

// Two symbolic entries that are not the input's own dims at their positions cannot both be -1.
TEST(FoldShapeArithmetic, AmbiguousTargetStaysComputed) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, ir::Dim{8, ""}});
  auto* shape = b.Op("Shape", {x});
  auto* target = b.Op("Concat", {Dim(b, shape, 1), Dim(b, shape, 0),
                                 b.graph().NewInitializer("eight", Tensor::Int64s({8}))});
  b.LastNode()->SetInt("axis", 0);
  b.Output(b.Op("Reshape", {x, target}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_shape_arithmetic");
  EXPECT_EQ(run.record.rule_counts["reshape_target_from_symbols"], 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}, {"seq", 3}}), "");
}

}  // namespace
}  // namespace graphopt
