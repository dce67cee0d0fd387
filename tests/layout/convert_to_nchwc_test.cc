// Golden tests of convert_to_nchwc: small CNN graphs converted for blocks of 8 (cpu-avx2) and
// 16 (cpu-avx512), with the operators counted and the outputs compared on the reference
// executor, and the graphs the pass must leave alone.
#include <gtest/gtest.h>

#include "layout/nchwc_test_util.h"
#include "optimizer/ir/nchwc_layout.h"
#include "passes/pass_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Node;
using ir::Value;

int64_t Nchwc(const ir::Model& m, const std::string& op) {
  return CountOp(m, std::string(kNchwc) + "." + op);
}

Value* AddConv(ModelBuilder& b, Value* x, int64_t in, int64_t out, int64_t k, uint64_t seed,
               int64_t stride = 1, int64_t group = 1) {
  Value* w = b.Init("w" + std::to_string(seed), RandomFloats({out, in / group, k, k}, seed));
  Value* bias = b.Init("b" + std::to_string(seed), RandomFloats({out}, seed + 100));
  Value* y = b.Op("Conv", {x, w, bias});
  const int64_t p = k / 2;
  b.LastNode()->SetInts("pads", {p, p, p, p});
  b.LastNode()->SetInts("strides", {stride, stride});
  b.LastNode()->SetInt("group", group);
  return y;
}

// Relu(Conv3(x) + Conv2(Relu(Conv1(x)))), MaxPool, GlobalAveragePool, Flatten.
// With `symbolic_batch` the batch is the symbol "batch", as in a model optimized without --dim.
std::unique_ptr<ir::Model> ResidualBlock(int64_t channels, bool symbolic_batch = false) {
  ModelBuilder b(13);
  Value* x = symbolic_batch
                 ? b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {channels, ""}, {8, ""}, {8, ""}})
                 : b.Input("x", DataType::kFloat, {1, channels, 8, 8});
  Value* a = b.Op("Relu", {AddConv(b, x, channels, channels, 3, 1)});
  Value* c2 = AddConv(b, a, channels, channels, 3, 2);
  Value* c3 = AddConv(b, x, channels, channels, 1, 3);
  Value* d = b.Op("Relu", {b.Op("Add", {c2, c3})});
  Value* pool = b.Op("MaxPool", {d});
  b.LastNode()->SetInts("kernel_shape", {3, 3});
  b.LastNode()->SetInts("strides", {2, 2});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  b.Output(b.Op("Flatten", {b.Op("GlobalAveragePool", {pool})}));
  return b.Build();
}

struct Case {
  const char* target;
  int64_t block;
};

class ConvertToNchwc : public ::testing::TestWithParam<Case> {};

TEST_P(ConvertToNchwc, ResidualBlockRunsBlockedBetweenOneReorderPair) {
  auto m = ResidualBlock(GetParam().block * 2);
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(Nchwc(*m, "Conv"), 3);
  EXPECT_EQ(CountOp(*m, "Conv"), 0);
  EXPECT_EQ(CountOp(*m, "Relu"), 0);  // both fused as activations
  EXPECT_EQ(CountOp(*m, "Add"), 0);   // the Sum input of one convolution
  EXPECT_EQ(Nchwc(*m, "MaxPool"), 1);
  EXPECT_EQ(Nchwc(*m, "GlobalAveragePool"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 1);  // before Flatten only
  EXPECT_EQ(run.record.rule_counts["conv_sum"], 1);
  EXPECT_EQ(m->OpsetVersion(kNchwc), 1);
  bool has_block = false;
  for (const auto& [k, v] : m->metadata_props) {
    has_block |= k == ir::kNchwcBlockSizeKey && v == std::to_string(GetParam().block);
  }
  EXPECT_TRUE(has_block);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

TEST_P(ConvertToNchwc, NarrowInputIsReadInNchwAndOddOutputsArePadded) {
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 3, 16, 16});
  Value* y = b.Op("Relu", {AddConv(b, x, 3, GetParam().block, 3, 4, 2)});
  const int64_t odd = GetParam().block + 4;
  Value* z = AddConv(b, y, GetParam().block, odd, 1, 5);  // padded outputs
  // Depthwise and 1x1 over the odd count: the group and the filter inputs are padded.
  Value* dw = AddConv(b, z, odd, odd, 3, 13, 1, odd);
  b.Output(AddConv(b, dw, odd, GetParam().block, 1, 14));
  b.Output(z);
  const std::string z_name = z->name();
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(Nchwc(*m, "Conv"), 4);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 0);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 2);
  EXPECT_EQ(m->graph->outputs()[1]->name(), z_name);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

