// Each fusion on a symbolic-dim variant of its pattern: batch and sequence axes are symbols
// (shapes reached through Shape arithmetic and Reshape 0/-1), the fusion still applies, and the
// outputs equal the original's on the reference executor at two different assignments of the
// symbols (so a frozen shape would be caught).
#include <gtest/gtest.h>

#include <limits>

#include "passes_extended/extended_test_util.h"
#include "support/ort_parity.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CompareWithIntRanges;
using testing::CountFused;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunFusion;
using testing::ExpectOrtParity;
using testing::RandomFloats;

constexpr int64_t D = 8, H = 2, kHead = D / H;
const ir::Dim kBatch{-1, "batch"}, kSeq{-1, "seq"};
ir::Dim N(int64_t v) { return ir::Dim{v, ""}; }

// Equal outputs at (batch 2, seq 6) and (batch 3, seq 5).
std::string CompareAtTwoShapes(const ir::Model& a, const ir::Model& b) {
  std::string why = CompareOutputs(a, b, {{"batch", 2}, {"seq", 6}});
  if (why.empty()) why = CompareOutputs(a, b, {{"batch", 3}, {"seq", 5}});
  return why;
}

ir::Value* Ints(ModelBuilder& b, const std::vector<int64_t>& v) {
  return b.graph().NewInitializer("ints", Tensor::Int64s(v));
}
ir::Value* Int(ModelBuilder& b, int64_t v) {
  return b.graph().NewInitializer("int", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {v}));
}
ir::Value* Transpose(ModelBuilder& b, ir::Value* v, std::vector<int64_t> perm) {
  auto* t = b.Op("Transpose", {v});
  b.LastNode()->SetInts("perm", perm);
  return t;
}
ir::Value* Reshape(ModelBuilder& b, ir::Value* v, ir::Value* shape) {
  return b.Op("Reshape", {v, shape});
}
// Dim `i` of `v` as a 1-element vector, as exporters compute it: Unsqueeze(Gather(Shape(v), i)).
ir::Value* DimOf(ModelBuilder& b, ir::Value* v, int64_t i, int64_t times = 1) {
  ir::Value* d = b.Op("Gather", {b.Op("Shape", {v}), Int(b, i)});
  if (times != 1) d = b.Op("Mul", {d, Int(b, times)});
  return b.Op("Unsqueeze", {d, Ints(b, {0})});
}
ir::Value* Concat(ModelBuilder& b, const std::vector<ir::Value*>& parts) {
  auto* c = b.Op("Concat", parts);
  b.LastNode()->SetInt("axis", 0);
  return c;
}

ir::Value* Mean(ModelBuilder& b, ir::Value* v) {
  auto* m = b.Op("ReduceMean", {v});
  b.LastNode()->SetInts("axes", {-1});
  return m;
}

ir::Value* LayerNorm(ModelBuilder& b, ir::Value* x) {
  auto* centered = b.Op("Sub", {x, Mean(b, x)});
  auto* var = Mean(b, b.Op("Pow", {centered, testing::Scalar(b, "two", 2.0f)}));
  auto* den = b.Op("Sqrt", {b.Op("Add", {var, testing::Scalar(b, "eps", 1e-5f)})});
  auto* y = b.Op("Mul", {b.Op("Div", {centered, den}), RandomInit(b, "gamma", {D}, 3)});
  return b.Op("Add", {y, RandomInit(b, "beta", {D}, 4)});
}

