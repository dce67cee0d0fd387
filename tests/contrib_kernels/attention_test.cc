// com.microsoft Attention and MultiHeadAttention against the standard-op self-attention they
// fuse (MatMul/Split/Reshape/Transpose/Softmax), with masks, causality, biases and the optional
// present outputs.
#include <gtest/gtest.h>

#include <cmath>

#include "contrib_kernels/contrib_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Node;
using ir::Value;

constexpr int64_t kB = 2, kS = 5, kHeads = 2, kHidden = 8, kIn = 6;

Value* Reshape(ModelBuilder& b, Value* x, const std::vector<int64_t>& shape,
               const std::string& name) {
  return b.Op("Reshape", {x, b.Ints(name, shape)});
}

Value* Transpose(ModelBuilder& b, Value* x, std::vector<int64_t> perm) {
  Value* y = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", std::move(perm));
  return y;
}

// (B, T, H) -> (B, N, T, H/N).
Value* SplitHeads(ModelBuilder& b, Value* x, int64_t len, const std::string& name) {
  return Transpose(b, Reshape(b, x, {kB, len, kHeads, kHidden / kHeads}, name + "_shape"),
                   {0, 2, 1, 3});
}

// softmax(q k^T * scale + additive) v, merged back to (B, S, H). q, k, v are head-major.
Value* Attend(ModelBuilder& b, Value* q, Value* k, Value* v, Value* additive, int64_t s) {
  Value* scores = b.Op("MatMul", {q, Transpose(b, k, {0, 1, 3, 2})});
  const float scale = 1.0f / std::sqrt(static_cast<float>(kHidden / kHeads));
  scores = b.Op("Mul", {scores, b.Floats("scale", {}, {scale})});
  if (additive) scores = b.Op("Add", {scores, additive});
  Value* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  Value* ctx = Transpose(b, b.Op("MatMul", {probs, v}), {0, 2, 1, 3});
  return Reshape(b, ctx, {kB, s, kHidden}, "merged_shape");
}

// (1 - mask) * -10000 as (B, 1, 1, T) from an int32 (B, T) 0/1 mask.
Value* PaddingBias(ModelBuilder& b, Value* mask, int64_t t) {
  Value* m = b.Op("Cast", {mask});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  Value* inv = b.Op("Sub", {b.Floats("one", {}, {1.0f}), m});
  Value* bias = b.Op("Mul", {inv, b.Floats("filter", {}, {-10000.0f})});
  return Reshape(b, bias, {kB, 1, 1, t}, "mask_shape");
}

// Composed Attention: input (B, S, In) @ weights (In, 3H) + bias, then self-attention.
Value* ComposedAttention(ModelBuilder& b, const Tensor& w, const Tensor& bias, Value* additive) {
  Value* qkv = b.Op("MatMul", {b.Input("x", DataType::kFloat, {kB, kS, kIn}), b.Init("w", w)});
  qkv = b.Op("Add", {qkv, b.Init("bias", bias)});
  Node* split =
      b.graph().AddNode("Split", {qkv, b.Ints("split", {kHidden, kHidden, kHidden})}, 3, "split");
  split->SetInt("axis", 2);
  Value* q = SplitHeads(b, split->output(0), kS, "q");
  Value* k = SplitHeads(b, split->output(1), kS, "k");
  Value* v = SplitHeads(b, split->output(2), kS, "v");
  return Attend(b, q, k, v, additive, kS);
}

Node* FusedAttention(ModelBuilder& b, const Tensor& w, const Tensor& bias, Value* mask,
                     size_t outputs = 1) {
  Node* n = AddNode(
      b, "Attention",
      {b.Input("x", DataType::kFloat, {kB, kS, kIn}), b.Init("w", w), b.Init("bias", bias), mask},
      outputs);
  n->SetInt("num_heads", kHeads);
  return n;
}

const Tensor kWeights = RandomFloats({kIn, 3 * kHidden}, 41);
const Tensor kBias = RandomFloats({3 * kHidden}, 42);
const Tensor kMask2d =
    Tensor::FromVector<int32_t>(DataType::kInt32, {kB, kS}, {1, 1, 1, 0, 0, 1, 1, 1, 1, 1});

TEST(ContribAttention, NoMaskMatchesSelfAttention) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(FusedAttention(fused, kWeights, kBias, nullptr)->output(0));
  composed.Output(ComposedAttention(composed, kWeights, kBias, nullptr));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribAttention, KeyPaddingMask2dMatchesAdditiveMask) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(FusedAttention(fused, kWeights, kBias, fused.Init("mask", kMask2d))->output(0));
  composed.Output(ComposedAttention(composed, kWeights, kBias,
                                    PaddingBias(composed, composed.Init("mask", kMask2d), kS)));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribAttention, MaskChangesTheResult) {
  ModelBuilder masked = ContribBuilder(), plain = ContribBuilder();
  masked.Output(FusedAttention(masked, kWeights, kBias, masked.Init("mask", kMask2d))->output(0));
  plain.Output(FusedAttention(plain, kWeights, kBias, nullptr)->output(0));
  EXPECT_NE(CompareOutputs(*masked.Build(), *plain.Build()), "");
}

