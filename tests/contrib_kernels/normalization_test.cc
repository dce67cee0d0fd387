// ONNX Runtime's normalization fusions against their standard-op forms: SkipLayerNormalization,
// SkipSimplifiedLayerNormalization, SimplifiedLayerNormalization, the opset<17 default-domain
// LayerNormalization and EmbedLayerNormalization (with its optional inputs and outputs).
#include <gtest/gtest.h>

#include "contrib_kernels/contrib_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Node;
using ir::Value;

// LayerNormalization-17 over the last axis with all three outputs; returns the node.
Node* LayerNorm17(ModelBuilder& b, Value* x, Value* gamma, Value* beta, float epsilon) {
  Node* n = b.graph().AddNode("LayerNormalization", {x, gamma, beta}, 3, "ln");
  n->SetFloat("epsilon", epsilon);
  n->SetInt("axis", -1);
  return n;
}

// x / sqrt(mean(x^2) + eps) * gamma over the last axis; also returns 1/rms via `inv_rms`.
Value* RmsNorm(ModelBuilder& b, Value* x, Value* gamma, float epsilon, Value** inv_rms = nullptr) {
  Value* sq = b.Op("Mul", {x, x});
  Value* mean = b.Op("ReduceMean", {sq});
  b.LastNode()->SetInts("axes", {-1});
  Value* rms = b.Op("Sqrt", {b.Op("Add", {mean, b.Floats("eps", {}, {epsilon})})});
  Value* inv = b.Op("Reciprocal", {rms});
  if (inv_rms) *inv_rms = inv;
  return b.Op("Mul", {b.Op("Mul", {x, inv}), gamma});
}