TEST(SymbolicFusions, LayerNormAndSkipLayerNorm) {
  ModelBuilder b(14);
  auto* h = b.InputSymbolic("h", DataType::kFloat, {kBatch, kSeq, N(D)});
  auto* skip = b.InputSymbolic("skip", DataType::kFloat, {kBatch, kSeq, N(D)});
  auto* proj = b.Op(
      "Add", {RandomInit(b, "bias", {D}, 7), b.Op("MatMul", {h, RandomInit(b, "w", {D, D}, 6)})});
  b.Output(LayerNorm(b, b.Op("Add", {skip, proj})));
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_layer_norm").record.rule_counts["layer_norm"], 1);
  EXPECT_EQ(CountFused(*model, "LayerNormalization"), 1);
  EXPECT_EQ(RunFusion(*model, "fuse_skip_layer_norm", "cuda").record.rule_counts["skip_layer_norm"],
            1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.SkipLayerNormalization"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 2u);  // MatMul, SkipLayerNormalization
  EXPECT_EQ(CompareAtTwoShapes(*original, *model), "");
}

TEST(SymbolicFusions, GeluWithBias) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, N(D)});
  auto* a =
      b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "w", {D, D}, 1)}), RandomInit(b, "b", {D}, 2)});
  auto* erf = b.Op("Erf", {b.Op("Div", {a, testing::Scalar(b, "sqrt2", 1.4142135f)})});
  auto* gelu = b.Op("Mul", {b.Op("Mul", {a, b.Op("Add", {erf, testing::Scalar(b, "one", 1.0f)})}),
                            testing::Scalar(b, "half", 0.5f)});
  b.Output(gelu);
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  RunFusion(*model, "fuse_gelu");
  EXPECT_EQ(CountFused(*model, "com.microsoft.Gelu"), 1);
  EXPECT_EQ(RunFusion(*model, "fuse_bias_gelu").record.rule_counts["bias_gelu"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.BiasGelu"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 2u);  // MatMul, BiasGelu
  EXPECT_EQ(CompareAtTwoShapes(*original, *model), "");
}

TEST(SymbolicFusions, MatMulScale) {
  ModelBuilder b(14);
  auto* q = b.InputSymbolic("q", DataType::kFloat, {kBatch, N(H), kSeq, N(kHead)});
  auto* k = b.InputSymbolic("k", DataType::kFloat, {kBatch, N(H), kSeq, N(kHead)});
  auto* s = b.Op("MatMul", {q, Transpose(b, k, {0, 1, 3, 2})});
  b.Output(b.Op("Mul", {s, testing::Scalar(b, "s", 0.5f)}));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_matmul_scale");
  EXPECT_EQ(run.record.rule_counts["matmul_scale"], 1);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CompareAtTwoShapes(*run.original, *model), "");
}

TEST(SymbolicFusions, ConvAddActivation) {
  ModelBuilder b(14);
  const ir::Dim h{-1, "height"}, w{-1, "width"};
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, N(3), h, w});
  auto* r = b.InputSymbolic("r", DataType::kFloat, {kBatch, N(4), h, w});
  auto* conv = b.Op("Conv", {x, RandomInit(b, "k", {4, 3, 3, 3}, 5), RandomInit(b, "kb", {4}, 6)});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  b.Output(b.Op("Relu", {b.Op("Add", {r, conv})}));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_conv_activation");
  EXPECT_EQ(run.record.rule_counts["conv_add"], 1);
  EXPECT_EQ(run.record.rule_counts["conv_activation"], 1);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  std::string why =
      CompareOutputs(*run.original, *model, {{"batch", 1}, {"height", 5}, {"width", 6}});
  if (why.empty())
    why = CompareOutputs(*run.original, *model, {{"batch", 2}, {"height", 7}, {"width", 4}});
  EXPECT_EQ(why, "");
}