TEST(ContribAttention, OtherMaskFormatsEqualThe2dMask) {
  // Right padding as key lengths (B), as end/start (2B) and as a (B, S, T) mask.
  const Tensor lengths = Tensor::FromVector<int32_t>(DataType::kInt32, {kB}, {3, 5});
  const Tensor end_start = Tensor::FromVector<int32_t>(DataType::kInt32, {2 * kB}, {3, 5, 0, 0});
  std::vector<int32_t> mask3d;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t s = 0; s < kS; ++s)
      for (int64_t t = 0; t < kS; ++t)
        mask3d.push_back(static_cast<int32_t>(kMask2d.GetInt64(b * kS + t)));
  const Tensor mask3 = Tensor::FromVector<int32_t>(DataType::kInt32, {kB, kS, kS}, mask3d);
  for (const Tensor& format : {lengths, end_start, mask3}) {
    SCOPED_TRACE(ShapeToString(format.shape()));
    ModelBuilder a = ContribBuilder(), b = ContribBuilder();
    a.Output(FusedAttention(a, kWeights, kBias, a.Init("mask", format))->output(0));
    b.Output(FusedAttention(b, kWeights, kBias, b.Init("mask", kMask2d))->output(0));
    EXPECT_EQ(CompareOutputs(*a.Build(), *b.Build()), "");
  }
}

TEST(ContribAttention, UnidirectionalMatchesCausalMask) {
  std::vector<float> causal;
  for (int64_t s = 0; s < kS; ++s)
    for (int64_t t = 0; t < kS; ++t) causal.push_back(t > s ? -1e9f : 0.0f);
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(FusedAttention(fused, kWeights, kBias, nullptr)->output(0));
  fused.graph().nodes().back()->SetInt("unidirectional", 1);
  composed.Output(
      ComposedAttention(composed, kWeights, kBias, composed.Floats("causal", {kS, kS}, causal)));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribAttention, ScaleAttributeAndAttentionBias) {
  const Tensor attn_bias = RandomFloats({1, kHeads, kS, kS}, 43);
  ModelBuilder fused = ContribBuilder(), composed(17);
  Node* n = AddNode(fused, "Attention",
                    {fused.Input("x", DataType::kFloat, {kB, kS, kIn}), fused.Init("w", kWeights),
                     fused.Init("bias", kBias), nullptr, nullptr, fused.Init("ab", attn_bias)});
  n->SetInt("num_heads", kHeads);
  // An explicit scale equal to the default, so the composition's scale still applies.
  n->SetFloat("scale", 1.0f / std::sqrt(static_cast<float>(kHidden / kHeads)));
  fused.Output(n->output(0));
  composed.Output(ComposedAttention(composed, kWeights, kBias, composed.Init("ab", attn_bias)));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribAttention, PresentHoldsKeysAndValues) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  Node* n = FusedAttention(fused, kWeights, kBias, nullptr, 2);
  fused.Output(n->output(1));
  Value* qkv = composed.Op(
      "Add", {composed.Op("MatMul", {composed.Input("x", DataType::kFloat, {kB, kS, kIn}),
                                     composed.Init("w", kWeights)}),
              composed.Init("bias", kBias)});
  Node* split = composed.graph().AddNode(
      "Split", {qkv, composed.Ints("split", {kHidden, kHidden, kHidden})}, 3, "split");
  split->SetInt("axis", 2);
  Value* k = composed.Op(
      "Unsqueeze", {SplitHeads(composed, split->output(1), kS, "k"), composed.Ints("ax0", {0})});
  Value* v = composed.Op(
      "Unsqueeze", {SplitHeads(composed, split->output(2), kS, "v"), composed.Ints("ax1", {0})});
  composed.Output(composed.Op("Concat", {k, v}));
  composed.LastNode()->SetInt("axis", 0);
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribAttention, RejectsPastState) {
  ModelBuilder b = ContribBuilder();
  Node* n = AddNode(
      b, "Attention",
      {b.Input("x", DataType::kFloat, {kB, kS, kIn}), b.Init("w", kWeights), b.Init("bias", kBias),
       nullptr, b.Init("past", RandomFloats({2, kB, kHeads, 1, kHidden / kHeads}))});
  n->SetInt("num_heads", kHeads);
  b.Output(n->output(0));
  EXPECT_NE(RunError(*b.Build(), {{"x", RandomFloats({kB, kS, kIn})}}), "");
}

