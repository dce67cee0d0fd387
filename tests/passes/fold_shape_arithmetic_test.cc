// Golden tests of fold_shape_arithmetic: Shape arithmetic on static dims becomes constants,
// Reshape targets computed from symbolic dims become constant targets with 0 and -1, and the
// result still runs (with equal outputs) at other batch and sequence sizes: nothing is frozen.
#include <gtest/gtest.h>

#include "optimizer/optimize_model.h"
#include "optimizer/pass/rewrite_util.h"
#include "passes/pass_test_util.h"
#include "support/test_support.h"
#include "support/torch_export_chains.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountOp;
using testing::ExportedConcat;
using testing::ExportedDim;
using testing::ExportedInt;
using testing::ExportedInts;
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

// torchvision Swin's window partition of an NHWC x (batch, 9, 10, 4) with window 7: F.pad to
// (batch, 14, 14, 4) with pads built from Shape(x), the view (B, 2, 7, 2, 7, C) and the merge
// (B*nW, 49, C) built from Shape(padded), then q * (C // heads) ** -0.5 with C from the
// windows' Shape. Every shape here is static but the batch.
std::unique_ptr<ir::Model> MakeSwinWindows() {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat,
                            {kBatch, ir::Dim{9, ""}, ir::Dim{10, ""}, ir::Dim{4, ""}});
  auto* padded = b.Op("Pad", {x, testing::TorchSwinPads(b, x, 7)});
  auto windows_along = [&](int64_t axis) {
    return b.Op("Div", {b.Op("Gather", {b.Op("Shape", {padded}), ExportedInt(b, axis)}),
                        ExportedInt(b, 7)});
  };
  auto* along_h = windows_along(1);
  auto* along_w = windows_along(2);
  auto unsqueeze = [&](ir::Value* v) { return b.Op("Unsqueeze", {v, ExportedInts(b, {0})}); };
  auto* view = b.Op("Reshape",
                    {padded, ExportedConcat(b, {ExportedDim(b, padded, 0), unsqueeze(along_h),
                                                ExportedInts(b, {7}), unsqueeze(along_w),
                                                ExportedInts(b, {7}), ExportedDim(b, padded, 3)})});
  auto* grouped = b.Op("Transpose", {view});
  b.LastNode()->SetInts("perm", {0, 1, 3, 2, 4, 5});
  auto* batch_windows = b.Op("Mul", {b.Op("Gather", {b.Op("Shape", {padded}), ExportedInt(b, 0)}),
                                     b.Op("Mul", {along_h, along_w})});
  auto* windows =
      b.Op("Reshape", {grouped, ExportedConcat(b, {unsqueeze(batch_windows), ExportedInts(b, {49}),
                                                   ExportedDim(b, padded, 3)})});
  b.Output(b.Op("Mul", {windows, testing::TorchHeadScale(b, windows, 2, 2)}));
  return b.Build();
}

// One run of the pass alone makes the pads and both window reshapes constant: the pads table
// is followed through its Reshape, reversed Slice and Transpose, so Pad's output shape is known
// in the same propagation (before, each Swin block waited a round for fold_constants, and the
// deep stages ran out of rounds). C // heads folds too; what is left of the scale (Div of
// constants, Cast, Pow) is fold_constants' work.
TEST(FoldShapeArithmetic, SwinWindowPartitionFoldsInOneRun) {
  auto model = MakeSwinWindows();
  auto run = RunSinglePass(*model, "fold_shape_arithmetic");
  std::vector<const ir::Node*> reshapes;
  const ir::Node* pad = nullptr;
  for (const ir::Node* n : model->graph->nodes()) {
    if (n->Is("Reshape")) reshapes.push_back(n);
    if (n->Is("Pad")) pad = n;
  }
  ASSERT_NE(pad, nullptr);
  ASSERT_EQ(reshapes.size(), 2u);
  EXPECT_EQ(ConstantInts(pad->input(1)), (std::vector<int64_t>{0, 0, 0, 0, 0, 5, 4, 0}));
  EXPECT_EQ(ConstantInts(reshapes[0]->input(1)), (std::vector<int64_t>{0, 2, 7, 2, 7, 4}));
  EXPECT_EQ(ConstantInts(reshapes[1]->input(1)), (std::vector<int64_t>{-1, 49, 4}));
  EXPECT_EQ(CountOp(*model, "Shape"), 0);
  EXPECT_EQ(CountOp(*model, "Gather"), 0);
  EXPECT_EQ(CountOp(*model, "Slice"), 0);
  EXPECT_EQ(CountOp(*model, "ConstantOfShape"), 0);
  // The scale's Div, Cast and Pow now read only constants.
  RunSinglePass(*model, "fold_constants");
  EXPECT_EQ(model->graph->num_nodes(), 5u);  // Pad, Reshape, Transpose, Reshape, Mul
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 3}}), "");
}

