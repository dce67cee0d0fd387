// A torchvision Swin block as PyTorch exports it with a symbolic batch: every shape of the
// window attention (pads, window partition, heads, (C // heads) ** -0.5, merge, reverse) is
// Shape arithmetic on static dims. Without --dim, the extended level for `cpu` folds it and
// fuses the block into one Attention; the artifact matches the original at two batch sizes.
#include <gtest/gtest.h>

#include "optimizer/optimize_model.h"
#include "passes_extended/extended_test_util.h"
#include "support/torch_export_chains.h"

namespace graphopt {
namespace {

using testing::CountFused;
using testing::ExportedConcat;
using testing::ExportedDim;
using testing::ExportedInt;
using testing::ExportedInts;
using testing::ModelBuilder;
using testing::RandomInit;

constexpr int64_t kC = 8, kHeads = 2, kWindow = 7, kTokens = kWindow * kWindow;

// x (batch, 9, 10, C) NHWC -> pad to (batch, 14, 14, C) -> 4 windows of 49 tokens -> packed
// qkv attention with a relative position bias -> projection -> windows back -> unpad.
std::unique_ptr<ir::Model> MakeSwinBlock() {
  ModelBuilder b(14);
  auto* x =
      b.InputSymbolic("x", DataType::kFloat,
                      {ir::Dim{-1, "batch"}, ir::Dim{9, ""}, ir::Dim{10, ""}, ir::Dim{kC, ""}});
  auto unsqueeze = [&](ir::Value* v) { return b.Op("Unsqueeze", {v, ExportedInts(b, {0})}); };
  auto dim = [&](ir::Value* v, int64_t axis) {
    return b.Op("Gather", {b.Op("Shape", {v}), ExportedInt(b, axis)});
  };
  auto transpose = [&](ir::Value* v, std::vector<int64_t> perm) {
    auto* t = b.Op("Transpose", {v});
    b.LastNode()->SetInts("perm", perm);
    return t;
  };
  auto* padded = b.Op("Pad", {x, testing::TorchSwinPads(b, x, kWindow)});
  auto* along_h = b.Op("Div", {dim(padded, 1), ExportedInt(b, kWindow)});
  auto* along_w = b.Op("Div", {dim(padded, 2), ExportedInt(b, kWindow)});
  auto* view = b.Op("Reshape",
                    {padded, ExportedConcat(b, {ExportedDim(b, padded, 0), unsqueeze(along_h),
                                                ExportedInts(b, {7}), unsqueeze(along_w),
                                                ExportedInts(b, {7}), ExportedDim(b, padded, 3)})});
  auto* batch_windows = b.Op("Mul", {dim(padded, 0), b.Op("Mul", {along_h, along_w})});
  auto* windows =
      b.Op("Reshape", {transpose(view, {0, 1, 3, 2, 4, 5}),
                       ExportedConcat(b, {unsqueeze(batch_windows), ExportedInts(b, {kTokens}),
                                          ExportedDim(b, padded, 3)})});
  // qkv.reshape(B_, N, 3, heads, C // heads).permute(2, 0, 3, 1, 4), sizes from windows.
  auto* qkv = b.Op("Add", {b.Op("MatMul", {windows, RandomInit(b, "qkv_w", {kC, 3 * kC}, 81)}),
                           RandomInit(b, "qkv_b", {3 * kC}, 82)});
  auto* head_dim = b.Op("Div", {dim(windows, 2), ExportedInt(b, kHeads)});
  auto* heads = transpose(
      b.Op("Reshape", {qkv, ExportedConcat(b, {ExportedDim(b, windows, 0),
                                               ExportedDim(b, windows, 1), ExportedInts(b, {3}),
                                               ExportedInts(b, {kHeads}), unsqueeze(head_dim)})}),
      {2, 0, 3, 1, 4});
  auto part = [&](int64_t i) {
    auto* g = b.Op("Gather", {heads, ExportedInt(b, i)});
    b.LastNode()->SetInt("axis", 0);
    return g;
  };
  auto* q = b.Op("Mul", {part(0), testing::TorchHeadScale(b, windows, 2, kHeads)});
  auto* scores = b.Op("Add", {b.Op("MatMul", {q, transpose(part(1), {0, 1, 3, 2})}),
                              RandomInit(b, "rel_pos_bias", {1, kHeads, kTokens, kTokens}, 83)});
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* context =
      b.Op("Reshape", {transpose(b.Op("MatMul", {probs, part(2)}), {0, 2, 1, 3}),
                       ExportedConcat(b, {ExportedDim(b, windows, 0), ExportedDim(b, windows, 1),
                                          ExportedDim(b, windows, 2)})});
  auto* projected = b.Op("Add", {b.Op("MatMul", {context, RandomInit(b, "proj_w", {kC, kC}, 84)}),
                                 RandomInit(b, "proj_b", {kC}, 85)});
  // Windows back to (B, Hp, Wp, C), then x[:, :H, :W].
  auto* back =
      b.Op("Reshape", {projected, ExportedConcat(b, {ExportedDim(b, padded, 0), unsqueeze(along_h),
                                                     unsqueeze(along_w), ExportedInts(b, {7, 7}),
                                                     ExportedDim(b, padded, 3)})});
  auto* merged =
      b.Op("Reshape", {transpose(back, {0, 1, 3, 2, 4, 5}),
                       ExportedConcat(b, {ExportedDim(b, padded, 0), ExportedDim(b, padded, 1),
                                          ExportedDim(b, padded, 2), ExportedDim(b, padded, 3)})});
  b.Output(b.Op("Slice", {merged, ExportedInts(b, {0, 0}),
                          ExportedConcat(b, {ExportedDim(b, x, 1), ExportedDim(b, x, 2)}),
                          ExportedInts(b, {1, 2})}));
  return b.Build();
}

TEST(SwinWindowShapes, BlockFusesIntoAttentionWithoutDim) {
  auto model = MakeSwinBlock();
  auto original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = Level::kExtended;
  options.target = "cpu";
  auto report = OptimizeModel(*model, original.get(), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  // Verified at two batch sizes chosen by the pipeline (the batch stays symbolic).
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed)
      << report->verification_message;
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  EXPECT_EQ(CountFused(*model, "Shape"), 0);
  // Pad, view, Transpose, merge into windows, Attention, projection (MatMul + Add), two
  // Reshapes and a Transpose back, Slice.
  EXPECT_EQ(model->graph->num_nodes(), 11u);
  // All of it folds in the first round: a deep model does not run out of rounds.
  for (const PassStats& p : report->passes) {
    if (p.name != "fold_shape_arithmetic") continue;
    ASSERT_FALSE(p.rounds.empty());
    for (size_t r = 1; r < p.rounds.size(); ++r) EXPECT_EQ(p.rounds[r].applied, 0) << r;
  }
  for (int64_t batch : {2, 3}) {
    EXPECT_EQ(testing::CompareOutputs(*original, *model, {{"batch", batch}}), "") << batch;
  }
}

}  // namespace
}  // namespace graphopt