TEST_P(ConvertToNchwc, ConcatAndAnAffineMapStayBlocked) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, c, 6, 6});
  Value* cat = b.Op("Concat", {AddConv(b, x, c, c, 3, 6), AddConv(b, x, c, c, 1, 7)});
  b.LastNode()->SetInt("axis", 1);
  // A decomposed BatchNormalization: Mul and Add by [2C, 1, 1] constants, then Relu.
  Value* scaled = b.Op("Mul", {cat, b.Init("scale", RandomFloats({2 * c, 1, 1}, 8))});
  Value* shifted = b.Op("Add", {scaled, b.Init("shift", RandomFloats({2 * c, 1, 1}, 9))});
  Value* act = b.Op("Relu", {shifted});
  Value* up = b.Op("Resize", {act, nullptr, b.Floats("scales", {4}, {1, 1, 2, 2})});
  b.LastNode()->SetString("mode", "nearest");
  b.LastNode()->SetString("coordinate_transformation_mode", "asymmetric");
  b.LastNode()->SetString("nearest_mode", "floor");
  b.Output(AddConv(b, up, 2 * c, c, 3, 10));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(CountOp(*m, "Concat"), 1);  // on blocked inputs
  EXPECT_EQ(CountOp(*m, "Mul"), 0);
  EXPECT_EQ(CountOp(*m, "Add"), 0);
  EXPECT_EQ(CountOp(*m, "Relu"), 0);
  EXPECT_EQ(Nchwc(*m, "Conv"), 4);  // three convolutions and one depthwise affine map
  EXPECT_EQ(Nchwc(*m, "Upsample"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

TEST_P(ConvertToNchwc, FusedConvWithResidualTakesItAsSum) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  b.model().opset_imports.push_back({"com.microsoft", 1});
  Value* x = b.Input("x", DataType::kFloat, {1, c, 5, 5});
  Value* r = AddConv(b, x, c, c, 1, 11);
  Value* w = b.Init("wf", RandomFloats({c, c, 3, 3}, 12));
  Node* fused = b.graph().AddNode("FusedConv", {x, w, nullptr, r}, 1, "fused", "com.microsoft");
  fused->SetInts("pads", {1, 1, 1, 1});
  fused->SetString("activation", "Relu");
  b.Output(fused->output(0));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(CountOp(*m, "com.microsoft.FusedConv"), 0);
  EXPECT_EQ(Nchwc(*m, "Conv"), 2);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

TEST_P(ConvertToNchwc, UnaryOperatorsRunOnBlockedTensors) {
  const int64_t c = GetParam().block;
  ModelBuilder b(14);
  b.model().opset_imports.push_back({"com.microsoft", 1});
  Value* x = b.Input("x", DataType::kFloat, {1, c, 5, 5});
  Value* conv = AddConv(b, x, c, c, 3, 15);
  Value* shared = b.Op("HardSwish", {conv});  // the conv output has two readers: not fused
  Value* silu = b.Op("QuickGelu", {shared}, "com.microsoft");
  b.LastNode()->SetFloat("alpha", 1.0f);
  b.Output(AddConv(b, b.Op("Add", {silu, shared}), c, c, 1, 16));
  b.Output(b.Op("Sigmoid", {conv}));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(Nchwc(*m, "Conv"), 2);
  EXPECT_EQ(CountOp(*m, "com.microsoft.QuickGelu"), 1);
  EXPECT_EQ(CountOp(*m, "HardSwish"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 2);  // the two graph outputs
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

// Without --dim the residual Add's operands are [batch,C,H,W] on both sides: the same shape,
// so it still becomes the Sum of a convolution and the block stays between one reorder pair.
TEST_P(ConvertToNchwc, SymbolicBatchFusesLikeAFixedOne) {
  auto m = ResidualBlock(GetParam().block * 2, /*symbolic_batch=*/true);
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(Nchwc(*m, "Conv"), 3);
  EXPECT_EQ(CountOp(*m, "Add"), 0);
  EXPECT_EQ(CountOp(*m, "Relu"), 0);
  EXPECT_EQ(Nchwc(*m, "GlobalAveragePool"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 1);
  EXPECT_EQ(run.record.rule_counts["conv_sum"], 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"batch", 1}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"batch", 3}}), "");
}

// Nodes of `op` (in the nchwc domain) with channels_last=1.
int64_t ChannelsLast(const ir::Model& m, const std::string& op) {
  int64_t n = 0;
  for (const Node* node : m.graph->nodes()) {
    n += node->domain() == kNchwc && node->op_type() == op && node->GetInt("channels_last", 0) == 1;
  }
  return n;
}

// A channels-last block (ConvNeXt's shape: NHWC -> NCHW, convolution, NCHW -> NHWC): both
// Transposes are taken by the reorders (channels_last), as ONNX Runtime does for the second.
TEST_P(ConvertToNchwc, NhwcTransposesAreTakenByTheReorders) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 6, 6, c});
  Value* nchw = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", {0, 3, 1, 2});
  Value* y = b.Op("Relu", {AddConv(b, nchw, c, c, 3, 50)});
  b.Output(b.Op("Transpose", {y}));
  b.LastNode()->SetInts("perm", {0, 2, 3, 1});
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(CountOp(*m, "Transpose"), 0);
  EXPECT_EQ(Nchwc(*m, "Conv"), 1);
  EXPECT_EQ(ChannelsLast(*m, "ReorderInput"), 1);
  EXPECT_EQ(ChannelsLast(*m, "ReorderOutput"), 1);
  EXPECT_EQ(m->graph->nodes().size(), 3u);
  EXPECT_EQ(run.record.rule_counts["transpose_to_nhwc"], 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

// An NCHW -> NHWC Transpose with another reader stays for it; a Transpose of another perm is
// not a layout change the reorders can take.
TEST_P(ConvertToNchwc, OtherTransposesStay) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 6, 6, c});
  Value* nchw = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", {0, 3, 1, 2});
  b.Output(nchw);  // a graph output: the Transpose must stay
  Value* y = AddConv(b, nchw, c, c, 3, 51);
  b.Output(b.Op("Transpose", {y}));
  b.LastNode()->SetInts("perm", {0, 3, 2, 1});
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(CountOp(*m, "Transpose"), 2);
  EXPECT_EQ(Nchwc(*m, "Conv"), 1);
  EXPECT_EQ(ChannelsLast(*m, "ReorderInput"), 0);
  EXPECT_EQ(ChannelsLast(*m, "ReorderOutput"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

// DBNet's FPN: Add(lateral conv, upsampled deeper map) whose spatial dims are symbols that
// cannot be shown equal. The Add runs on the [N, C'/B, H, W, B] views, the Upsample and the
// convolutions around it stay blocked; broadcasting over W still computes what it did.
TEST_P(ConvertToNchwc, AddOfUnprovableShapesRunsOnSplitBlocks) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  Value* x = b.InputSymbolic("x", DataType::kFloat, {{1, ""}, {c, ""}, {-1, "h"}, {-1, "w"}});
  Value* y = b.InputSymbolic("y", DataType::kFloat, {{1, ""}, {c, ""}, {-1, "p"}, {-1, "q"}});
  Value* lateral = AddConv(b, y, c, c, 1, 52);
  Value* up = b.Op("Resize", {lateral, nullptr, b.Floats("scales", {4}, {1, 1, 2, 2})});
  b.LastNode()->SetString("mode", "nearest");
  b.LastNode()->SetString("coordinate_transformation_mode", "asymmetric");
  b.LastNode()->SetString("nearest_mode", "floor");
  Value* sum = b.Op("Add", {AddConv(b, x, c, c, 1, 53), up});
  b.Output(AddConv(b, b.Op("Relu", {sum}), c, c, 3, 54));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(run.record.rule_counts["add_split_blocks"], 1);
  EXPECT_EQ(run.record.rule_counts["conv_sum"], 0);  // the shapes may differ: no Sum input
  EXPECT_EQ(Nchwc(*m, "Conv"), 3);
  EXPECT_EQ(Nchwc(*m, "Upsample"), 1);
  EXPECT_EQ(CountOp(*m, "Add"), 1);
  EXPECT_EQ(CountOp(*m, "Reshape"), 3);
  EXPECT_EQ(CountOp(*m, "Relu"), 1);  // on the blocked tensor
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 2);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"h", 6}, {"w", 4}, {"p", 3}, {"q", 2}}), "");
  // w = 1: the lateral map broadcasts over W against the upsampled one.
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"h", 6}, {"w", 1}, {"p", 3}, {"q", 2}}), "");
}

