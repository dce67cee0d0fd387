// Golden tests of fuse_attention on a tiny torch.nn.MultiheadAttention export (batch 2,
// sequence 6, hidden 8, 2 heads): with and without a key padding mask it becomes one Attention
// (+ output projection) with equal outputs, zeros in the mask included; swapped Q/K slices or a
// score read elsewhere leave the graph alone.
#include <gtest/gtest.h>

#include <limits>

#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CompareWithIntRanges;
using testing::CountFused;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunFusion;

constexpr int64_t B = 2, S = 6, D = 8, H = 2, kHead = D / H;

struct MhaOptions {
  bool mask = false;
  bool swap_qk_slices = false;
  bool expose_scores = false;
  bool in_bias = true;
};

ir::Value* Transpose(ModelBuilder& b, ir::Value* v, std::vector<int64_t> perm) {
  auto* t = b.Op("Transpose", {v});
  b.LastNode()->SetInts("perm", perm);
  return t;
}

// Constant int64 vectors under fresh names (ModelBuilder::Ints names must be unique).
ir::Value* Ints(ModelBuilder& b, const std::vector<int64_t>& v) {
  return b.graph().NewInitializer("ints", Tensor::Int64s(v));
}

ir::Value* Reshape(ModelBuilder& b, ir::Value* v, std::vector<int64_t> shape) {
  return b.Op("Reshape", {v, Ints(b, shape)});
}

std::unique_ptr<ir::Model> MakeTorchMha(const MhaOptions& o) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {B, S, D});
  auto* qkv = b.Op("MatMul", {Transpose(b, x, {1, 0, 2}), RandomInit(b, "in_w", {D, 3 * D}, 11)});
  if (o.in_bias) qkv = b.Op("Add", {RandomInit(b, "in_b", {3 * D}, 12), qkv});
  auto slice = [&](int64_t part) {
    return b.Op("Slice", {qkv, Ints(b, {part * D}), Ints(b, {(part + 1) * D}), Ints(b, {-1})});
  };
  auto* q = Reshape(b, slice(o.swap_qk_slices ? 1 : 0), {S, B * H, kHead});
  auto* k = Reshape(b, slice(o.swap_qk_slices ? 0 : 1), {S, B * H, kHead});
  auto* v = Reshape(b, slice(2), {S, B * H, kHead});
  auto* qs = b.Op("Mul", {Transpose(b, q, {1, 0, 2}), testing::Scalar(b, "scale", 0.5f)});
  ir::Value* scores = b.Op("MatMul", {qs, Transpose(b, k, {1, 2, 0})});
  if (o.expose_scores) b.Output(scores);
  if (o.mask) {
    auto* keep = b.Input("keep", DataType::kInt64, {B, S});
    auto* pad = b.Op("Equal", {keep, Ints(b, {0})});
    auto* r1 = Reshape(b, pad, {B, 1, 1, S});
    auto* e = b.Op("Expand", {r1, Ints(b, {1, H, 1, 1})});
    auto* r2 = Reshape(b, e, {B * H, 1, S});
    auto* ninf = b.graph().NewInitializer(
        "ninf", Tensor::ScalarFloat(-std::numeric_limits<float>::infinity()));
    auto* zeros = b.graph().NewInitializer("zeros", Tensor(DataType::kFloat, {B * H, 1, S}));
    scores = b.Op("Add", {scores, b.Op("Where", {r2, ninf, zeros})});
  }
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = b.Op("MatMul", {probs, Transpose(b, v, {1, 0, 2})});
  auto* merged = Reshape(b, Transpose(b, ctx, {1, 0, 2}), {S * B, D});
  auto* proj =
      b.Op("Gemm", {merged, RandomInit(b, "out_w", {D, D}, 13), RandomInit(b, "out_b", {D}, 14)});
  b.LastNode()->SetInt("transB", 1);
  b.Output(Transpose(b, Reshape(b, proj, {S, B, D}), {1, 0, 2}));
  return b.Build();
}