// torch.nn.MultiheadAttention as exported with dynamic batch and sequence: (S, B*H, head) heads
// whose targets come from Shape arithmetic, a key padding mask reshaped with computed shapes.
std::unique_ptr<ir::Model> MakeDynamicTorchMha() {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, N(D)});
  auto* xt = Transpose(b, x, {1, 0, 2});
  auto* qkv = b.Op("Add", {RandomInit(b, "in_b", {3 * D}, 12),
                           b.Op("MatMul", {xt, RandomInit(b, "in_w", {D, 3 * D}, 11)})});
  auto heads_shape = [&] {
    return Concat(b, {DimOf(b, xt, 0), DimOf(b, xt, 1, H), Ints(b, {kHead})});
  };
  auto slice = [&](int64_t part) {
    return b.Op("Slice", {qkv, Ints(b, {part * D}), Ints(b, {(part + 1) * D}), Ints(b, {-1})});
  };
  auto* q = Reshape(b, slice(0), heads_shape());
  auto* k = Reshape(b, slice(1), heads_shape());
  auto* v = Reshape(b, slice(2), heads_shape());
  auto* qs = b.Op("Mul", {Transpose(b, q, {1, 0, 2}), testing::Scalar(b, "scale", 0.5f)});
  ir::Value* scores = b.Op("MatMul", {qs, Transpose(b, k, {1, 2, 0})});
  auto* keep = b.InputSymbolic("keep", DataType::kInt64, {kBatch, kSeq});
  auto* pad = b.Op("Equal", {keep, Ints(b, {0})});
  auto* r1 = Reshape(b, pad, Concat(b, {DimOf(b, keep, 0), Ints(b, {1, 1}), DimOf(b, keep, 1)}));
  auto* e = b.Op("Expand", {r1, Ints(b, {1, H, 1, 1})});
  auto* r2 = Reshape(b, e, Concat(b, {DimOf(b, keep, 0, H), Ints(b, {1}), DimOf(b, keep, 1)}));
  auto* ninf = b.graph().NewInitializer(
      "ninf", Tensor::ScalarFloat(-std::numeric_limits<float>::infinity()));
  scores = b.Op(
      "Add", {scores,
              b.Op("Where", {r2, ninf, b.graph().NewInitializer("zero", Tensor::ScalarFloat(0))})});
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = b.Op("MatMul", {probs, Transpose(b, v, {1, 0, 2})});
  auto* merged = Reshape(b, Transpose(b, ctx, {1, 0, 2}), Ints(b, {-1, D}));
  auto* proj =
      b.Op("Gemm", {merged, RandomInit(b, "out_w", {D, D}, 13), RandomInit(b, "out_b", {D}, 14)});
  b.LastNode()->SetInt("transB", 1);
  auto* unmerged = Reshape(b, proj, Concat(b, {DimOf(b, xt, 0), DimOf(b, xt, 1), Ints(b, {D})}));
  b.Output(Transpose(b, unmerged, {1, 0, 2}));
  return b.Build();
}

TEST(SymbolicFusions, TorchMultiheadAttentionWithPaddingMask) {
  auto model = MakeDynamicTorchMha();
  auto original = ir::CloneModel(*model);
  // Shape arithmetic first (basic level), then the fusion (extended).
  RunFusion(*model, "fold_shape_arithmetic");
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["torch_multihead_attention"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  EXPECT_EQ(CountFused(*model, "Shape"), 0);
  for (const auto& dims : std::vector<std::map<std::string, int64_t>>{{{"batch", 2}, {"seq", 6}},
                                                                      {{"batch", 3}, {"seq", 5}}}) {
    auto evaluator = MakeReferenceEvaluator();
    VerifyOptions options;
    options.dims = dims;
    options.int_ranges = {{"keep", 2}};
    auto result = evaluator->Verify(*original, *model, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->passed) << result->message;
  }
}

// BERT-style heads (B, S, H, d) with Reshape 0 targets and a (B, 1, 1, S) additive mask: the
// mask rows are expanded to (B, 1, S, S) from the input's run-time sequence length.
TEST(SymbolicFusions, BertAttentionWithAdditiveMask) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, kSeq, N(D)});
  auto head = [&](int64_t seed, std::vector<int64_t> perm) {
    auto* p = b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "w", {D, D}, seed)}),
                           RandomInit(b, "b", {D}, seed + 1)});
    return Transpose(b, Reshape(b, p, Ints(b, {0, 0, H, kHead})), perm);
  };
  auto* q = head(21, {0, 2, 1, 3});
  auto* k = head(23, {0, 2, 3, 1});
  auto* v = head(25, {0, 2, 1, 3});
  ir::Value* scores = b.Op("Div", {b.Op("MatMul", {q, k}), testing::Scalar(b, "sqrt_d", 2.0f)});
  auto* keep = b.InputSymbolic("keep", DataType::kInt64, {kBatch, kSeq});
  auto* u = b.Op("Unsqueeze", {b.Op("Unsqueeze", {keep, Ints(b, {1})}), Ints(b, {2})});
  auto* f = b.Op("Cast", {u});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  auto* inv = b.Op("Sub", {testing::Scalar(b, "one", 1.0f), f});
  scores = b.Op("Add", {scores, b.Op("Mul", {inv, testing::Scalar(b, "big", -10000.0f)})});
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = Transpose(b, b.Op("MatMul", {probs, v}), {0, 2, 1, 3});
  b.Output(Reshape(b, ctx, Ints(b, {0, 0, D})));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["bert_attention"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  for (const auto& dims : std::vector<std::map<std::string, int64_t>>{{{"batch", 2}, {"seq", 6}},
                                                                      {{"batch", 3}, {"seq", 5}}}) {
    auto evaluator = MakeReferenceEvaluator();
    VerifyOptions options;
    options.dims = dims;
    options.int_ranges = {{"keep", 2}};
    auto result = evaluator->Verify(*run.original, *model, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->passed) << result->message;
  }
}


