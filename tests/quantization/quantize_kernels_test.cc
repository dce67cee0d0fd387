// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear on the reference executor against
// values worked out by hand from the ONNX formulas: round half to even, saturation, per-axis
// and blocked parameters, 16-bit types, and the errors a malformed node gets.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using ir::Value;

Tensor Floats(const Shape& s, const std::vector<float>& v) {
  return Tensor::FromVector<float>(DataType::kFloat, s, v);
}
template <typename T>
Tensor Typed(DataType t, const Shape& s, const std::vector<T>& v) {
  return Tensor::FromVector<T>(t, s, v);
}
template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.size());
}

// Runs a one-output graph on `x`; fails the test when the run fails.
Result<std::vector<Tensor>> RunGraph(ir::Model& m, const Tensor& x) {
  reference::Executor exec(m);
  return exec.Run({{"x", x}});
}

struct QuantizeCase {
  ModelBuilder b{21};
  Value* x;
  ir::Node* node;
  QuantizeCase(const std::string& op, const Tensor& x_value, std::vector<Tensor> params) {
    x = b.Input("x", x_value.dtype(), x_value.shape());
    std::vector<Value*> in = {x};
    for (size_t i = 0; i < params.size(); ++i) {
      in.push_back(b.Init("p" + std::to_string(i), params[i]));
    }
    b.Output(b.Op(op, in));
    node = b.LastNode();
  }
};

