// com.microsoft Gelu, FastGelu, BiasGelu and QuickGelu against the standard-op forms they fuse.
#include <gtest/gtest.h>

#include <cmath>

#include "contrib_kernels/contrib_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Value;

// 0.5 * x * (1 + erf(x / sqrt(2))) in standard ops.
Value* ErfGelu(ModelBuilder& b, Value* x) {
  Value* scaled = b.Op("Div", {x, b.Floats("sqrt2", {}, {1.41421356f})});
  Value* erf = b.Op("Erf", {scaled});
  Value* one_plus = b.Op("Add", {erf, b.Floats("one", {}, {1.0f})});
  Value* times_x = b.Op("Mul", {x, one_plus});
  return b.Op("Mul", {times_x, b.Floats("half", {}, {0.5f})});
}

// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))).
Value* TanhGelu(ModelBuilder& b, Value* x) {
  Value* cube = b.Op("Pow", {x, b.Floats("three", {}, {3.0f})});
  Value* inner = b.Op("Add", {x, b.Op("Mul", {cube, b.Floats("c", {}, {0.044715f})})});
  Value* t = b.Op("Tanh", {b.Op("Mul", {inner, b.Floats("k", {}, {0.7978845608f})})});
  Value* one_plus = b.Op("Add", {t, b.Floats("one", {}, {1.0f})});
  return b.Op("Mul", {b.Op("Mul", {x, one_plus}), b.Floats("half", {}, {0.5f})});
}

TEST(ContribGelu, GeluMatchesErfForm) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(fused.Op("Gelu", {fused.Input("x", DataType::kFloat, {2, 3, 8})}, kMs));
  composed.Output(ErfGelu(composed, composed.Input("x", DataType::kFloat, {2, 3, 8})));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribGelu, GeluKnownValues) {
  ModelBuilder b = ContribBuilder();
  b.Output(b.Op("Gelu", {b.Input("x", DataType::kFloat, {3})}, kMs));
  auto out =
      RunModel(*b.Build(), {{"x", Tensor::FromVector<float>(DataType::kFloat, {3}, {-1, 0, 2})}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NEAR(out[0].GetDouble(0), -0.158655254, 1e-6);
  EXPECT_NEAR(out[0].GetDouble(1), 0.0, 1e-7);
  EXPECT_NEAR(out[0].GetDouble(2), 1.954499736, 1e-6);
}

TEST(ContribGelu, FastGeluWithAndWithoutBiasMatchesTanhForm) {
  for (bool with_bias : {false, true}) {
    SCOPED_TRACE(with_bias ? "bias" : "no bias");
    ModelBuilder fused = ContribBuilder(), composed(17);
    const Tensor bias = RandomFloats({8}, 7);
    Value* fx = fused.Input("x", DataType::kFloat, {2, 4, 8});
    Value* cx = composed.Input("x", DataType::kFloat, {2, 4, 8});
    if (with_bias) {
      fused.Output(fused.Op("FastGelu", {fx, fused.Init("bias", bias)}, kMs));
      composed.Output(TanhGelu(composed, composed.Op("Add", {cx, composed.Init("bias", bias)})));
    } else {
      fused.Output(fused.Op("FastGelu", {fx}, kMs));
      composed.Output(TanhGelu(composed, cx));
    }
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribGelu, FastGeluIsNotTheErfForm) {
  // The tanh approximation differs from erf GELU by up to ~1e-3: the comparison must notice.
  ModelBuilder fast = ContribBuilder(), exact = ContribBuilder();
  fast.Output(fast.Op("FastGelu", {fast.Input("x", DataType::kFloat, {64})}, kMs));
  exact.Output(exact.Op("Gelu", {exact.Input("x", DataType::kFloat, {64})}, kMs));
  const Tensor x = Tensor::FromVector<float>(DataType::kFloat, {64}, std::vector<float>(64, -2.5f));
  auto a = RunModel(*fast.Build(), {{"x", x}});
  auto b = RunModel(*exact.Build(), {{"x", x}});
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_GT(MaxAbsDiff(a[0], b[0]), 1e-4);
}

TEST(ContribGelu, BiasGeluMatchesAddThenGelu) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  const Tensor bias = RandomFloats({16}, 3);
  fused.Output(fused.Op("BiasGelu",
                        {fused.Input("a", DataType::kFloat, {3, 16}), fused.Init("b", bias)}, kMs));
  Value* a = composed.Input("a", DataType::kFloat, {3, 16});
  composed.Output(ErfGelu(composed, composed.Op("Add", {a, composed.Init("b", bias)})));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

TEST(ContribGelu, QuickGeluDefaultAndCustomAlpha) {
  for (float alpha : {1.702f, 1.0f}) {
    SCOPED_TRACE(alpha);
    ModelBuilder fused = ContribBuilder(), composed(17);
    fused.Output(fused.Op("QuickGelu", {fused.Input("x", DataType::kFloat, {4, 8})}, kMs));
    if (alpha != 1.702f) fused.LastNode()->SetFloat("alpha", alpha);
    Value* x = composed.Input("x", DataType::kFloat, {4, 8});
    Value* s =
        composed.Op("Sigmoid", {composed.Op("Mul", {x, composed.Floats("alpha", {}, {alpha})})});
    composed.Output(composed.Op("Mul", {x, s}));
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribGelu, QuickGeluAlphaMatters) {
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(fused.Op("QuickGelu", {fused.Input("x", DataType::kFloat, {4, 8})}, kMs));
  fused.LastNode()->SetFloat("alpha", 1.0f);
  Value* x = composed.Input("x", DataType::kFloat, {4, 8});
  Value* s =
      composed.Op("Sigmoid", {composed.Op("Mul", {x, composed.Floats("alpha", {}, {1.702f})})});
  composed.Output(composed.Op("Mul", {x, s}));
  EXPECT_NE(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

}  // namespace
}  // namespace graphopt::testing