// nn.TransformerDecoder with batch_first=False, as torch exports it with dynamic axes: target
// x (seq, batch, D) and memory (mem, batch, D); self-attention slices one packed projection and
// adds the causal mask torch builds at run time (Trilu of a -inf (seq, seq) ConstantOfShape),
// or a float (seq, seq) mask input when `mask_input`; cross-attention projects Q from the
// self-attention's output and K/V from the memory (one packed projection, chunked by Slices
// whose second end is INT64_MAX).
const ir::Dim kMem{-1, "mem"};

ir::Value* SeqFirstAttention(ModelBuilder& b, ir::Value* x, ir::Value* kv_in, ir::Value* mask,
                             uint64_t seed) {
  const bool self = x == kv_in;
  auto heads_shape = [&](ir::Value* src) {
    return Concat(b, {DimOf(b, src, 0), DimOf(b, src, 1, H), Ints(b, {kHead})});
  };
  auto slice = [&](ir::Value* packed, int64_t begin, int64_t end) {
    return b.Op("Slice", {packed, Ints(b, {begin}), Ints(b, {end}), Ints(b, {-1})});
  };
  ir::Value *q, *k, *v;
  if (self) {
    auto* qkv = b.Op("Add", {RandomInit(b, "in_b", {3 * D}, seed),
                             b.Op("MatMul", {x, RandomInit(b, "in_w", {D, 3 * D}, seed + 1)})});
    q = slice(qkv, 0, D);
    k = slice(qkv, D, 2 * D);
    v = slice(qkv, 2 * D, 3 * D);
  } else {
    q = b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "q_w", {D, D}, seed)}),
                     RandomInit(b, "q_b", {D}, seed + 1)});
    auto* kv = b.Op("Add", {b.Op("MatMul", {kv_in, RandomInit(b, "kv_w", {D, 2 * D}, seed + 2)}),
                            RandomInit(b, "kv_b", {2 * D}, seed + 3)});
    k = slice(kv, 0, D);
    v = slice(kv, D, std::numeric_limits<int64_t>::max());
  }
  q = Transpose(b, Reshape(b, q, heads_shape(x)), {1, 0, 2});
  k = Transpose(b, Reshape(b, k, heads_shape(kv_in)), {1, 2, 0});
  v = Transpose(b, Reshape(b, v, heads_shape(kv_in)), {1, 0, 2});
  ir::Value* scores = b.Op("MatMul", {b.Op("Div", {q, testing::Scalar(b, "sqrt_d", 2.0f)}), k});
  if (mask) scores = b.Op("Add", {scores, mask});
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = Transpose(b, b.Op("MatMul", {probs, v}), {1, 0, 2});
  auto* merged = Reshape(b, ctx, Ints(b, {-1, D}));
  auto* proj = b.Op("Gemm", {merged, RandomInit(b, "out_w", {D, D}, seed + 4),
                             RandomInit(b, "out_b", {D}, seed + 5)});
  b.LastNode()->SetInt("transB", 1);
  return Reshape(b, proj, Concat(b, {DimOf(b, x, 0), DimOf(b, x, 1), Ints(b, {D})}));
}

ir::Value* CausalMask(ModelBuilder& b, ir::Value* x) {
  auto* fill = b.Op("ConstantOfShape", {Concat(b, {DimOf(b, x, 0), DimOf(b, x, 0)})});
  b.LastNode()->SetTensor("value", Tensor::FromVector<float>(
                                       DataType::kFloat, {1}, {-std::numeric_limits<float>::infinity()}));
  auto* upper = b.Op("Trilu", {fill, Int(b, 1)});
  b.LastNode()->SetInt("upper", 1);
  return b.Op("Unsqueeze", {upper, Ints(b, {0})});
}

std::unique_ptr<ir::Model> MakeSeqFirstDecoderLayer(bool mask_input) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kSeq, kBatch, N(D)});
  auto* memory = b.InputSymbolic("memory", DataType::kFloat, {kMem, kBatch, N(D)});
  ir::Value* mask = mask_input ? b.InputSymbolic("mask", DataType::kFloat, {kSeq, kSeq})
                               : CausalMask(b, x);
  auto* h = b.Op("Add", {x, SeqFirstAttention(b, x, x, mask, 31)});
  b.Output(b.Op("Add", {h, SeqFirstAttention(b, h, memory, nullptr, 41)}));
  return b.Build();
}