// A convolution whose input channel dim shape inference left unknown (DBNet's head behind a
// Concat of Resizes) is converted with the filter's channel count, as ONNX Runtime does.
TEST_P(ConvertToNchwc, UnknownInputChannelsAreTheFilters) {
  const int64_t c = GetParam().block;
  ModelBuilder b(13);
  Value* x = b.InputSymbolic("x", DataType::kFloat, {{1, ""}, {-1, "k"}, {6, ""}, {6, ""}});
  b.Output(b.Op("Relu", {AddConv(b, x, 2 * c, c, 3, 55)}));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", GetParam().target);
  EXPECT_EQ(Nchwc(*m, "Conv"), 1);
  EXPECT_EQ(CountOp(*m, "Conv"), 0);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"k", 2 * c}}), "");
}

INSTANTIATE_TEST_SUITE_P(Blocks, ConvertToNchwc,
                         ::testing::Values(Case{"cpu-avx2", 8}, Case{"cpu-avx512", 16}),
                         [](const auto& info) { return std::to_string(info.param.block); });

TEST(ConvertToNchwcNear, NotForATargetWithoutABlock) {
  auto m = ResidualBlock(16);
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", "generic");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(CountOp(*m, "Conv"), 3);
}

TEST(ConvertToNchwcNear, LeavesConvolutionsOnUnalignedOrVariableInputs) {
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 10, 6, 6});  // 10 % 8 and 10 % 4 != 0
  b.Output(AddConv(b, x, 10, 16, 3, 20));
  Value* w = b.Input("w", DataType::kFloat, {16, 16, 1, 1});  // weights not constant
  b.Output(b.Op("Conv", {b.Input("x2", DataType::kFloat, {1, 16, 4, 4}), w}));
  Value* x1d = b.Input("x1d", DataType::kFloat, {1, 16, 9});  // 1-D convolution
  b.Output(b.Op("Conv", {x1d, b.Init("w1d", RandomFloats({16, 16, 3}, 21))}));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", "cpu-avx2");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(CountOp(*m, "Conv"), 3);
  EXPECT_EQ(Nchwc(*m, "ReorderInput"), 0);
}

