// com.microsoft FusedConv, FusedGemm and FusedMatMul against Conv/Gemm/MatMul followed by the
// standard ops they absorb (activation, summand, transposes, scale).
#include <gtest/gtest.h>

#include <functional>

#include "contrib_kernels/contrib_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Node;
using ir::Value;

// Sets Conv geometry on a Conv or FusedConv node.
void SetConvGeometry(Node* n) {
  n->SetInts("pads", {1, 0, 1, 2});
  n->SetInts("strides", {2, 1});
  n->SetInt("group", 2);
}

struct ConvCase {
  const char* activation;                                 // "" for none
  std::vector<float> params;                              // activation_params
  std::function<Value*(ModelBuilder&, Value*)> standard;  // the activation in standard ops
};

TEST(ContribFusedConv, ActivationsMatchConvThenActivation) {
  const std::vector<ConvCase> cases = {
      {"", {}, [](ModelBuilder&, Value* y) { return y; }},
      {"Relu", {}, [](ModelBuilder& b, Value* y) { return b.Op("Relu", {y}); }},
      {"Sigmoid", {}, [](ModelBuilder& b, Value* y) { return b.Op("Sigmoid", {y}); }},
      {"Tanh", {}, [](ModelBuilder& b, Value* y) { return b.Op("Tanh", {y}); }},
      {"LeakyRelu",
       {0.2f},
       [](ModelBuilder& b, Value* y) {
         Value* out = b.Op("LeakyRelu", {y});
         b.LastNode()->SetFloat("alpha", 0.2f);
         return out;
       }},
      {"Clip",
       {-0.5f, 0.25f},
       [](ModelBuilder& b, Value* y) {
         return b.Op("Clip", {y, b.Floats("lo", {}, {-0.5f}), b.Floats("hi", {}, {0.25f})});
       }},
      {"HardSigmoid",
       {0.3f, 0.4f},
       [](ModelBuilder& b, Value* y) {
         Value* out = b.Op("HardSigmoid", {y});
         b.LastNode()->SetFloat("alpha", 0.3f);
         b.LastNode()->SetFloat("beta", 0.4f);
         return out;
       }},
  };
  const Tensor w = RandomFloats({6, 2, 3, 3}, 11), bias = RandomFloats({6}, 12);
  for (const ConvCase& c : cases) {
    SCOPED_TRACE(c.activation);
    ModelBuilder fused = ContribBuilder(), composed(17);
    Value* y = fused.Op("FusedConv",
                        {fused.Input("x", DataType::kFloat, {2, 4, 7, 6}), fused.Init("w", w),
                         fused.Init("b", bias)},
                        kMs);
    SetConvGeometry(fused.LastNode());
    if (*c.activation) fused.LastNode()->SetString("activation", c.activation);
    if (!c.params.empty()) fused.LastNode()->SetFloats("activation_params", c.params);
    fused.Output(y);
    Value* conv = composed.Op("Conv", {composed.Input("x", DataType::kFloat, {2, 4, 7, 6}),
                                       composed.Init("w", w), composed.Init("b", bias)});
    SetConvGeometry(composed.LastNode());
    composed.Output(c.standard(composed, conv));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribFusedConv, SumInputZIsAddedBeforeTheActivation) {
  const Tensor w = RandomFloats({4, 3, 1, 1}, 5);
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(fused.Op("FusedConv",
                        {fused.Input("x", DataType::kFloat, {1, 3, 5, 5}), fused.Init("w", w),
                         nullptr, fused.Input("z", DataType::kFloat, {1, 4, 5, 5})},
                        kMs));
  fused.LastNode()->SetString("activation", "Relu");
  Value* conv = composed.Op(
      "Conv", {composed.Input("x", DataType::kFloat, {1, 3, 5, 5}), composed.Init("w", w)});
  Value* sum = composed.Op("Add", {conv, composed.Input("z", DataType::kFloat, {1, 4, 5, 5})});
  composed.Output(composed.Op("Relu", {sum}));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribFusedConv, RejectsMissingActivationParamsAndUnknownActivations) {
  for (const char* activation : {"LeakyRelu", "Gelu"}) {
    SCOPED_TRACE(activation);
    ModelBuilder b = ContribBuilder();
    b.Output(b.Op(
        "FusedConv",
        {b.Input("x", DataType::kFloat, {1, 1, 3, 3}), b.Init("w", RandomFloats({1, 1, 1, 1}))},
        kMs));
    b.LastNode()->SetString("activation", activation);
    EXPECT_NE(RunError(*b.Build(), {{"x", RandomFloats({1, 1, 3, 3})}}), "");
  }
}

TEST(ContribFusedGemm, MatchesGemmThenActivation) {
  const Tensor w = RandomFloats({5, 6}, 21), c = RandomFloats({5}, 22);
  struct Case {
    const char* activation;
    float alpha, beta;
    std::function<Value*(ModelBuilder&, Value*)> standard;
  };
  const std::vector<Case> cases = {
      {"Relu", 0, 0, [](ModelBuilder& b, Value* y) { return b.Op("Relu", {y}); }},
      {"LeakyRelu", 0.1f, 0,
       [](ModelBuilder& b, Value* y) {
         Value* o = b.Op("LeakyRelu", {y});
         b.LastNode()->SetFloat("alpha", 0.1f);
         return o;
       }},
      {"HardSigmoid", 0.25f, 0.6f,
       [](ModelBuilder& b, Value* y) {
         Value* o = b.Op("HardSigmoid", {y});
         b.LastNode()->SetFloat("alpha", 0.25f);
         b.LastNode()->SetFloat("beta", 0.6f);
         return o;
       }},
      {"Elu", 0.7f, 0,
       [](ModelBuilder& b, Value* y) {
         Value* o = b.Op("Elu", {y});
         b.LastNode()->SetFloat("alpha", 0.7f);
         return o;
       }},
      {"Tanh", 0, 0, [](ModelBuilder& b, Value* y) { return b.Op("Tanh", {y}); }},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.activation);
    ModelBuilder fused = ContribBuilder(), composed(17);
    auto gemm_attrs = [](Node* n) {
      n->SetInt("transB", 1);
      n->SetFloat("alpha", 0.5f);
      n->SetFloat("beta", 2.0f);
    };
    fused.Output(fused.Op(
        "FusedGemm",
        {fused.Input("a", DataType::kFloat, {3, 6}), fused.Init("w", w), fused.Init("c", c)}, kMs));
    gemm_attrs(fused.LastNode());
    fused.LastNode()->SetString("activation", k.activation);
    if (k.alpha != 0) fused.LastNode()->SetFloat("activation_alpha", k.alpha);
    if (k.beta != 0) fused.LastNode()->SetFloat("activation_beta", k.beta);
    Value* g = composed.Op("Gemm", {composed.Input("a", DataType::kFloat, {3, 6}),
                                    composed.Init("w", w), composed.Init("c", c)});
    gemm_attrs(composed.LastNode());
    composed.Output(k.standard(composed, g));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribFusedGemm, ActivationParameterIsRequired) {
  ModelBuilder b = ContribBuilder();
  b.Output(b.Op("FusedGemm",
                {b.Input("a", DataType::kFloat, {2, 3}), b.Init("w", RandomFloats({3, 2}))}, kMs));
  b.LastNode()->SetString("activation", "LeakyRelu");
  EXPECT_NE(RunError(*b.Build(), {{"a", RandomFloats({2, 3})}}), "");
}

// FusedMatMul(A, B) with every attribute against Transpose/MatMul/Mul.
TEST(ContribFusedMatMul, TransposesAndScaleMatchStandardOps) {
  struct Case {
    bool trans_a, trans_b, batch_a, batch_b;
    float alpha;
  };
  for (const Case& k :
       {Case{false, false, false, false, 1.0f}, Case{true, false, false, false, 0.125f},
        Case{false, true, false, false, 2.0f}, Case{true, true, false, false, 1.0f},
        Case{false, false, true, false, 1.0f}, Case{false, true, false, true, 0.5f},
        Case{true, false, true, true, 3.0f}}) {
    SCOPED_TRACE(::testing::Message()
                 << k.trans_a << k.trans_b << k.batch_a << k.batch_b << " " << k.alpha);
    // Logical A is (2, 3, 4, 5) and B is (2, 3, 5, 6); the stored layouts undo the attributes.
    auto stored = [](Shape logical, bool batch, bool trans) {
      if (trans) std::swap(logical[2], logical[3]);  // inverse of swapping the last two axes
      if (batch) logical = {logical[2], logical[0], logical[1], logical[3]};  // inverse rotation
      return logical;
    };
    // perm taking the stored layout back to the logical one, as FusedMatMul does.
    auto perm = [](bool batch, bool trans) {
      std::vector<int64_t> p = {0, 1, 2, 3};
      if (batch) p = {1, 2, 0, 3};
      if (trans) std::swap(p[2], p[3]);
      return p;
    };
    const Shape a_shape = stored({2, 3, 4, 5}, k.batch_a, k.trans_a);
    const Shape b_shape = stored({2, 3, 5, 6}, k.batch_b, k.trans_b);
    ModelBuilder fused = ContribBuilder(), composed(17);
    fused.Output(fused.Op(
        "FusedMatMul",
        {fused.Input("a", DataType::kFloat, a_shape), fused.Input("b", DataType::kFloat, b_shape)},
        kMs));
    Node* n = fused.LastNode();
    n->SetInt("transA", k.trans_a);
    n->SetInt("transB", k.trans_b);
    n->SetInt("transBatchA", k.batch_a);
    n->SetInt("transBatchB", k.batch_b);
    n->SetFloat("alpha", k.alpha);
    Value* a = composed.Op("Transpose", {composed.Input("a", DataType::kFloat, a_shape)});
    composed.LastNode()->SetInts("perm", perm(k.batch_a, k.trans_a));
    Value* b = composed.Op("Transpose", {composed.Input("b", DataType::kFloat, b_shape)});
    composed.LastNode()->SetInts("perm", perm(k.batch_b, k.trans_b));
    Value* product = composed.Op("MatMul", {a, b});
    composed.Output(composed.Op("Mul", {product, composed.Floats("alpha", {}, {k.alpha})}));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribFusedMatMul, TransBatchNeedsRankThree) {
  ModelBuilder b = ContribBuilder();
  b.Output(b.Op("FusedMatMul",
                {b.Input("a", DataType::kFloat, {2, 3}), b.Input("b", DataType::kFloat, {3, 2})},
                kMs));
  b.LastNode()->SetInt("transBatchA", 1);
  EXPECT_NE(RunError(*b.Build(), {{"a", RandomFloats({2, 3})}, {"b", RandomFloats({3, 2}, 2)}}),
            "");
}

}  // namespace
}  // namespace graphopt::testing