std::map<std::string, Tensor> DecoderFeeds(int64_t seq, int64_t batch, int64_t mem, bool mask) {
  std::map<std::string, Tensor> feeds = {{"x", RandomFloats({seq, batch, D}, 51)},
                                         {"memory", RandomFloats({mem, batch, D}, 52)}};
  if (mask) feeds["mask"] = RandomFloats({seq, seq}, 53);
  return feeds;
}

void ExpectDecoderMatches(const ir::Model& original, const ir::Model& fused) {
  for (const auto& dims : std::vector<std::map<std::string, int64_t>>{
           {{"batch", 2}, {"seq", 6}, {"mem", 4}}, {{"batch", 3}, {"seq", 5}, {"mem", 7}}}) {
    auto evaluator = MakeReferenceEvaluator();
    VerifyOptions options;
    options.dims = dims;
    auto result = evaluator->Verify(original, fused, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->passed) << result->message;
  }
}

TEST(SymbolicFusions, SeqFirstCausalSelfAndCrossAttention) {
  auto model = MakeSeqFirstDecoderLayer(false);
  auto original = ir::CloneModel(*model);
  RunFusion(*model, "fold_shape_arithmetic");
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["seq_first_self_attention"], 1);
  EXPECT_EQ(run.record.rule_counts["seq_first_cross_attention"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.MultiHeadAttention"), 1);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  // The causal Trilu mask became `unidirectional` and went with the attention.
  EXPECT_EQ(CountFused(*model, "Trilu"), 0);
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type() == "Attention") {
      EXPECT_EQ(n->GetInt("unidirectional", 0), 1);
    }
  }
  // Self: Transpose in, Attention, Transpose out, output MatMul + Add (5). Cross: Transposes of
  // the query and the memory, Q/K/V MatMuls, MultiHeadAttention, Transpose out, MatMul + Add
  // (9). The 2 residual Adds.
  EXPECT_EQ(model->graph->num_nodes(), 5u + 9u + 2u);
  ExpectDecoderMatches(*original, *model);
  // ONNX Runtime runs the fused operators with the same outputs.
  ExpectOrtParity(*model, DecoderFeeds(5, 3, 7, false));
}

TEST(SymbolicFusions, SeqFirstSelfAttentionWithFloatMaskInput) {
  auto model = MakeSeqFirstDecoderLayer(true);
  auto original = ir::CloneModel(*model);
  RunFusion(*model, "fold_shape_arithmetic");
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["seq_first_self_attention"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  // The (seq, seq) mask is Attention's attention_bias, unsqueezed to (1, 1, seq, seq).
  EXPECT_EQ(CountFused(*model, "Unsqueeze"), 1);
  ExpectDecoderMatches(*original, *model);
  ExpectOrtParity(*model, DecoderFeeds(5, 3, 7, true));
}

TEST(SymbolicFusions, SeqFirstAttentionNearMissSaysWhy) {
  // Softmax over the queries instead of the keys: no fusion, and the report says which check.
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kSeq, kBatch, N(D)});
  auto* memory = b.InputSymbolic("memory", DataType::kFloat, {kMem, kBatch, N(D)});
  b.Output(SeqFirstAttention(b, x, memory, nullptr, 61));
  auto model = b.Build();
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type() == "Softmax") n->SetInt("axis", 1);
  }
  RunFusion(*model, "fold_shape_arithmetic");
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(CountFused(*model, "Softmax"), 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.MultiHeadAttention"), 0);
  EXPECT_EQ(run.record.match_failures["seq_first_cross_attention: Softmax is not over keys"], 1);
}