TEST(ConvertToNchwcNear, AddOfTwoDifferentSymbolsIsNoSum) {
  ModelBuilder b(13);
  Value* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {16, ""}, {4, ""}, {4, ""}});
  Value* y = b.InputSymbolic("y", DataType::kFloat, {{-1, "n"}, {16, ""}, {4, ""}, {4, ""}});
  Value* conv = AddConv(b, x, 16, 16, 3, 40);
  b.Output(b.Op("Add", {conv, AddConv(b, y, 16, 16, 3, 41)}));  // batch may differ from n
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", "cpu-avx2");
  EXPECT_EQ(Nchwc(*m, "Conv"), 2);
  EXPECT_EQ(CountOp(*m, "Add"), 1);
  EXPECT_EQ(run.record.rule_counts["conv_sum"], 0);
  EXPECT_EQ(run.record.rule_counts["add_split_blocks"], 1);  // blocked, on [N, C/B, H, W, B]
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"batch", 2}, {"n", 2}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *m, {{"batch", 2}, {"n", 1}}), "");  // broadcast
}

TEST(ConvertToNchwcNear, KeepsBroadcastingAddsAndGlobalPoolsOutsideBlockedRegions) {
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 16, 4, 4});
  Value* conv = AddConv(b, x, 16, 16, 3, 30);
  // A [1,16,4,4] + [1,1,4,4] broadcast is not elementwise on blocked tensors.
  b.Output(b.Op("Add", {conv, b.Input("y", DataType::kFloat, {1, 1, 4, 4})}));
  b.Output(b.Op("GlobalAveragePool", {b.Input("z", DataType::kFloat, {1, 16, 4, 4})}));
  auto m = b.Build();
  PassRun run = RunSinglePass(*m, "convert_to_nchwc", "cpu-avx2");
  EXPECT_EQ(Nchwc(*m, "Conv"), 1);
  EXPECT_EQ(CountOp(*m, "Add"), 1);
  EXPECT_EQ(CountOp(*m, "GlobalAveragePool"), 1);
  EXPECT_EQ(Nchwc(*m, "ReorderOutput"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *m), "");
}

}  // namespace
}  // namespace graphopt::testing
