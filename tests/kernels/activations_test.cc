// Activation kernels: the Relu family, sigmoids, Gelu, Shrink and the Softmax family's two axis
// conventions (flatten-to-2D before opset 13, single axis from 13).
#include <cmath>

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(ActivationKernels, ReluFamily) {
  const Tensor x = F32({4}, {-2, -0.5f, 0, 3});
  auto relu = RunOp("Relu", 14, {x});
  ASSERT_TRUE(relu.status.ok());
  ExpectNear(relu.outputs[0], {4}, {0, 0, 0, 3});
  auto leaky = RunOp("LeakyRelu", 16, {x}, [](ir::Node& n) { n.SetFloat("alpha", 0.1f); });
  ExpectNear(leaky.outputs[0], {4}, {-0.2, -0.05, 0, 3});
  auto elu = RunOp("Elu", 6, {x});
  ExpectNear(elu.outputs[0], {4}, {std::expm1(-2.0), std::expm1(-0.5), 0, 3});
  auto thr = RunOp("ThresholdedRelu", 10, {x}, [](ir::Node& n) { n.SetFloat("alpha", 2.5f); });
  ExpectNear(thr.outputs[0], {4}, {0, 0, 0, 3});
  auto selu = RunOp("Selu", 6, {x}, [](ir::Node& n) {
    n.SetFloat("alpha", 2);
    n.SetFloat("gamma", 3);
  });
  ExpectNear(selu.outputs[0], {4},
             {3 * (2 * std::exp(-2.0) - 2), 3 * (2 * std::exp(-0.5) - 2), 0, 9});
  auto celu = RunOp("Celu", 12, {x}, [](ir::Node& n) { n.SetFloat("alpha", 2); });
  ExpectNear(celu.outputs[0], {4}, {2 * std::expm1(-1.0), 2 * std::expm1(-0.25), 0, 3});
  auto int_relu = RunOp("Relu", 14, {I32({2}, {-4, 4})});
  ASSERT_TRUE(int_relu.status.ok());
  EXPECT_EQ(Values<int32_t>(int_relu.outputs[0]), (std::vector<int32_t>{0, 4}));
}

TEST(ActivationKernels, ReluFloatKeepsNanAndHandlesTail) {
  // 7 elements: one full SIMD block of 4 and a scalar tail of 3, NaN in both parts.
  const float nan = std::nanf("");
  auto r = RunOp("Relu", 14, {F32({7}, {-1, nan, 2, -0.5f, 3, nan, -4})});
  ASSERT_TRUE(r.status.ok());
  const auto y = Values<float>(r.outputs[0]);
  EXPECT_EQ(y[0], 0);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(y[2], 2);
  EXPECT_EQ(y[3], 0);
  EXPECT_EQ(y[4], 3);
  EXPECT_TRUE(std::isnan(y[5]));
  EXPECT_EQ(y[6], 0);
}