TEST(QuantizeLinear, RoundsHalfToEvenThenAddsZeroPointAndSaturates) {
  // x / 0.5: -2.5 -> -2, -1.5 -> -2, 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4; then + 128.
  const Tensor x = Floats({8}, {-1.25f, -0.75f, 0.25f, 0.75f, 1.25f, 1.75f, 1000.f, -1000.f});
  QuantizeCase c("QuantizeLinear", x,
                 {Tensor::ScalarFloat(0.5f), Typed<uint8_t>(DataType::kUint8, {}, {128})});
  auto y = RunGraph(c.b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ((*y)[0].dtype(), DataType::kUint8);
  EXPECT_EQ(Values<uint8_t>((*y)[0]), (std::vector<uint8_t>{126, 126, 128, 130, 130, 132, 255, 0}));
}

TEST(QuantizeLinear, WithoutZeroPointGivesUint8OrOutputDtype) {
  const Tensor x = Floats({4}, {-3.f, 0.4f, 2.6f, 400.f});
  QuantizeCase u("QuantizeLinear", x, {Tensor::ScalarFloat(1.0f)});
  auto yu = RunGraph(u.b.model(), x);
  ASSERT_TRUE(yu.ok()) << yu.status().ToString();
  EXPECT_EQ(Values<uint8_t>((*yu)[0]), (std::vector<uint8_t>{0, 0, 3, 255}));

  QuantizeCase s("QuantizeLinear", x, {Tensor::ScalarFloat(1.0f)});
  s.node->SetInt("output_dtype", static_cast<int64_t>(DataType::kInt8));
  auto ys = RunGraph(s.b.model(), x);
  ASSERT_TRUE(ys.ok()) << ys.status().ToString();
  EXPECT_EQ((*ys)[0].dtype(), DataType::kInt8);
  EXPECT_EQ(Values<int8_t>((*ys)[0]), (std::vector<int8_t>{-3, 0, 3, 127}));
}

TEST(QuantizeLinear, PerAxisScalesAndZeroPoints) {
  // x [2,3], axis 1: column scales 1, 2, 4, zero points 0, 10, -10.
  const Tensor x = Floats({2, 3}, {1, 2, 4, -1, -2, -4});
  QuantizeCase c("QuantizeLinear", x,
                 {Floats({3}, {1, 2, 4}), Typed<int8_t>(DataType::kInt8, {3}, {0, 10, -10})});
  auto y = RunGraph(c.b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(Values<int8_t>((*y)[0]), (std::vector<int8_t>{1, 11, -9, -1, 9, -11}));
}

TEST(QuantizeLinear, BlockedAlongAnAxisWithAShortLastBlock) {
  // x [2,5], axis 1, block 2: scale [2,3] covers columns {0,1}, {2,3}, {4}.
  const Tensor x = Floats({2, 5}, {2, 2, 2, 2, 2, 6, 6, 6, 6, 6});
  QuantizeCase c("QuantizeLinear", x,
                 {Floats({2, 3}, {1, 2, 4, 3, 6, 2}),
                  Typed<int16_t>(DataType::kInt16, {2, 3}, {0, 0, 1000, 0, -5, 0})});
  c.node->SetInt("block_size", 2);
  auto y = RunGraph(c.b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ((*y)[0].dtype(), DataType::kInt16);
  // Row 0: 2/1, 2/1, 2/2, 2/2, 2/4+1000 (0.5 -> 0). Row 1: 6/3, 6/3, 6/6-5, 6/6-5, 6/2.
  EXPECT_EQ(Values<int16_t>((*y)[0]), (std::vector<int16_t>{2, 2, 1, 1, 1000, 2, 2, -4, -4, 3}));
}

TEST(QuantizeLinear, SixteenBitTypesSaturateToTheirRanges) {
  const Tensor x = Floats({3}, {-1e6f, 12345.5f, 1e6f});
  QuantizeCase c("QuantizeLinear", x,
                 {Tensor::ScalarFloat(1.0f), Typed<uint16_t>(DataType::kUint16, {}, {0})});
  auto y = RunGraph(c.b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(Values<uint16_t>((*y)[0]), (std::vector<uint16_t>{0, 12346, 65535}));
}

TEST(QuantizeLinear, RefusesMismatchedParametersAndTypesTheIrLacks) {
  const Tensor x = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  QuantizeCase wrong_axis("QuantizeLinear", x, {Floats({2}, {1, 1})});
  auto r1 = RunGraph(wrong_axis.b.model(), x);
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument) << r1.status().ToString();

  QuantizeCase zp_shape("QuantizeLinear", x,
                        {Floats({3}, {1, 1, 1}), Typed<uint8_t>(DataType::kUint8, {2}, {0, 0})});
  EXPECT_FALSE(RunGraph(zp_shape.b.model(), x).ok());

  QuantizeCase blocked("QuantizeLinear", x, {Floats({2, 1}, {1, 1})});
  blocked.node->SetInt("block_size", 2);  // 3 columns need 2 blocks
  EXPECT_FALSE(RunGraph(blocked.b.model(), x).ok());

  QuantizeCase fp8("QuantizeLinear", x, {Tensor::ScalarFloat(1.0f)});
  fp8.node->SetInt("output_dtype", 17);  // float8e4m3fn
  auto r4 = RunGraph(fp8.b.model(), x);
  ASSERT_FALSE(r4.ok());
  EXPECT_EQ(r4.status().code(), StatusCode::kUnimplemented) << r4.status().ToString();
}

TEST(DequantizeLinear, PerTensorPerAxisAndBlocked) {
  const Tensor x = Typed<uint8_t>(DataType::kUint8, {2, 4}, {0, 1, 128, 255, 10, 20, 30, 40});
  QuantizeCase t("DequantizeLinear", x,
                 {Tensor::ScalarFloat(0.5f), Typed<uint8_t>(DataType::kUint8, {}, {128})});
  auto yt = RunGraph(t.b.model(), x);
  ASSERT_TRUE(yt.ok()) << yt.status().ToString();
  EXPECT_EQ(Values<float>((*yt)[0]),
            (std::vector<float>{-64, -63.5f, 0, 63.5f, -59, -54, -49, -44}));

  QuantizeCase a("DequantizeLinear", x,
                 {Floats({2}, {1, 2}), Typed<uint8_t>(DataType::kUint8, {2}, {0, 10})});
  a.node->SetInt("axis", 0);
  auto ya = RunGraph(a.b.model(), x);
  ASSERT_TRUE(ya.ok()) << ya.status().ToString();
  EXPECT_EQ(Values<float>((*ya)[0]), (std::vector<float>{0, 1, 128, 255, 0, 20, 40, 60}));

  QuantizeCase bl("DequantizeLinear", x, {Floats({2, 2}, {1, 2, 3, 4})});
  bl.node->SetInt("block_size", 2);
  auto yb = RunGraph(bl.b.model(), x);
  ASSERT_TRUE(yb.ok()) << yb.status().ToString();
  EXPECT_EQ(Values<float>((*yb)[0]), (std::vector<float>{0, 1, 256, 510, 30, 60, 120, 160}));
}

TEST(DequantizeLinear, OutputTakesTheScaleTypeOrOutputDtype) {
  const Tensor x = Typed<int8_t>(DataType::kInt8, {3}, {-128, 0, 127});
  QuantizeCase h("DequantizeLinear", x,
                 {Tensor::FromVector<uint16_t>(DataType::kFloat16, {}, {FloatToHalf(0.25f)})});
  auto y = RunGraph(h.b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ((*y)[0].dtype(), DataType::kFloat16);
  EXPECT_EQ((*y)[0].GetDouble(0), -32.0);
  EXPECT_EQ((*y)[0].GetDouble(2), 31.75);

  QuantizeCase wrong_zp("DequantizeLinear", x,
                        {Tensor::ScalarFloat(1.f), Typed<uint8_t>(DataType::kUint8, {}, {0})});
  EXPECT_FALSE(RunGraph(wrong_zp.b.model(), x).ok());
}

TEST(QuantizeDequantize, RoundTripIsExactOnTheGridAndWithinHalfAStepOffIt) {
  const Tensor x = RandomFloats({4, 16}, 7);
  ModelBuilder b(19);
  Value* in = b.Input("x", DataType::kFloat, {4, 16});
  Value* s = b.Init("s", Tensor::ScalarFloat(2.0f / 255));
  Value* z = b.Init("z", Typed<uint8_t>(DataType::kUint8, {}, {128}));
  Value* q = b.Op("QuantizeLinear", {in, s, z});
  Value* dq = b.Op("DequantizeLinear", {q, s, z});
  b.Output(b.Op("QuantizeLinear", {dq, s, z}));
  b.Output(dq);
  b.Output(q);
  auto y = RunGraph(b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_TRUE((*y)[0].SameContents((*y)[2]));  // Q(DQ(q)) == q
  for (int64_t i = 0; i < x.size(); ++i) {
    EXPECT_LE(std::abs((*y)[1].GetDouble(i) - x.GetDouble(i)), 1.0 / 255 + 1e-6);
  }
}

TEST(DynamicQuantizeLinear, ScaleAndZeroPointFromTheRangeWidenedToZero) {
  // min 0 (widened), max 2.55: scale 0.01, zero point 0.
  const Tensor x = Floats({4}, {0.5f, 1.0f, 2.55f, 0.125f});
  ModelBuilder b(11);
  Value* in = b.Input("x", DataType::kFloat, {4});
  ir::Node* n = b.graph().AddNode("DynamicQuantizeLinear", {in}, 3, "dql", "");
  for (size_t i = 0; i < 3; ++i) b.Output(n->output(i));
  auto y = RunGraph(b.model(), x);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_FLOAT_EQ((*y)[1].data<float>()[0], 2.55f / 255);
  EXPECT_EQ((*y)[2].data<uint8_t>()[0], 0);
  EXPECT_EQ(Values<uint8_t>((*y)[0]), (std::vector<uint8_t>{50, 100, 255, 12}));  // 12.5 -> 12

  // [-2.55, 0] (widened): scale 0.01, zero point 255; -1 -> 155.
  auto y2 = RunGraph(b.model(), Floats({4}, {-2.55f, -1.f, 0.f, -0.5f}));
  ASSERT_TRUE(y2.ok()) << y2.status().ToString();
  EXPECT_EQ((*y2)[2].data<uint8_t>()[0], 255);
  EXPECT_EQ(Values<uint8_t>((*y2)[0]), (std::vector<uint8_t>{0, 155, 255, 205}));
}

}  // namespace
}  // namespace graphopt::testing