// Swin (torchvision) window attention with a symbolic number of windows*batch: packed qkv
// reshaped to (B, N, 3, H, d), transposed to (3, B, H, N, d), split by Gather; relative
// position bias (1, H, N, N); the attention Dropout exported as training with ratio 0.
std::unique_ptr<ir::Model> MakeWindowAttention() {
  constexpr int64_t kTokens = 4;
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {kBatch, N(kTokens), N(D)});
  auto* qkv = b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "qkv_w", {D, 3 * D}, 71)}),
                           RandomInit(b, "qkv_b", {3 * D}, 72)});
  auto* heads = Transpose(
      b, Reshape(b, qkv, Concat(b, {DimOf(b, x, 0), Ints(b, {kTokens, 3, H, kHead})})),
      {2, 0, 3, 1, 4});
  auto part = [&](int64_t i) {
    auto* g = b.Op("Gather", {heads, Int(b, i)});
    b.LastNode()->SetInt("axis", 0);
    return g;
  };
  auto* q = b.Op("Mul", {part(0), testing::Scalar(b, "scale", 0.5f)});
  ir::Value* scores = b.Op("MatMul", {q, Transpose(b, part(1), {0, 1, 3, 2})});
  scores = b.Op("Add", {scores, RandomInit(b, "rel_pos_bias", {1, H, kTokens, kTokens}, 73)});
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* training = b.graph().NewInitializer(
      "training", Tensor::FromVector<uint8_t>(DataType::kBool, {}, {1}));
  auto* dropped = b.Op("Dropout", {probs, testing::Scalar(b, "ratio", 0.0f), training});
  auto* ctx = Transpose(b, b.Op("MatMul", {dropped, part(2)}), {0, 2, 1, 3});
  b.Output(Reshape(b, ctx, Concat(b, {DimOf(b, x, 0), Ints(b, {kTokens, D})})));
  return b.Build();
}

TEST(SymbolicFusions, SwinWindowAttentionWithRelativePositionBias) {
  auto model = MakeWindowAttention();
  auto original = ir::CloneModel(*model);
  RunFusion(*model, "fold_shape_arithmetic");
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
  // Everything is one Attention with the bias as its attention_bias input.
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  for (const auto& dims : std::vector<std::map<std::string, int64_t>>{{{"batch", 2}},
                                                                      {{"batch", 5}}}) {
    auto evaluator = MakeReferenceEvaluator();
    VerifyOptions options;
    options.dims = dims;
    auto result = evaluator->Verify(*original, *model, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->passed) << result->message;
  }
  ExpectOrtParity(*model, {{"x", RandomFloats({3, 4, D}, 74)}});
}

// Swin's shifted-window attention: the scores (B, H, N, N) of B = batch * nW windows are viewed
// as (B/nW, nW, H, N, N), a per-window mask (1, nW, 1, N, N) added, and viewed back. `tokens`
// is the graph input: (batch, nW*N*per_batch, C) reshaped to (-1, N, C), so B is
// batch*nW*per_batch, or the attention input itself (`direct`: B is a free symbol that nW need
// not divide). `mask_input` makes the mask a graph input instead of a constant.
struct ShiftedWindowCase {
  int64_t per_batch = 1;
  int64_t static_batch = 0;  // 0: symbolic `batch`
  bool direct = false;
  bool mask_input = false;
  bool rel_pos_bias = true;
  bool masked_row = false;  // window 1's row 0 masks every key
};
constexpr int64_t kWindows = 3, kWindowTokens = 4;

// Swin-like mask values: 0 inside a window's region, -100 across regions, per window; every row
// keeps some key unless `masked_row`.
Tensor WindowMask(bool masked_row = false) {
  std::vector<float> v;
  for (int64_t w = 0; w < kWindows; ++w)
    for (int64_t i = 0; i < kWindowTokens; ++i)
      for (int64_t j = 0; j < kWindowTokens; ++j)
        v.push_back((w * i + j + w) % 3 == 0 || (masked_row && w == 1 && i == 0) ? -100.0f : 0.0f);
  return Tensor::FromVector<float>(DataType::kFloat, {1, kWindows, 1, kWindowTokens, kWindowTokens},
                                   v);
}