// Expand targets written as Where(Equal(shape, -1), 1, shape): over static dims the target
// folds to a constant; over the symbolic batch it stays computed (never frozen), and the
// Expand's output shape (batch, 4) is still known.
TEST(FoldShapeArithmetic, WhereEqualExpandTargetFoldsOnlyWhenStatic) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, ir::Dim{4, ""}});
  auto target_of = [&](ir::Value* shape, const std::vector<int64_t>& minus,
                       const std::vector<int64_t>& ones) {
    return b.Op("Where",
                {b.Op("Equal", {shape, ExportedInts(b, minus)}), ExportedInts(b, ones), shape});
  };
  auto* last_dim = b.Op("Slice", {b.Op("Shape", {x}), ExportedInts(b, {1}), ExportedInts(b, {2})});
  auto* static_target = target_of(last_dim, {-1}, {1});
  auto* batch_target = target_of(b.Op("Shape", {x}), {-1, -1}, {1, 1});
  auto* row = b.Op("Expand", {b.Floats("row", {4}, {1, 2, 3, 4}), static_target});
  auto* column = b.Op("Expand", {b.Floats("column", {1, 1}, {0.5f}), batch_target});
  auto* column_node = b.LastNode();
  b.Output(b.Op("Mul", {b.Op("Add", {x, row}), column}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_shape_arithmetic");
  EXPECT_GE(run.record.rule_counts["static_dims_to_constant"], 1);
  EXPECT_EQ(CountOp(*model, "Where"), 1);
  EXPECT_EQ(CountOp(*model, "Equal"), 1);
  EXPECT_EQ(CountOp(*model, "Shape"), 1);
  EXPECT_EQ(CountOp(*model, "Slice"), 0);
  const ir::Value* column_out = column_node->output(0);
  ASSERT_TRUE(column_out->type().shape);
  ASSERT_EQ(column_out->type().shape->size(), 2u);
  EXPECT_EQ((*column_out->type().shape)[0].param, "batch");
  EXPECT_EQ((*column_out->type().shape)[1].value, 4);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 5}}), "");
}

// Twelve blocks in a row, each F.pad to whole windows and the unpad x[:, :H, :W] with H and W
// read from its input's Shape, as Swin's stages chain them. The basic level folds every block's
// shape arithmetic in its first round; before, each block's Pad shape became known one round
// after the previous one, and blocks past the pass manager's 8 rounds stayed computed.
TEST(FoldShapeArithmetic, ChainedWindowPadsFoldInTheFirstRound) {
  constexpr int kBlocks = 12;
  ModelBuilder b(14);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat,
                                 {kBatch, ir::Dim{5, ""}, ir::Dim{3, ""}, ir::Dim{4, ""}});
  for (int i = 0; i < kBlocks; ++i) {
    auto* padded = b.Op("Pad", {x, testing::TorchSwinPads(b, x, 7)});
    auto* scaled = b.Op(
        "Mul", {padded, b.graph().NewInitializer("scale", Tensor::ScalarFloat(1.5f + 0.1f * i))});
    auto* ends = ExportedConcat(b, {ExportedDim(b, x, 1), ExportedDim(b, x, 2)});
    x = b.Op("Slice", {scaled, ExportedInts(b, {0, 0}), ends, ExportedInts(b, {1, 2})});
  }
  b.Output(x);
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  PipelineOptions options;  // basic, generic, verified at two batch sizes
  auto report = OptimizeModel(*model, original.get(), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed)
      << report->verification_message;
  EXPECT_EQ(report->nodes_after, 3 * kBlocks);  // Pad, Mul, Slice per block
  EXPECT_EQ(CountOp(*model, "Shape"), 0);
  for (const ir::Node* n : model->graph->nodes()) {
    if (n->Is("Pad"))
      EXPECT_EQ(ConstantInts(n->input(1)), (std::vector<int64_t>{0, 0, 0, 0, 0, 2, 4, 0}));
    if (n->Is("Slice")) EXPECT_EQ(ConstantInts(n->input(2)), (std::vector<int64_t>{5, 3}));
  }
  for (const PassStats& p : report->passes) {
    if (p.name != "fold_shape_arithmetic") continue;
    ASSERT_FALSE(p.rounds.empty());
    EXPECT_GT(p.rounds.front().applied, 0);
    for (size_t r = 1; r < p.rounds.size(); ++r) EXPECT_EQ(p.rounds[r].applied, 0) << r;
  }
  EXPECT_EQ(CompareOutputs(*original, *model, {{"batch", 2}}), "");
  EXPECT_EQ(CompareOutputs(*original, *model, {{"batch", 3}}), "");
}

}  // namespace
}  // namespace graphopt
