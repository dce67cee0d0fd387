// Element-wise math kernels: arithmetic with broadcasting, unary math, variadic ops, Clip, bitwise.
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(ElementwiseKernels, AddBroadcastsRowVector) {
  auto r = RunOp("Add", 14, {F32({2, 3}, {1, 2, 3, 4, 5, 6}), F32({3}, {10, 20, 30})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST(ElementwiseKernels, MulBroadcastsColumnAgainstRow) {
  auto r = RunOp("Mul", 14, {F32({2, 1}, {2, 3}), F32({1, 3}, {1, 10, 100})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {2, 3}, {2, 20, 200, 3, 30, 300});
}

TEST(ElementwiseKernels, SubHigherRankBroadcastMatchesNaiveLoop) {
  const Tensor a = RandomFloats({2, 3, 4, 5}, 3);
  const Tensor b = RandomFloats({3, 1, 5}, 4);
  auto r = RunOp("Sub", 14, {a, b});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  std::vector<double> expected;
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w) {
          expected.push_back(a.data<float>()[((n * 3 + c) * 4 + h) * 5 + w] -
                             b.data<float>()[c * 5 + w]);
        }
  ExpectNear(r.outputs[0], {2, 3, 4, 5}, expected, 1e-6);
}

TEST(ElementwiseKernels, SubScalarInt32) {
  auto r = RunOp("Sub", 14, {I32({4}, {5, 6, 7, 8}), I32({}, {5})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.outputs[0].dtype(), DataType::kInt32);
  EXPECT_EQ(Values<int32_t>(r.outputs[0]), (std::vector<int32_t>{0, 1, 2, 3}));
}

TEST(ElementwiseKernels, AddFloat16ComputesInFloat) {
  const Tensor a = F32({3}, {0.5f, 1.25f, -2.0f}).CastTo(DataType::kFloat16);
  const Tensor b = F32({3}, {0.25f, 1.0f, 4.0f}).CastTo(DataType::kFloat16);
  auto r = RunOp("Add", 14, {a, b});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.outputs[0].dtype(), DataType::kFloat16);
  ExpectNear(r.outputs[0], {3}, {0.75, 2.25, 2.0});
}

TEST(ElementwiseKernels, IncompatibleShapesFail) {
  auto r = RunOp("Add", 14, {F32({2, 3}, {1, 2, 3, 4, 5, 6}), F32({2}, {1, 2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("broadcast"), std::string::npos) << r.status.message();
}

TEST(ElementwiseKernels, MixedTypesFail) {
  auto r = RunOp("Add", 14, {F32({1}, {1}), I64({1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, BoolArithmeticIsRejected) {
  auto r = RunOp("Add", 14, {Bools({1}, {1}), Bools({1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, IntegerDivTruncatesAndRejectsZero) {
  auto r = RunOp("Div", 14,
                 {I64({3}, {7, -7, std::numeric_limits<int64_t>::min()}), I64({3}, {-2, 2, -1})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Values<int64_t>(r.outputs[0]),
            (std::vector<int64_t>{-3, -3, std::numeric_limits<int64_t>::min()}));
  auto zero = RunOp("Div", 14, {I64({2}, {1, 2}), I64({2}, {1, 0})});
  EXPECT_EQ(zero.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, ModFollowsDivisorSignUnlessFmod) {
  auto r = RunOp("Mod", 13, {I32({4}, {-7, 7, -7, 7}), I32({4}, {3, -3, -3, 3})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(Values<int32_t>(r.outputs[0]), (std::vector<int32_t>{2, -2, -1, 1}));
  auto f = RunOp("Mod", 13, {F32({2}, {-7.5f, 7.5f}), F32({2}, {2, -2})},
                 [](ir::Node& n) { n.SetInt("fmod", 1); });
  ASSERT_TRUE(f.status.ok());
  ExpectNear(f.outputs[0], {2}, {-1.5, 1.5});
}

TEST(ElementwiseKernels, PowAcceptsIntegerExponent) {
  auto r = RunOp("Pow", 15, {F32({3}, {2, 3, 4}), I64({1}, {2})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.outputs[0].dtype(), DataType::kFloat);
  ExpectNear(r.outputs[0], {3}, {4, 9, 16});
  auto i = RunOp("Pow", 15, {I64({2}, {3, -2}), F32({2}, {3, 3})});
  ASSERT_TRUE(i.status.ok());
  EXPECT_EQ(Values<int64_t>(i.outputs[0]), (std::vector<int64_t>{27, -8}));
}

TEST(ElementwiseKernels, RoundHalvesToEven) {
  auto r = RunOp("Round", 11, {F32({6}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.6f})});
  ASSERT_TRUE(r.status.ok());
  ExpectNear(r.outputs[0], {6}, {0, 2, 2, 0, -2, 3});
}

TEST(ElementwiseKernels, UnaryMath) {
  auto abs = RunOp("Abs", 13, {Make<int8_t>(DataType::kInt8, {3}, {-3, 0, 4})});
  ASSERT_TRUE(abs.status.ok());
  EXPECT_EQ(Values<int8_t>(abs.outputs[0]), (std::vector<int8_t>{3, 0, 4}));
  auto sign = RunOp("Sign", 13, {F32({3}, {-2.5f, 0, 7})});
  ASSERT_TRUE(sign.status.ok());
  ExpectNear(sign.outputs[0], {3}, {-1, 0, 1});
  auto sqrt = RunOp("Sqrt", 13, {Make<double>(DataType::kDouble, {2}, {4, 2})});
  ASSERT_TRUE(sqrt.status.ok());
  ExpectNear(sqrt.outputs[0], {2}, {2, std::sqrt(2.0)}, 1e-12);
  auto neg = RunOp("Neg", 13, {I32({2}, {3, -4})});
  ASSERT_TRUE(neg.status.ok());
  EXPECT_EQ(Values<int32_t>(neg.outputs[0]), (std::vector<int32_t>{-3, 4}));
  auto recip = RunOp("Reciprocal", 13, {F32({2}, {4, -0.5f})});
  ExpectNear(recip.outputs[0], {2}, {0.25, -2});
  auto erf = RunOp("Erf", 13, {F32({2}, {0, 1})});
  ExpectNear(erf.outputs[0], {2}, {0, 0.8427007929}, 1e-6);
  // Transcendental functions are float-only.
  auto bad = RunOp("Exp", 13, {I64({1}, {1})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, VariadicMaxMinSumMeanBroadcast) {
  const Tensor a = F32({2, 2}, {1, 5, -3, 0});
  const Tensor b = F32({2}, {2, 2});
  const Tensor c = F32({}, {-1});
  auto max = RunOp("Max", 13, {a, b, c});
  ASSERT_TRUE(max.status.ok()) << max.status.ToString();
  ExpectNear(max.outputs[0], {2, 2}, {2, 5, 2, 2});
  auto min = RunOp("Min", 13, {a, b, c});
  ExpectNear(min.outputs[0], {2, 2}, {-1, -1, -3, -1});
  auto sum = RunOp("Sum", 13, {a, b, c});
  ExpectNear(sum.outputs[0], {2, 2}, {2, 6, -2, 1});
  auto mean = RunOp("Mean", 13, {a, b, c});
  ExpectNear(mean.outputs[0], {2, 2}, {2.0 / 3, 2, -2.0 / 3, 1.0 / 3});
  auto single = RunOp("Max", 13, {a});
  ExpectNear(single.outputs[0], {2, 2}, {1, 5, -3, 0});
}

TEST(ElementwiseKernels, MaxPropagatesNan) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto r = RunOp("Max", 13, {F32({2}, {nan, 1}), F32({2}, {0, nan})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_TRUE(std::isnan(r.outputs[0].data<float>()[0]));
  EXPECT_TRUE(std::isnan(r.outputs[0].data<float>()[1]));
}

TEST(ElementwiseKernels, ClipAttributeAndInputForms) {
  auto old = RunOp("Clip", 6, {F32({4}, {-2, -0.5f, 0.5f, 2})}, [](ir::Node& n) {
    n.SetFloat("min", -1);
    n.SetFloat("max", 1);
  });
  ASSERT_TRUE(old.status.ok());
  ExpectNear(old.outputs[0], {4}, {-1, -0.5, 0.5, 1});
  auto only_max = RunOp("Clip", 13, {F32({3}, {-5, 0, 5}), Tensor(), F32({}, {1})});
  ASSERT_TRUE(only_max.status.ok()) << only_max.status.ToString();
  ExpectNear(only_max.outputs[0], {3}, {-5, 0, 1});
  auto ints = RunOp("Clip", 13, {I64({3}, {-5, 0, 5}), I64({}, {-2}), I64({}, {3})});
  ASSERT_TRUE(ints.status.ok());
  EXPECT_EQ(Values<int64_t>(ints.outputs[0]), (std::vector<int64_t>{-2, 0, 3}));
  auto bad = RunOp("Clip", 13, {F32({1}, {0}), F32({2}, {0, 1})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, BitwiseAndShift) {
  auto andr = RunOp("BitwiseAnd", 18, {I32({2}, {0b1100, 7}), I32({2}, {0b1010, -1})});
  ASSERT_TRUE(andr.status.ok());
  EXPECT_EQ(Values<int32_t>(andr.outputs[0]), (std::vector<int32_t>{0b1000, 7}));
  auto notr = RunOp("BitwiseNot", 18, {Make<uint8_t>(DataType::kUint8, {2}, {0, 0x0f})});
  ASSERT_TRUE(notr.status.ok());
  EXPECT_EQ(Values<uint8_t>(notr.outputs[0]), (std::vector<uint8_t>{0xff, 0xf0}));
  const Tensor x = Make<uint8_t>(DataType::kUint8, {3}, {1, 0x80, 3});
  const Tensor s = Make<uint8_t>(DataType::kUint8, {3}, {3, 1, 8});
  auto left = RunOp("BitShift", 11, {x, s}, [](ir::Node& n) { n.SetString("direction", "LEFT"); });
  ASSERT_TRUE(left.status.ok());
  EXPECT_EQ(Values<uint8_t>(left.outputs[0]), (std::vector<uint8_t>{8, 0, 0}));
  auto right =
      RunOp("BitShift", 11, {x, s}, [](ir::Node& n) { n.SetString("direction", "RIGHT"); });
  EXPECT_EQ(Values<uint8_t>(right.outputs[0]), (std::vector<uint8_t>{0, 0x40, 0}));
  auto bad = RunOp("BitShift", 11, {x, s});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
  auto floats = RunOp("BitwiseOr", 18, {F32({1}, {1}), F32({1}, {1})});
  EXPECT_EQ(floats.status.code(), StatusCode::kInvalidArgument);
}

TEST(ElementwiseKernels, LegacyBroadcastAlignsAtAxis) {
  // Opset 6: B of shape [3] aligned with A's axis 1 of [3, 3... ] via broadcast=1, axis=0.
  auto r =
      RunOp("Add", 6, {F32({3, 2}, {1, 2, 3, 4, 5, 6}), F32({3}, {10, 20, 30})}, [](ir::Node& n) {
        n.SetInt("broadcast", 1);
        n.SetInt("axis", 0);
      });
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {3, 2}, {11, 12, 23, 24, 35, 36});
  auto strict = RunOp("Add", 6, {F32({3, 2}, {1, 2, 3, 4, 5, 6}), F32({2}, {1, 2})});
  EXPECT_EQ(strict.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