TEST(ContribNormalization, SkipLayerNormalizationAllOutputs) {
  const Tensor gamma = RandomFloats({16}, 1), beta = RandomFloats({16}, 2),
               bias = RandomFloats({16}, 3);
  for (bool with_bias : {false, true}) {
    SCOPED_TRACE(with_bias ? "bias" : "no bias");
    ModelBuilder fused = ContribBuilder(), composed(17);
    std::vector<Value*> in = {fused.Input("x", DataType::kFloat, {2, 5, 16}),
                              fused.Input("skip", DataType::kFloat, {2, 5, 16}),
                              fused.Init("gamma", gamma), fused.Init("beta", beta)};
    if (with_bias) in.push_back(fused.Init("bias", bias));
    Node* n = AddNode(fused, "SkipLayerNormalization", in, 4);
    n->SetFloat("epsilon", 1e-5f);
    for (Value* v : n->outputs()) fused.Output(v);

    Value* sum = composed.Op("Add", {composed.Input("x", DataType::kFloat, {2, 5, 16}),
                                     composed.Input("skip", DataType::kFloat, {2, 5, 16})});
    if (with_bias) sum = composed.Op("Add", {sum, composed.Init("bias", bias)});
    Node* ln = LayerNorm17(composed, sum, composed.Init("gamma", gamma),
                           composed.Init("beta", beta), 1e-5f);
    for (Value* v : ln->outputs()) composed.Output(v);
    composed.Output(sum);
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribNormalization, SkipLayerNormalizationBroadcastsSkipOverBatch) {
  const Tensor gamma = RandomFloats({8}, 4), skip = RandomFloats({3, 8}, 5);
  for (Shape skip_shape : {Shape{3, 8}, Shape{1, 3, 8}}) {
    ModelBuilder fused = ContribBuilder(), composed(17);
    Node* n = AddNode(fused, "SkipLayerNormalization",
                      {fused.Input("x", DataType::kFloat, {2, 3, 8}),
                       fused.Init("skip", skip.Reshaped(skip_shape)), fused.Init("gamma", gamma)});
    n->SetFloat("epsilon", 1e-6f);
    fused.Output(n->output(0));
    Value* sum = composed.Op(
        "Add", {composed.Input("x", DataType::kFloat, {2, 3, 8}), composed.Init("skip", skip)});
    Node* ln = composed.graph().AddNode("LayerNormalization", {sum, composed.Init("gamma", gamma)},
                                        1, "ln");
    ln->SetFloat("epsilon", 1e-6f);
    composed.Output(ln->output(0));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribNormalization, SkipLayerNormalizationRejectsMismatchedSkip) {
  ModelBuilder b = ContribBuilder();
  Node* n = AddNode(b, "SkipLayerNormalization",
                    {b.Input("x", DataType::kFloat, {2, 3, 8}),
                     b.Init("skip", RandomFloats({2, 8})), b.Init("gamma", RandomFloats({8}))});
  b.Output(n->output(0));
  EXPECT_NE(RunError(*b.Build(), {{"x", RandomFloats({2, 3, 8})}}), "");
}

TEST(ContribNormalization, SkipSimplifiedLayerNormalizationMatchesRmsNorm) {
  const Tensor gamma = RandomFloats({12}, 6), bias = RandomFloats({12}, 7);
  ModelBuilder fused = ContribBuilder(), composed(17);
  Node* n = AddNode(fused, "SkipSimplifiedLayerNormalization",
                    {fused.Input("x", DataType::kFloat, {2, 4, 12}),
                     fused.Input("skip", DataType::kFloat, {2, 4, 12}), fused.Init("gamma", gamma),
                     fused.Init("bias", bias)},
                    4);
  n->SetFloat("epsilon", 1e-6f);
  fused.Output(n->output(0));
  fused.Output(n->output(2));
  fused.Output(n->output(3));
  Value* sum = composed.Op("Add", {composed.Input("x", DataType::kFloat, {2, 4, 12}),
                                   composed.Input("skip", DataType::kFloat, {2, 4, 12})});
  sum = composed.Op("Add", {sum, composed.Init("bias", bias)});
  Value* inv = nullptr;
  composed.Output(RmsNorm(composed, sum, composed.Init("gamma", gamma), 1e-6f, &inv));
  composed.Output(inv);
  composed.Output(sum);
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribNormalization, SimplifiedLayerNormalizationWithInvStdVar) {
  const Tensor gamma = RandomFloats({10}, 8);
  for (int64_t opset : {14, 17}) {
    SCOPED_TRACE(opset);
    ModelBuilder fused(opset), composed(17);
    Node* n = fused.graph().AddNode(
        "SimplifiedLayerNormalization",
        {fused.Input("x", DataType::kFloat, {3, 10}), fused.Init("g", gamma)}, 2, "sln");
    n->SetFloat("epsilon", 1e-5f);
    fused.Output(n->output(0));
    fused.Output(n->output(1));
    Value* inv = nullptr;
    composed.Output(RmsNorm(composed, composed.Input("x", DataType::kFloat, {3, 10}),
                            composed.Init("g", gamma), 1e-5f, &inv));
    composed.Output(inv);
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribNormalization, DefaultDomainLayerNormalizationBeforeOpset17) {
  // ONNX Runtime registers LayerNormalization in the default domain for opsets 1-16.
  const Tensor gamma = RandomFloats({6}, 9), beta = RandomFloats({6}, 10);
  ModelBuilder legacy(14), standard(17);
  for (ModelBuilder* b : {&legacy, &standard}) {
    Node* n = LayerNorm17(*b, b->Input("x", DataType::kFloat, {4, 6}), b->Init("g", gamma),
                          b->Init("b", beta), 1e-5f);
    for (Value* v : n->outputs()) b->Output(v);
  }
  EXPECT_EQ(CompareOutputs(*legacy.Build(), *standard.Build()), "");
}

// Word/position/segment tables and the standard-op EmbedLayerNormalization.
struct EmbedTables {
  Tensor word = RandomFloats({20, 8}, 31), position = RandomFloats({6, 8}, 32),
         segment = RandomFloats({2, 8}, 33), gamma = RandomFloats({8}, 34),
         beta = RandomFloats({8}, 35);
  Tensor ids = Tensor::FromVector<int32_t>(DataType::kInt32, {2, 4}, {1, 5, 19, 0, 7, 7, 3, 12});
  Tensor segments = Tensor::FromVector<int32_t>(DataType::kInt32, {2, 4}, {0, 0, 1, 1, 0, 1, 1, 1});
  Tensor mask = Tensor::FromVector<int32_t>(DataType::kInt32, {2, 4}, {1, 1, 1, 0, 1, 1, 0, 0});
  Tensor positions = Tensor::FromVector<int32_t>(DataType::kInt32, {1, 4}, {5, 4, 3, 2});
};

TEST(ContribNormalization, EmbedLayerNormalizationAllInputsAndOutputs) {
  EmbedTables t;
  for (bool explicit_positions : {false, true}) {
    SCOPED_TRACE(explicit_positions ? "position_ids" : "implicit positions");
    ModelBuilder fused = ContribBuilder(), composed(17);
    std::vector<Value*> in = {fused.Init("ids", t.ids),        fused.Init("seg", t.segments),
                              fused.Init("word", t.word),      fused.Init("pos", t.position),
                              fused.Init("segemb", t.segment), fused.Init("gamma", t.gamma),
                              fused.Init("beta", t.beta),      fused.Init("mask", t.mask)};
    if (explicit_positions) in.push_back(fused.Init("pids", t.positions));
    Node* n = AddNode(fused, "EmbedLayerNormalization", in, 3);
    n->SetFloat("epsilon", 1e-5f);
    for (Value* v : n->outputs()) fused.Output(v);
    // Also a graph input so both models take the same (unused) input.
    fused.Output(fused.Op("Identity", {fused.Input("x", DataType::kFloat, {1})}));

    auto gather = [&](Value* table, Value* ids) { return composed.Op("Gather", {table, ids}); };
    Value* word = gather(composed.Init("word", t.word), composed.Init("ids", t.ids));
    Value* pids = explicit_positions
                      ? composed.Init("pids", t.positions)
                      : composed.Init("pids", Tensor::FromVector<int32_t>(DataType::kInt32, {1, 4},
                                                                          {0, 1, 2, 3}));
    Value* pos = gather(composed.Init("pos", t.position), pids);
    Value* seg = gather(composed.Init("segemb", t.segment), composed.Init("seg", t.segments));
    Value* sum = composed.Op("Add", {composed.Op("Add", {word, pos}), seg});
    Node* ln = LayerNorm17(composed, sum, composed.Init("gamma", t.gamma),
                           composed.Init("beta", t.beta), 1e-5f);
    composed.Output(ln->output(0));
    Value* count =
        composed.Op("ReduceSum", {composed.Init("mask", t.mask), composed.Ints("axes", {1})});
    composed.LastNode()->SetInt("keepdims", 0);
    composed.Output(count);
    composed.Output(sum);
    composed.Output(composed.Op("Identity", {composed.Input("x", DataType::kFloat, {1})}));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribNormalization, EmbedLayerNormalizationWithoutSegmentOrMask) {
  EmbedTables t;
  ModelBuilder b = ContribBuilder();
  Node* n =
      AddNode(b, "EmbedLayerNormalization",
              {b.Init("ids", t.ids), nullptr, b.Init("word", t.word), b.Init("pos", t.position),
               nullptr, b.Init("gamma", t.gamma), b.Init("beta", t.beta)},
              2);
  b.Output(n->output(0));
  b.Output(n->output(1));
  auto out = RunModel(*b.Build(), {});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].shape(), (Shape{2, 4, 8}));
  // Without a mask, mask_index is all zeros.
  EXPECT_EQ(out[1].ToInt64Vector(), (std::vector<int64_t>{0, 0}));
  // Each token's output is normalized: mean ~ beta's mean after scaling, so check one row's
  // statistics directly against the standard formula.
  double mean = 0;
  for (int h = 0; h < 8; ++h)
    mean += (out[0].GetDouble(h) - t.beta.GetDouble(h)) / t.gamma.GetDouble(h);
  EXPECT_NEAR(mean / 8, 0.0, 1e-5);
}

TEST(ContribNormalization, EmbedLayerNormalizationRejectsOutOfRangeIds) {
  EmbedTables t;
  ModelBuilder b = ContribBuilder();
  Node* n = AddNode(b, "EmbedLayerNormalization",
                    {b.Init("ids", Tensor::FromVector<int32_t>(DataType::kInt32, {1, 2}, {3, 20})),
                     nullptr, b.Init("word", t.word), b.Init("pos", t.position), nullptr,
                     b.Init("gamma", t.gamma), b.Init("beta", t.beta)});
  b.Output(n->output(0));
  EXPECT_NE(RunError(*b.Build(), {}), "");
}

}  // namespace
}  // namespace graphopt::testing