constexpr int64_t kL = 4;  // key/value length for cross attention

TEST(ContribMultiHeadAttention, SeparateQkvWithBiasMaskAndPresent) {
  const Tensor bias = RandomFloats({3 * kHidden}, 44);
  const Tensor kpm =
      Tensor::FromVector<int32_t>(DataType::kInt32, {kB, kL}, {1, 1, 0, 0, 1, 1, 1, 0});
  ModelBuilder fused = ContribBuilder(), composed(17);
  Node* n = AddNode(fused, "MultiHeadAttention",
                    {fused.Input("q", DataType::kFloat, {kB, kS, kHidden}),
                     fused.Input("k", DataType::kFloat, {kB, kL, kHidden}),
                     fused.Input("v", DataType::kFloat, {kB, kL, kHidden}),
                     fused.Init("bias", bias), fused.Init("kpm", kpm)},
                    3);
  n->SetInt("num_heads", kHeads);
  for (Value* v : n->outputs()) fused.Output(v);

  Value* bq = composed.Op("Slice", {composed.Init("bias", bias), composed.Ints("s0", {0}),
                                    composed.Ints("e0", {kHidden})});
  Value* bk = composed.Op("Slice", {composed.Init("bias", bias), composed.Ints("s1", {kHidden}),
                                    composed.Ints("e1", {2 * kHidden})});
  Value* bv = composed.Op("Slice", {composed.Init("bias", bias), composed.Ints("s2", {2 * kHidden}),
                                    composed.Ints("e2", {3 * kHidden})});
  Value* q = SplitHeads(
      composed, composed.Op("Add", {composed.Input("q", DataType::kFloat, {kB, kS, kHidden}), bq}),
      kS, "q");
  Value* k = SplitHeads(
      composed, composed.Op("Add", {composed.Input("k", DataType::kFloat, {kB, kL, kHidden}), bk}),
      kL, "k");
  Value* v = SplitHeads(
      composed, composed.Op("Add", {composed.Input("v", DataType::kFloat, {kB, kL, kHidden}), bv}),
      kL, "v");
  composed.Output(
      Attend(composed, q, k, v, PaddingBias(composed, composed.Init("kpm", kpm), kL), kS));
  composed.Output(k);
  composed.Output(v);
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribMultiHeadAttention, KeyLengthsEqualTheirMask) {
  const Tensor lengths = Tensor::FromVector<int32_t>(DataType::kInt32, {kB}, {2, 3});
  const Tensor kpm =
      Tensor::FromVector<int32_t>(DataType::kInt32, {kB, kL}, {1, 1, 0, 0, 1, 1, 1, 0});
  ModelBuilder a = ContribBuilder(), b = ContribBuilder();
  for (auto [builder, mask] : {std::pair{&a, lengths}, std::pair{&b, kpm}}) {
    Node* n = AddNode(*builder, "MultiHeadAttention",
                      {builder->Input("q", DataType::kFloat, {kB, kS, kHidden}),
                       builder->Input("k", DataType::kFloat, {kB, kL, kHidden}),
                       builder->Input("v", DataType::kFloat, {kB, kL, kHidden}), nullptr,
                       builder->Init("mask", mask)});
    n->SetInt("num_heads", kHeads);
    n->SetInt("unidirectional", 0);
    builder->Output(n->output(0));
  }
  EXPECT_EQ(CompareOutputs(*a.Build(), *b.Build()), "");
}

TEST(ContribMultiHeadAttention, UnidirectionalSelfAttentionEqualsAttention) {
  // MultiHeadAttention on projected Q/K/V equals Attention on the input when both are causal.
  ModelBuilder fused = ContribBuilder(), mha = ContribBuilder();
  fused.Output(FusedAttention(fused, kWeights, kBias, nullptr)->output(0));
  fused.graph().nodes().back()->SetInt("unidirectional", 1);
  Value* qkv =
      mha.Op("MatMul", {mha.Input("x", DataType::kFloat, {kB, kS, kIn}), mha.Init("w", kWeights)});
  Node* split = mha.graph().AddNode("Split", {qkv, mha.Ints("split", {kHidden, kHidden, kHidden})},
                                    3, "split");
  split->SetInt("axis", 2);
  Node* n =
      AddNode(mha, "MultiHeadAttention",
              {split->output(0), split->output(1), split->output(2), mha.Init("bias", kBias)});
  n->SetInt("num_heads", kHeads);
  n->SetInt("unidirectional", 1);
  mha.Output(n->output(0));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *mha.Build()), "");
}

}  // namespace
}  // namespace graphopt::testing