std::unique_ptr<ir::Model> MakeShiftedWindowAttention(const ShiftedWindowCase& c) {
  constexpr int64_t n = kWindowTokens;
  ModelBuilder b(14);
  ir::Value* x = nullptr;
  if (c.direct) {
    x = b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "windows"}, N(n), N(D)});
  } else {
    auto* tokens = b.InputSymbolic(
        "tokens", DataType::kFloat,
        {c.static_batch ? N(c.static_batch) : kBatch, N(kWindows * n * c.per_batch), N(D)});
    x = Reshape(b, tokens, Ints(b, {-1, n, D}));
  }
  auto* qkv = b.Op("Add", {b.Op("MatMul", {x, RandomInit(b, "qkv_w", {D, 3 * D}, 81)}),
                           RandomInit(b, "qkv_b", {3 * D}, 82)});
  auto* heads = Transpose(b, Reshape(b, qkv, Ints(b, {-1, n, 3, H, kHead})), {2, 0, 3, 1, 4});
  auto part = [&](int64_t i) {
    auto* g = b.Op("Gather", {heads, Int(b, i)});
    b.LastNode()->SetInt("axis", 0);
    return g;
  };
  auto* q = b.Op("Mul", {part(0), testing::Scalar(b, "scale", 0.5f)});
  ir::Value* scores = b.Op("MatMul", {q, Transpose(b, part(1), {0, 1, 3, 2})});
  if (c.rel_pos_bias) {
    scores = b.Op("Add", {scores, RandomInit(b, "rel_pos_bias", {1, H, n, n}, 83)});
  }
  ir::Value* mask = c.mask_input ? b.InputSymbolic("mask", DataType::kFloat,
                                                   {N(1), N(kWindows), N(1), N(n), N(n)})
                                 : b.graph().NewInitializer("window_mask", WindowMask(c.masked_row));
  auto* viewed = Reshape(b, scores, Ints(b, {-1, kWindows, H, n, n}));
  scores = Reshape(b, b.Op("Add", {viewed, mask}), Ints(b, {-1, H, n, n}));
  auto* probs = b.Op("Softmax", {scores});
  b.LastNode()->SetInt("axis", -1);
  auto* ctx = Transpose(b, b.Op("MatMul", {probs, part(2)}), {0, 2, 1, 3});
  b.Output(Reshape(b, ctx, Ints(b, {-1, n, D})));
  return b.Build();
}

// The fused model equals the original at two batch sizes (verification's default tolerance,
// |a-b| <= 1e-4 + 1e-3|b|) and in ONNX Runtime.
void ExpectShiftedWindowEqual(const ir::Model& original, ir::Model& fused,
                              const std::string& batch_dim) {
  for (int64_t batch : {1, 3}) {
    auto evaluator = MakeReferenceEvaluator();
    VerifyOptions options;
    options.dims = {{batch_dim, batch}};
    auto result = evaluator->Verify(original, fused, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->passed) << "batch " << batch << ": " << result->message;
  }
}

TEST(SymbolicFusions, SwinShiftedWindowAttentionTilesTheMaskOverTheBatch) {
  auto model = MakeShiftedWindowAttention({});
  auto original = ir::CloneModel(*model);
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
  // tokens -> Reshape -> Attention, attention_bias = Tile(rel_pos_bias + mask, [batch, 1, 1, 1])
  // with batch read from the graph input: Shape, Gather, Concat.
  EXPECT_EQ(model->graph->num_nodes(), 6u);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  EXPECT_EQ(CountFused(*model, "Tile"), 1);
  EXPECT_EQ(CountFused(*model, "Div"), 0);
  EXPECT_EQ(CountFused(*model, "Softmax"), 0);
  ExpectShiftedWindowEqual(*original, *model, "batch");
  ExpectOrtParity(*model, {{"tokens", RandomFloats({2, kWindows * kWindowTokens, D}, 84)}});
}

TEST(SymbolicFusions, SwinShiftedWindowAttentionWithoutRelativePositionBias) {
  ShiftedWindowCase c;
  c.rel_pos_bias = false;
  auto model = MakeShiftedWindowAttention(c);
  auto original = ir::CloneModel(*model);
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
  ExpectShiftedWindowEqual(*original, *model, "batch");
}