TEST(ActivationKernels, PReluBroadcastsSlope) {
  auto r = RunOp("PRelu", 16, {F32({2, 2}, {-1, 2, -3, 4}), F32({2}, {0.5f, 0.25f})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {2, 2}, {-0.5, 2, -1.5, 4});
  // The slope must broadcast to X, not widen it.
  auto bad = RunOp("PRelu", 16, {F32({2}, {-1, 2}), F32({2, 2}, {1, 1, 1, 1})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(ActivationKernels, Sigmoids) {
  const Tensor x = F32({3}, {-1000, 0, 2});
  auto sig = RunOp("Sigmoid", 13, {x});
  ASSERT_TRUE(sig.status.ok());
  ExpectNear(sig.outputs[0], {3}, {0, 0.5, 1 / (1 + std::exp(-2.0))});
  auto hard = RunOp("HardSigmoid", 6, {x});
  ExpectNear(hard.outputs[0], {3}, {0, 0.5, 0.9});
  auto swish = RunOp("HardSwish", 14, {F32({3}, {-4, 1, 4})});
  ExpectNear(swish.outputs[0], {3}, {0, 1 * (1.0 / 6 + 0.5), 4});
  auto softplus = RunOp("Softplus", 1, {F32({3}, {-1, 0, 100})});
  ExpectNear(softplus.outputs[0], {3}, {std::log1p(std::exp(-1.0)), std::log(2.0), 100}, 1e-4);
  auto softsign = RunOp("Softsign", 1, {F32({2}, {-3, 1})});
  ExpectNear(softsign.outputs[0], {2}, {-0.75, 0.5});
  auto tanh = RunOp("Tanh", 13, {F32({1}, {0.5f})});
  ExpectNear(tanh.outputs[0], {1}, {std::tanh(0.5)});
  auto mish = RunOp("Mish", 18, {F32({1}, {1})});
  ExpectNear(mish.outputs[0], {1}, {std::tanh(std::log1p(std::exp(1.0)))});
}

TEST(ActivationKernels, GeluExactAndTanh) {
  const Tensor x = F32({2}, {1, -0.5f});
  auto exact = RunOp("Gelu", 20, {x});
  ASSERT_TRUE(exact.status.ok());
  auto gelu = [](double v) { return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0))); };
  ExpectNear(exact.outputs[0], {2}, {gelu(1), gelu(-0.5)});
  auto approx = RunOp("Gelu", 20, {x}, [](ir::Node& n) { n.SetString("approximate", "tanh"); });
  auto gelu_tanh = [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  };
  ExpectNear(approx.outputs[0], {2}, {gelu_tanh(1), gelu_tanh(-0.5)});
  auto bad = RunOp("Gelu", 20, {x}, [](ir::Node& n) { n.SetString("approximate", "fast"); });
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(ActivationKernels, ShrinkOnFloatsAndInts) {
  auto f = RunOp("Shrink", 9, {F32({5}, {-2, -0.5f, 0, 0.5f, 2})}, [](ir::Node& n) {
    n.SetFloat("lambd", 1);
    n.SetFloat("bias", 0.5f);
  });
  ASSERT_TRUE(f.status.ok());
  ExpectNear(f.outputs[0], {5}, {-1.5, 0, 0, 0, 1.5});
  auto i =
      RunOp("Shrink", 9, {I32({3}, {-3, 1, 5})}, [](ir::Node& n) { n.SetFloat("lambd", 1.5f); });
  EXPECT_EQ(Values<int32_t>(i.outputs[0]), (std::vector<int32_t>{-3, 0, 5}));
}

TEST(ActivationKernels, SoftmaxSingleAxisFromOpset13) {
  // Softmax along axis 0 of a [2, 2]: each column normalizes separately.
  auto r =
      RunOp("Softmax", 13, {F32({2, 2}, {0, 1, 0, 3})}, [](ir::Node& n) { n.SetInt("axis", 0); });
  ASSERT_TRUE(r.status.ok());
  const double e2 = std::exp(2.0);
  ExpectNear(r.outputs[0], {2, 2}, {0.5, 1 / (1 + e2), 0.5, e2 / (1 + e2)});
  auto last = RunOp("Softmax", 13, {F32({1, 3}, {1, 1, 1})});
  ExpectNear(last.outputs[0], {1, 3}, {1.0 / 3, 1.0 / 3, 1.0 / 3});
}

TEST(ActivationKernels, SoftmaxBeforeOpset13FlattensFromAxis) {
  // [1, 2, 2] with the default axis 1: all four values form one row.
  auto r = RunOp("Softmax", 11, {F32({1, 2, 2}, {0, 0, 0, 0})});
  ASSERT_TRUE(r.status.ok());
  ExpectNear(r.outputs[0], {1, 2, 2}, {0.25, 0.25, 0.25, 0.25});
  auto log = RunOp("LogSoftmax", 11, {F32({1, 2, 2}, {0, 0, 0, 0})});
  ExpectNear(log.outputs[0], {1, 2, 2},
             {std::log(0.25), std::log(0.25), std::log(0.25), std::log(0.25)});
}

TEST(ActivationKernels, HardmaxPicksFirstMaximum) {
  auto r13 = RunOp("Hardmax", 13, {F32({2, 3}, {1, 3, 3, 5, 0, 1})});
  ASSERT_TRUE(r13.status.ok());
  ExpectNear(r13.outputs[0], {2, 3}, {0, 1, 0, 1, 0, 0});
  // Opset 11, axis 0: the whole [2, 3] is one row, a single 1 overall.
  auto r11 = RunOp("Hardmax", 11, {F32({2, 3}, {1, 3, 3, 5, 0, 1})},
                   [](ir::Node& n) { n.SetInt("axis", 0); });
  ExpectNear(r11.outputs[0], {2, 3}, {0, 0, 0, 1, 0, 0});
}

TEST(ActivationKernels, SoftmaxRejectsBadAxisAndInts) {
  auto axis =
      RunOp("Softmax", 13, {F32({2, 2}, {0, 0, 0, 0})}, [](ir::Node& n) { n.SetInt("axis", 2); });
  EXPECT_EQ(axis.status.code(), StatusCode::kInvalidArgument);
  auto ints = RunOp("Softmax", 13, {I32({2}, {0, 0})});
  EXPECT_EQ(ints.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
