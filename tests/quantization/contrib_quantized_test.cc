// The com.microsoft quantized kernels: values checked against the float formulas they stand
// for, and parity with ONNX Runtime's CPU kernels on small random cases (skipped without node
// and onnxruntime-node). Integer outputs may differ from ONNX Runtime by one step on at most 1%
// of the elements (its fixed-point requantization rounds a few exact-tie values differently).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "support/ort_parity.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using ir::Value;
constexpr const char* kMs = "com.microsoft";

ModelBuilder MsBuilder() {
  ModelBuilder b(17);
  b.model().opset_imports.push_back({kMs, 1});
  return b;
}

// Deterministic quantized values spread over the whole range of `type`.
Tensor RandomQuantized(DataType type, const Shape& shape, uint64_t seed) {
  const Tensor f = RandomFloats(shape, seed);
  Tensor t(type, shape);
  for (int64_t i = 0; i < t.size(); ++i) {
    const double u = (f.GetDouble(i) + 1) / 2;  // [0, 1]
    if (type == DataType::kUint8) {
      t.mutable_data<uint8_t>()[i] = static_cast<uint8_t>(std::lround(u * 255));
    } else {
      t.mutable_data<int8_t>()[i] = static_cast<int8_t>(std::lround(u * 255) - 128);
    }
  }
  return t;
}
Tensor U8(uint8_t v) { return Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {v}); }
Tensor I8(int8_t v) { return Tensor::FromVector<int8_t>(DataType::kInt8, {}, {v}); }
Tensor F(float v) { return Tensor::ScalarFloat(v); }