// The -100 entries of rows that keep a key become -10000 in the attention_bias (exp gives 0, not
// a subnormal that slows the CPU down); a row that masks every key keeps its values, so its
// softmax stays the one over the relative position bias.
TEST(SymbolicFusions, SwinShiftedWindowAttentionHardensTheMaskOfRowsThatKeepAKey) {
  ShiftedWindowCase c;
  c.masked_row = true;
  auto model = MakeShiftedWindowAttention(c);
  auto original = ir::CloneModel(*model);
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
  EXPECT_EQ(model->graph->num_nodes(), 6u);
  ASSERT_EQ(CountFused(*model, "Tile"), 1);
  const Tensor* bias = nullptr;
  for (const auto& n : model->graph->nodes()) {
    if (n->op_type() == "Tile") bias = n->input(0)->initializer();
  }
  ASSERT_NE(bias, nullptr);
  ASSERT_EQ(bias->shape(), (Shape{kWindows, H, kWindowTokens, kWindowTokens}));
  const Tensor mask = WindowMask(true);
  const float* m = mask.data<float>();
  const float* v = bias->data<float>();
  int64_t hardened = 0;
  for (int64_t w = 0; w < kWindows; ++w)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < kWindowTokens; ++i)
        for (int64_t j = 0; j < kWindowTokens; ++j) {
          const float mv = m[(w * kWindowTokens + i) * kWindowTokens + j];
          const float bv = v[((w * H + h) * kWindowTokens + i) * kWindowTokens + j];
          SCOPED_TRACE(::testing::Message() << "w " << w << " h " << h << " i " << i << " j " << j);
          if (w == 1 && i == 0) {
            EXPECT_GT(bv, -101.0f);  // -100 + bias, as before
            EXPECT_LT(bv, -99.0f);
          } else if (mv < 0) {
            EXPECT_EQ(bv, -10000.0f);
            ++hardened;
          } else {
            EXPECT_GT(bv, -2.0f);  // the relative position bias alone
          }
        }
  EXPECT_GT(hardened, 0);
  ExpectShiftedWindowEqual(*original, *model, "batch");
  ExpectOrtParity(*model, {{"tokens", RandomFloats({2, kWindows * kWindowTokens, D}, 87)}});
}

// B = batch*nW*2: no graph input has B/nW = batch*2, so the repeats are Shape(x)[0] / nW.
TEST(SymbolicFusions, SwinShiftedWindowAttentionComputesTheRepeatsFromItsInput) {
  ShiftedWindowCase c;
  c.per_batch = 2;
  auto model = MakeShiftedWindowAttention(c);
  auto original = ir::CloneModel(*model);
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
  EXPECT_EQ(model->graph->num_nodes(), 7u);  // the 6 above and a Div
  EXPECT_EQ(CountFused(*model, "Div"), 1);
  EXPECT_EQ(CountFused(*model, "Tile"), 1);
  ExpectShiftedWindowEqual(*original, *model, "batch");
  ExpectOrtParity(*model, {{"tokens", RandomFloats({3, 2 * kWindows * kWindowTokens, D}, 85)}});
}

// With --dim the repeats are known: a constant for Tile, or no Tile at all for one batch.
TEST(SymbolicFusions, SwinShiftedWindowAttentionWithAStaticBatch) {
  for (int64_t batch : {1, 2}) {
    ShiftedWindowCase c;
    c.static_batch = batch;
    auto model = MakeShiftedWindowAttention(c);
    auto original = ir::CloneModel(*model);
    auto run = RunFusion(*model, "fuse_attention");
    EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 1);
    EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 1);
    EXPECT_EQ(CountFused(*model, "Tile"), batch == 1 ? 0 : 1);
    EXPECT_EQ(CountFused(*model, "Shape"), 0);
    EXPECT_EQ(model->graph->num_nodes(), batch == 1 ? 2u : 3u);
    EXPECT_EQ(CompareOutputs(*original, *model), "") << "batch " << batch;
    ExpectOrtParity(*model, {{"tokens", RandomFloats({batch, kWindows * kWindowTokens, D}, 86)}});
  }
}

// A free window count that nW need not divide, and a mask known only at run time: not fused.
TEST(SymbolicFusions, SwinShiftedWindowAttentionNearMisses) {
  ShiftedWindowCase direct;
  direct.direct = true;
  auto model = MakeShiftedWindowAttention(direct);
  const size_t before = model->graph->num_nodes();
  auto run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 0);
  EXPECT_EQ(model->graph->num_nodes(), before);
  EXPECT_EQ(run.record.match_failures["packed_heads_attention: shifted-window view is not "
                                      "(B/nW, nW, H, N, N) of the (B, H, N, N) scores"],
            1);

  ShiftedWindowCase computed;
  computed.mask_input = true;
  model = MakeShiftedWindowAttention(computed);
  run = RunFusion(*model, "fuse_attention");
  EXPECT_EQ(run.record.rule_counts["packed_heads_attention"], 0);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Attention"), 0);
  EXPECT_EQ(run.record.match_failures["packed_heads_attention: shifted-window mask is not a float "
                                      "constant"],
            1);
}

}  // namespace
}  // namespace graphopt