TEST(FuseAttention, TorchMultiheadAttentionWithoutMask) {
  auto model = MakeTorchMha({});
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["torch_multihead_attention"], 1);
  EXPECT_GT(run.record.matched_nodes.size(), 15u);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 3u);  // Attention, MatMul, Add
  const ir::Node* att = nullptr;
  for (const ir::Node* n : model->graph->nodes()) {
    if (n->op_type() == "Attention") att = n;
  }
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->GetInt("num_heads", 0), H);
  EXPECT_FLOAT_EQ(att->GetFloat("scale", 0), 0.5f);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseAttention, KeyPaddingMaskBecomesMaskIndex) {
  MhaOptions o;
  o.mask = true;
  o.in_bias = false;
  auto model = MakeTorchMha(o);
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Where"), 0);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  // keep drawn from {0, 1}: some keys are masked.
  EXPECT_EQ(CompareWithIntRanges(*run.original, *model, {{"keep", 2}}), "");
  // and larger values mean "keep" as well, as Equal(keep, 0) says.
  EXPECT_EQ(CompareWithIntRanges(*run.original, *model, {{"keep", 5}}), "");
}

TEST(FuseAttention, NearMissesDoNotFuse) {
  MhaOptions swapped;
  swapped.swap_qk_slices = true;
  MhaOptions exposed;
  exposed.expose_scores = true;
  for (const MhaOptions& o : {swapped, exposed}) {
    auto model = MakeTorchMha(o);
    ASSERT_TRUE(ir::InferShapes(*model).ok());
    const std::string before = GraphSignature(*model);
    auto run = RunFusion(*model, "fuse_attention");
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
}

// BERT-style: x (B, S, D) -> separate Q/K/V Linear layers, heads (B, H, S, d), scores / sqrt(d)
// + (1 - mask) * -10000, softmax, context merged to (B, S, D), then the output Linear.
std::unique_ptr<ir::Model> MakeBertAttention(bool mask, bool expose_q) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {B, S, D});
  auto head = [&](int64_t seed, std::vector<int64_t> perm, bool expose) {
    auto* p = b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "w", {D, D}, seed)}),
                           RandomInit(b, "b", {D}, seed + 1)});
    auto* r = Reshape(b, p, {B, S, H, kHead});
    if (expose) b.Output(r);
    return Transpose(b, r, perm);
  };
  auto* q = head(21, {0, 2, 1, 3}, expose_q);
  auto* k = head(23, {0, 2, 3, 1}, false);
  auto* v = head(25, {0, 2, 1, 3}, false);
  ir::Value* scores = b.Op("Div", {b.Op("MatMul", {q, k}), testing::Scalar(b, "sqrt_d", 2.0f)});
  if (mask) {
    auto* keep = b.Input("keep", DataType::kInt64, {B, S});
    auto* u = b.Op("Unsqueeze", {b.Op("Unsqueeze", {keep, Ints(b, {1})}), Ints(b, {2})});
    auto* f = b.Op("Cast", {u});
    b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
    auto* inv = b.Op("Sub", {testing::Scalar(b, "one", 1.0f), f});
    scores = b.Op("Add", {scores, b.Op("Mul", {inv, testing::Scalar(b, "big", -10000.0f)})});
  }
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = Transpose(b, b.Op("MatMul", {probs, v}), {0, 2, 1, 3});
  auto* merged = Reshape(b, ctx, {B, S, D});
  b.Output(b.Op("Add", {b.Op("MatMul", {merged, RandomInit(b, "wo", {D, D}, 27)}),
                        RandomInit(b, "bo", {D}, 28)}));
  return b.Build();
}

TEST(FuseAttention, BertStyleWithAdditiveMask) {
  for (bool mask : {false, true}) {
    auto model = MakeBertAttention(mask, false);
    auto run = RunFusion(*model, "fuse_attention");
    EXPECT_EQ(run.record.rule_counts["bert_attention"], 1) << mask;
    EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
    EXPECT_EQ(CountFused(*model, "Softmax"), 0);
    // keep in {0, 1}: masked keys get -10000 in both (the additive mask is passed as is).
    EXPECT_EQ(CompareWithIntRanges(*run.original, *model, {{"keep", 2}}), "") << mask;
  }
}

TEST(FuseAttention, BertStyleSharedHeadDoesNotFuse) {
  auto model = MakeBertAttention(true, true);
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_attention").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// Targets without Attention keep the subgraph.
TEST(FuseAttention, GenericTargetDoesNotFuse) {
  auto model = MakeTorchMha({});
  EXPECT_EQ(RunFusion(*model, "fuse_attention", "generic").applied, 0);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 0);
}

}  // namespace
}  // namespace graphopt