std::vector<Tensor> RunGraph(const ir::Model& m, const std::map<std::string, Tensor>& inputs) {
  reference::Executor exec(m);
  auto r = exec.Run(inputs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::vector<Tensor>{};
}

TEST(QLinearBinary, AddAndMulFollowTheDequantizedFormulaWithBroadcasting) {
  ModelBuilder b = MsBuilder();
  Value* a = b.Input("a", DataType::kUint8, {2, 3});
  Value* c = b.Input("c", DataType::kUint8, {3});
  std::vector<Value*> params = {b.Init("sa", F(0.1f)),  b.Init("za", U8(100)),
                                b.Init("sc", F(0.05f)), b.Init("zc", U8(10)),
                                b.Init("sy", F(0.2f)),  b.Init("zy", U8(128))};
  for (const char* op : {"QLinearAdd", "QLinearMul"}) {
    b.Output(
        b.Op(op, {a, params[0], params[1], c, params[2], params[3], params[4], params[5]}, kMs));
  }
  const Tensor ta = RandomQuantized(DataType::kUint8, {2, 3}, 1);
  const Tensor tc = RandomQuantized(DataType::kUint8, {3}, 2);
  const auto y = RunGraph(b.model(), {{"a", ta}, {"c", tc}});
  ASSERT_EQ(y.size(), 2u);
  for (int64_t i = 0; i < 6; ++i) {
    const double va = 0.1 * (ta.GetDouble(i) - 100), vc = 0.05 * (tc.GetDouble(i % 3) - 10);
    const double add = std::clamp(std::nearbyint((va + vc) / 0.2) + 128, 0.0, 255.0);
    const double mul = std::clamp(std::nearbyint(va * vc / 0.2) + 128, 0.0, 255.0);
    EXPECT_NEAR(y[0].GetDouble(i), add, 1) << i;  // float32 vs double on exact ties only
    EXPECT_NEAR(y[1].GetDouble(i), mul, 1) << i;
  }
  EXPECT_EQ(y[0].shape(), (Shape{2, 3}));
}

TEST(QGemm, EqualsMatMulIntegerScaledPlusBiasAndRequantized) {
  // A [2,3] uint8, B^T [2,3] int8 per-column scales, C int32 [2]; float output and uint8 output.
  ModelBuilder b = MsBuilder();
  Value* a = b.Input("a", DataType::kUint8, {2, 3});
  Value* w = b.Init("w", Tensor::FromVector<int8_t>(DataType::kInt8, {2, 3}, {1, -2, 3, 4, 5, -6}));
  Value* sa = b.Init("sa", F(0.5f));
  Value* za = b.Init("za", U8(2));
  Value* sw = b.Init("sw", Tensor::FromVector<float>(DataType::kFloat, {2}, {1.0f, 0.25f}));
  Value* zw = b.Init("zw", Tensor::FromVector<int8_t>(DataType::kInt8, {2}, {0, 1}));
  Value* bias = b.Init("bias", Tensor::FromVector<int32_t>(DataType::kInt32, {2}, {10, -20}));
  b.Output(b.Op("QGemm", {a, sa, za, w, sw, zw, bias}, kMs));
  b.LastNode()->SetInt("transB", 1);
  b.Output(b.Op("QGemm", {a, sa, za, w, sw, zw, bias, b.Init("sy", F(2.0f)), b.Init("zy", U8(100))},
                kMs));
  b.LastNode()->SetInt("transB", 1);
  const Tensor ta = Tensor::FromVector<uint8_t>(DataType::kUint8, {2, 3}, {2, 3, 4, 10, 0, 7});
  const auto y = RunGraph(b.model(), {{"a", ta}});
  ASSERT_EQ(y.size(), 2u);
  // Row 0: A-za = [0,1,2]; col 0 w=[1,-2,3]: 0-2+6 = 4 (+10) -> 14*0.5*1 = 7.
  //        col 1 w-zw=[3,4,-7]: 0+4-14 = -10 (-20) -> -30*0.5*0.25 = -3.75.
  // Row 1: A-za = [8,-2,5]; col 0: 8+4+15 = 27 (+10) -> 18.5; col 1: 24-8-35 = -19 (-20) -> -4.875.
  EXPECT_EQ(y[0].dtype(), DataType::kFloat);
  EXPECT_EQ(std::vector<float>(y[0].data<float>(), y[0].data<float>() + 4),
            (std::vector<float>{7.0f, -3.75f, 18.5f, -4.875f}));
  // /2 + 100: 103.5 -> 104, 98.125 -> 98, 109.25 -> 109, 97.5625 -> 98.
  EXPECT_EQ(std::vector<uint8_t>(y[1].data<uint8_t>(), y[1].data<uint8_t>() + 4),
            (std::vector<uint8_t>{104, 98, 109, 98}));
}

TEST(QuantizedContrib, RefusesPerChannelScalesWhereOnlyPerTensorIsDefined) {
  ModelBuilder b = MsBuilder();
  Value* x = b.Input("x", DataType::kUint8, {1, 2, 2, 2});
  b.Output(b.Op("QLinearSigmoid",
                {x, b.Init("s", Tensor::FromVector<float>(DataType::kFloat, {2}, {1, 2})),
                 b.Init("z", U8(0)), b.Init("sy", F(1.0f / 256)), b.Init("zy", U8(0))},
                kMs));
  reference::Executor exec(b.model());
  auto r = exec.Run({{"x", RandomQuantized(DataType::kUint8, {1, 2, 2, 2}, 3)}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
}

// ---- Parity with ONNX Runtime ------------------------------------------------------------

TEST(QuantizedOrtParity, QLinearAddMulSigmoidAndGlobalAveragePool) {
  for (DataType t : {DataType::kUint8, DataType::kInt8}) {
    SCOPED_TRACE(DataTypeName(t));
    const bool u = t == DataType::kUint8;
    ModelBuilder b = MsBuilder();
    Value* a = b.Input("a", t, {2, 4, 3, 5});
    Value* c = b.Input("c", t, {4, 1, 5});
    Value* sa = b.Init("sa", F(0.031f));
    Value* za = b.Init("za", u ? U8(120) : I8(-5));
    Value* sc = b.Init("sc", F(0.017f));
    Value* zc = b.Init("zc", u ? U8(131) : I8(3));
    Value* sy = b.Init("sy", F(0.043f));
    Value* zy = b.Init("zy", u ? U8(127) : I8(1));
    b.Output(b.Op("QLinearAdd", {a, sa, za, c, sc, zc, sy, zy}, kMs));
    b.Output(b.Op("QLinearMul", {a, sa, za, c, sc, zc, sy, zy}, kMs));
    Value* sig_s = b.Init("sig_s", F(1.0f / 256));
    Value* sig_z = b.Init("sig_z", u ? U8(0) : I8(-128));
    b.Output(b.Op("QLinearSigmoid", {a, sa, za, sig_s, sig_z}, kMs));
    b.Output(b.Op("QLinearGlobalAveragePool", {a, sa, za, sy, zy}, kMs));
    b.Output(b.Op("QLinearGlobalAveragePool", {a, sa, za, sy, zy}, kMs));
    b.LastNode()->SetInt("channels_last", 1);
    ExpectOrtParity(
        b.model(),
        {{"a", RandomQuantized(t, {2, 4, 3, 5}, 11)}, {"c", RandomQuantized(t, {4, 1, 5}, 12)}},
        1e-4, 1);
  }
}

TEST(QuantizedOrtParity, QGemmFloatAndQuantizedOutputs) {
  ModelBuilder b = MsBuilder();
  Value* a = b.Input("a", DataType::kUint8, {5, 7});
  Value* w = b.Init("w", RandomQuantized(DataType::kInt8, {6, 7}, 21));
  Value* sa = b.Init("sa", F(0.02f));
  Value* za = b.Init("za", U8(125));
  Value* sw =
      b.Init("sw", Tensor::FromVector<float>(DataType::kFloat, {6},
                                             {0.01f, 0.02f, 0.015f, 0.03f, 0.005f, 0.012f}));
  Value* zw = b.Init("zw", Tensor::FromVector<int8_t>(DataType::kInt8, {6}, {0, 0, 0, 0, 0, 0}));
  Value* bias = b.Init(
      "bias", Tensor::FromVector<int32_t>(DataType::kInt32, {6}, {100, -200, 300, 0, 5, -7}));
  b.Output(b.Op("QGemm", {a, sa, za, w, sw, zw, bias}, kMs));
  b.LastNode()->SetInt("transB", 1);
  b.LastNode()->SetFloat("alpha", 0.5f);
  b.Output(b.Op("QGemm", {a, sa, za, w, sw, zw, bias, b.Init("sy", F(0.3f)), b.Init("zy", U8(90))},
                kMs));
  b.LastNode()->SetInt("transB", 1);
  ExpectOrtParity(b.model(), {{"a", RandomQuantized(DataType::kUint8, {5, 7}, 23)}}, 1e-4, 1);
}

TEST(QuantizedOrtParity, DynamicQuantizeMatMulAndMatMulIntegerToFloat) {
  ModelBuilder b = MsBuilder();
  Value* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  Value* w = b.Init("w", RandomQuantized(DataType::kInt8, {8, 4}, 31));
  Value* ws =
      b.Init("ws", Tensor::FromVector<float>(DataType::kFloat, {4}, {0.01f, 0.02f, 0.005f, 0.03f}));
  Value* wz = b.Init("wz", Tensor::FromVector<int8_t>(DataType::kInt8, {4}, {0, 0, 0, 0}));
  Value* bias = b.Init("bias", RandomFloats({4}, 32));
  b.Output(b.Op("DynamicQuantizeMatMul", {x, w, ws, wz, bias}, kMs));
  b.Output(b.Op("DynamicQuantizeMatMul", {x, w, b.Init("ws1", F(0.02f))}, kMs));
  Value* a = b.Input("a", DataType::kUint8, {3, 8});
  b.Output(b.Op("MatMulIntegerToFloat",
                {a, w, b.Init("as", F(0.04f)), ws, b.Init("az", U8(128)), wz, bias}, kMs));
  ExpectOrtParity(
      b.model(),
      {{"x", RandomFloats({2, 3, 8}, 33)}, {"a", RandomQuantized(DataType::kUint8, {3, 8}, 34)}},
      1e-4);
}

}  // namespace
}  // namespace graphopt::testing
