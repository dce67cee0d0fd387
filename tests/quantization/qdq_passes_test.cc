// Golden tests of the QDQ passes: fold_qdq_pairs (DQ -> Q of equal parameters, Relu/Clip made
// redundant by Q's saturation; exact, so outputs must be equal) and fuse_qdq_node_units (QDQ
// node units into the quantized operators of the cpu target; the `generic` target keeps QDQ).
// A quantized operator requantizes its accumulator in one step where DQ -> op -> Q rounds the
// float result of the op: where that result lies within float rounding of a half step, the
// two round to neighbouring integers, so integer outputs may differ by one step (and only
// rarely: at most 2% of elements here).
#include <gtest/gtest.h>

#include <cmath>

#include "backends/reference/executor.h"
#include "passes_extended/extended_test_util.h"

namespace graphopt::testing {
namespace {

ir::Value* U8(ModelBuilder& b, const std::string& name, uint8_t v) {
  return b.Init(name, Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {v}));
}

// Q then DQ of `x` (uint8, scale `s`, zero point `z`): a quantized activation.
ir::Value* Qdq(ModelBuilder& b, ir::Value* x, const std::string& name, float s, uint8_t z) {
  ir::Value* scale = Scalar(b, name + "_s", s);
  ir::Value* zero = U8(b, name + "_z", z);
  ir::Value* q = b.Op("QuantizeLinear", {x, scale, zero});
  return b.Op("DequantizeLinear", {q, scale, zero});
}

// Q of `x` with fresh parameters (the end of a node unit); returns the uint8 value.
ir::Value* Quantize(ModelBuilder& b, ir::Value* x, const std::string& name, float s, uint8_t z) {
  return b.Op("QuantizeLinear", {x, Scalar(b, name + "_s", s), U8(b, name + "_z", z)});
}

// A constant int8 weight of `shape` behind a DQ with one scale per index of axis 0.
ir::Value* Weight(ModelBuilder& b, const std::string& name, const Shape& shape, int64_t axis,
                  int64_t channels) {
  Tensor w(DataType::kInt8, shape);
  for (int64_t i = 0; i < w.size(); ++i) w.mutable_data<int8_t>()[i] = int8_t((i * 37) % 255 - 127);
  std::vector<float> scales;
  for (int64_t c = 0; c < channels; ++c) scales.push_back(0.002f + 0.0005f * c);
  ir::Value* dq =
      b.Op("DequantizeLinear",
           {b.Init(name, std::move(w)),
            b.Init(name + "_s", Tensor::FromVector<float>(DataType::kFloat, {channels}, scales)),
            b.Init(name + "_z", Tensor(DataType::kInt8, {channels}))});
  b.LastNode()->SetInt("axis", axis);
  return dq;
}

// Runs both models on `seed`'s input; the largest |difference| over output 0, and the share
// of elements that differ at all.
struct Diff {
  double max = 0, share = 0;
};
Diff OutputDiff(const ir::Model& a, const ir::Model& b, uint64_t seed = 5) {
  const ir::Value* in = a.graph->inputs()[0];
  const auto inputs =
      std::map<std::string, Tensor>{{in->name(), RandomFloats(*in->type().StaticShape(), seed)}};
  reference::Executor ea(a), eb(b);
  auto ya = ea.Run(inputs);
  auto yb = eb.Run(inputs);
  EXPECT_TRUE(ya.ok() && yb.ok()) << (ya.ok() ? yb.status() : ya.status()).ToString();
  Diff d;
  if (!ya.ok() || !yb.ok()) return {1e9, 1};
  const Tensor& ta = (*ya)[0];
  const Tensor& tb = (*yb)[0];
  EXPECT_EQ(ta.dtype(), tb.dtype());
  EXPECT_EQ(ta.shape(), tb.shape());
  int64_t differ = 0;
  for (int64_t i = 0; i < ta.size(); ++i) {
    const double e = std::abs(ta.GetDouble(i) - tb.GetDouble(i));
    d.max = std::max(d.max, e);
    differ += e > 0;
  }
  d.share = static_cast<double>(differ) / static_cast<double>(ta.size());
  return d;
}

// --- fold_qdq_pairs ---

TEST(FoldQdqPairs, DequantizeQuantizeOfEqualParametersFolds) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {2, 8});
  auto* q = Quantize(b, x, "a", 0.01f, 128);
  auto* dq = b.Op("DequantizeLinear", {q, b.graph().FindValue("a_s"), b.graph().FindValue("a_z")});
  auto* q2 = b.Op("QuantizeLinear", {dq, Scalar(b, "b_s", 0.01f), U8(b, "b_z", 128)});
  b.Output(b.Op("Relu", {b.Op("DequantizeLinear", {q2, Scalar(b, "c_s", 0.5f), U8(b, "c_z", 3)})}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_qdq_pairs");
  EXPECT_EQ(run.record.rule_counts["dequantize_quantize"], 1);
  EXPECT_EQ(CountOp(*model, "QuantizeLinear"), 1);
  EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 1);
  const Diff d = OutputDiff(*run.original, *model);
  EXPECT_EQ(d.max, 0.0);  // exact
}

TEST(FoldQdqPairs, DifferentScaleOrZeroPointStays) {
  for (const auto& [s, z] : {std::pair<float, uint8_t>{0.02f, 128}, {0.01f, 127}}) {
    ModelBuilder b(17);
    auto* x = b.Input("x", DataType::kFloat, {2, 8});
    auto* dq = Qdq(b, x, "a", 0.01f, 128);
    auto* q2 = b.Op("QuantizeLinear", {dq, Scalar(b, "b_s", s), U8(b, "b_z", z)});
    b.Output(q2);
    auto model = b.Build();
    auto run = RunSinglePass(*model, "fold_qdq_pairs");
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(CountOp(*model, "QuantizeLinear"), 2);
  }
}

struct ClampCase {
  const char* op;
  float lo, hi;  // Clip bounds
  float scale;   // of the Q
  uint8_t zero;
  bool drops;
};

class ClampBeforeQuantize : public ::testing::TestWithParam<ClampCase> {};

TEST_P(ClampBeforeQuantize, DropsOnlyWhenQSaturatesAtTheBounds) {
  const ClampCase c = GetParam();
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {4, 16});
  auto* big = b.Op("Mul", {x, Scalar(b, "ten", 10.0f)});  // [-10, 10]: beyond every bound
  ir::Value* act = std::string(c.op) == "Relu"
                       ? b.Op("Relu", {big})
                       : b.Op("Clip", {big, Scalar(b, "lo", c.lo), Scalar(b, "hi", c.hi)});
  b.Output(Quantize(b, act, "y", c.scale, c.zero));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_qdq_pairs");
  EXPECT_EQ(run.record.rule_counts["clamp_before_quantize"], c.drops ? 1 : 0);
  EXPECT_EQ(CountOp(*model, c.op), c.drops ? 0 : 1);
  EXPECT_EQ(OutputDiff(*run.original, *model).max, 0.0);  // exact either way
}

INSTANTIATE_TEST_SUITE_P(
    Quantization, ClampBeforeQuantize,
    ::testing::Values(ClampCase{"Relu", 0, 0, 0.04f, 0, true},          // Q(0) = 0 = qmin
                      ClampCase{"Relu", 0, 0, 0.04f, 10, false},        // Q(0) = 10 > qmin
                      ClampCase{"Clip", 0, 6, 6.0f / 255, 0, true},     // Q(6) = 255
                      ClampCase{"Clip", 0, 6, 1.0f / 255, 0, true},     // saturates before 6
                      ClampCase{"Clip", 0, 6, 12.0f / 255, 0, false}),  // Q(6) = 128
    [](const auto& info) { return std::string(info.param.op) + std::to_string(info.index); });

// --- fuse_qdq_node_units ---

// DQ(x) -> Conv(DQ(w) per channel, DQ(b) int32) -> Q -> DQ -> MaxPool -> Q -> DQ -> GAP -> Q.
std::unique_ptr<ir::Model> ConvUnitModel(bool with_bias) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 8, 8});
  const float xs = 2.0f / 255;
  auto* xd = Qdq(b, x, "x", xs, 128);
  std::vector<ir::Value*> in = {xd, Weight(b, "w", {4, 3, 3, 3}, 0, 4)};
  if (with_bias) {
    std::vector<float> bs;
    for (int c = 0; c < 4; ++c) bs.push_back(xs * (0.002f + 0.0005f * c));
    in.push_back(
        b.Op("DequantizeLinear",
             {b.Init("b", Tensor::FromVector<int32_t>(DataType::kInt32, {4}, {300, -200, 50, 0})),
              b.Init("b_s", Tensor::FromVector<float>(DataType::kFloat, {4}, bs)),
              b.Init("b_z", Tensor(DataType::kInt32, {4}))}));
    b.LastNode()->SetInt("axis", 0);
  }
  auto* conv = b.Op("Conv", in);
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  auto* y = b.Op("DequantizeLinear", {Quantize(b, conv, "y", 0.01f, 120),
                                      b.graph().FindValue("y_s"), b.graph().FindValue("y_z")});
  auto* pool = b.Op("MaxPool", {y});
  b.LastNode()->SetInts("kernel_shape", {2, 2});
  b.LastNode()->SetInts("strides", {2, 2});
  auto* p = b.Op("DequantizeLinear", {Quantize(b, pool, "p", 0.01f, 120),
                                      b.graph().FindValue("p_s"), b.graph().FindValue("p_z")});
  b.Output(Quantize(b, b.Op("GlobalAveragePool", {p}), "g", 0.005f, 100));
  return b.Build();
}

TEST(FuseQdqNodeUnits, ConvMaxPoolAndPoolBecomeQuantizedOperators) {
  for (bool with_bias : {true, false}) {
    SCOPED_TRACE(with_bias);
    auto model = ConvUnitModel(with_bias);
    auto run = RunFusion(*model, "fuse_qdq_node_units", "cpu");
    EXPECT_EQ(run.record.rule_counts["qlinear_conv"], 1);
    EXPECT_EQ(run.record.rule_counts["quantized_data_movement"], 1);
    EXPECT_EQ(run.record.rule_counts["qlinear_unary"], 1);
    // Q(x), QLinearConv, MaxPool (uint8), QLinearGlobalAveragePool; the weight DQs are gone.
    EXPECT_EQ(model->graph->num_nodes(), 4u);
    EXPECT_EQ(CountFused(*model, "QLinearConv"), 1);
    EXPECT_EQ(CountFused(*model, "com.microsoft.QLinearGlobalAveragePool"), 1);
    EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 0);
    const ir::Node* conv = nullptr;
    for (const ir::Node* n : model->graph->nodes()) conv = n->Is("QLinearConv") ? n : conv;
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(conv->GetInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
    EXPECT_EQ(conv->inputs().size(), with_bias ? 9u : 8u);
    const Diff d = OutputDiff(*run.original, *model);
    EXPECT_LE(d.max, 1.0);  // one step (see the top of the file)
    EXPECT_LE(d.share, 0.02);
  }
}

TEST(FuseQdqNodeUnits, GenericTargetKeepsQdq) {
  auto model = ConvUnitModel(true);
  const size_t before = model->graph->num_nodes();
  auto run = RunFusion(*model, "fuse_qdq_node_units", "generic");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(model->graph->num_nodes(), before);
}

TEST(FuseQdqNodeUnits, NearMissesStay) {
  // Bias at the wrong scale, MaxPool between different parameters, Conv output read twice.
  auto wrong_bias = ConvUnitModel(true);
  for (ir::Node* n : wrong_bias->graph->nodes()) {
    if (n->Is("DequantizeLinear") && n->input(0)->name() == "b") {
      n->SetInput(1, wrong_bias->graph->NewInitializer(
                         "b_s2", Tensor::FromVector<float>(DataType::kFloat, {4},
                                                           {1e-4f, 1e-4f, 1e-4f, 1e-4f})));
    }
  }
  auto run = RunFusion(*wrong_bias, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(run.record.rule_counts["qlinear_conv"], 0);
  EXPECT_EQ(CountFused(*wrong_bias, "Conv"), 1);

  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {1, 2, 4, 4});
  auto* pool = b.Op("MaxPool", {Qdq(b, x, "x", 0.01f, 128)});
  b.LastNode()->SetInts("kernel_shape", {2, 2});
  b.Output(Quantize(b, pool, "p", 0.02f, 128));
  auto model = b.Build();
  auto run2 = RunFusion(*model, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(run2.applied, 0);
  EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 1);
}

TEST(FuseQdqNodeUnits, MatMulWithAndWithoutQuantizedOutput) {
  for (bool quantized_out : {true, false}) {
    SCOPED_TRACE(quantized_out);
    ModelBuilder b(17);
    auto* x = b.Input("x", DataType::kFloat, {2, 4, 16});
    auto* mm = b.Op("MatMul", {Qdq(b, x, "x", 2.0f / 255, 128), Weight(b, "w", {16, 8}, 1, 8)});
    b.Output(quantized_out ? Quantize(b, mm, "y", 0.02f, 128)
                           : b.Op("Add", {mm, b.Init("bias", RandomFloats({8}, 3))}));
    auto model = b.Build();
    auto run = RunFusion(*model, "fuse_qdq_node_units", "cpu");
    EXPECT_EQ(run.record.rule_counts["quantized_matmul"], 1);
    EXPECT_EQ(CountFused(*model, "QLinearMatMul"), quantized_out ? 1 : 0);
    EXPECT_EQ(CountFused(*model, "com.microsoft.MatMulIntegerToFloat"), quantized_out ? 0 : 1);
    EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 0);
    EXPECT_EQ(CountOp(*model, "Add"), 0);      // the bias is MatMulIntegerToFloat's input 6
    EXPECT_EQ(model->graph->num_nodes(), 2u);  // Q(x) and the quantized MatMul
    if (quantized_out) {
      const Diff d = OutputDiff(*run.original, *model);
      EXPECT_LE(d.max, 1.0);
      EXPECT_LE(d.share, 0.02);
    } else {
      // Integer products summed exactly, then scaled: float rounding only.
      EXPECT_EQ(CompareOutputs(*run.original, *model), "");
    }
  }
}

TEST(FuseQdqNodeUnits, AddAndGemmUnits) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {4, 16});
  auto* a = Qdq(b, x, "a", 2.0f / 255, 128);
  auto* c = Qdq(b, b.Op("Neg", {x}), "c", 2.0f / 255, 128);
  auto* sum = b.Op("DequantizeLinear", {Quantize(b, b.Op("Add", {a, c}), "s", 4.0f / 255, 128),
                                        b.graph().FindValue("s_s"), b.graph().FindValue("s_z")});
  auto* gemm = b.Op("Gemm", {sum, Weight(b, "w", {8, 16}, 0, 8)});
  b.LastNode()->SetInt("transB", 1);
  b.Output(gemm);
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(run.record.rule_counts["qlinear_binary"], 1);
  EXPECT_EQ(run.record.rule_counts["qgemm"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.QLinearAdd"), 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.QGemm"), 1);
  // The Add's sum may move one step of 4/255; the Gemm's float output by that step times the
  // weights' largest column sum of |w| * scale (< 16 * 127 * 0.0055 * 4/255 < 0.18).
  const Diff d = OutputDiff(*run.original, *model);
  EXPECT_LE(d.max, 0.18);
}

TEST(FuseQdqNodeUnits, MulAndSigmoidUnits) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {2, 32});
  auto* a = Qdq(b, x, "a", 2.0f / 255, 128);
  auto* sig = b.Op("Sigmoid", {a});
  auto* s = b.Op("DequantizeLinear", {Quantize(b, sig, "s", 1.0f / 255, 0),
                                      b.graph().FindValue("s_s"), b.graph().FindValue("s_z")});
  b.Output(Quantize(b, b.Op("Mul", {a, s}), "m", 2.0f / 255, 128));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(run.record.rule_counts["qlinear_unary"], 1);
  EXPECT_EQ(run.record.rule_counts["qlinear_binary"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.QLinearSigmoid"), 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.QLinearMul"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 3u);  // Q(x), QLinearSigmoid, QLinearMul
  const Diff d = OutputDiff(*run.original, *model);
  EXPECT_LE(d.max, 1.0);
  EXPECT_LE(d.share, 0.05);
}

// --- propagate_dequantize (with fold_qdq_pairs: the basic level) ---

// Runs the basic level alone (propagate_dequantize and fold_qdq_pairs among its passes).
PassRun RunBasic(ir::Model& model, const std::string& target = "generic") {
  PassRun run;
  run.original = ir::CloneModel(model);
  EXPECT_TRUE(ir::InferShapes(model).ok());
  PassManagerOptions options;
  options.level = Level::kBasic;
  auto profile = TargetRegistry::Get().Find(target);
  auto evaluator = MakeReferenceEvaluator();
  PassManager manager;
  auto stats = manager.Run(model, **profile, evaluator.get(), options);
  EXPECT_TRUE(stats.ok()) << stats.status().ToString();
  return run;
}

TEST(PropagateDequantize, DataMovementBetweenEqualQdqRunsOnTheIntegers) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {1, 4, 6, 6});
  auto* t = b.Op("Transpose", {Qdq(b, x, "x", 0.01f, 128)});
  b.LastNode()->SetInts("perm", {0, 2, 3, 1});
  auto* pool = b.Op("MaxPool", {t});
  b.LastNode()->SetInts("kernel_shape", {2, 2});
  auto* r = b.Op("Reshape", {pool, b.Ints("shape", {1, -1})});
  b.Output(b.Op("QuantizeLinear", {r, b.graph().FindValue("x_s"), b.graph().FindValue("x_z")}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "propagate_dequantize");
  EXPECT_EQ(run.record.rule_counts["propagate_dequantize"], 3);
  EXPECT_EQ(OutputDiff(*run.original, *model).max, 0.0);
  auto basic = RunBasic(*model);
  // Q(x) -> Transpose -> MaxPool -> Reshape, all on uint8: DQ -> Q cancelled.
  EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 0);
  EXPECT_EQ(CountOp(*model, "QuantizeLinear"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 4u);
  EXPECT_EQ(OutputDiff(*run.original, *model).max, 0.0);  // exact
}

TEST(PropagateDequantize, ConcatOfEqualParametersOnlyAndUnsharedDequantizeOnly) {
  for (bool equal : {true, false}) {
    ModelBuilder b(17);
    auto* x = b.Input("x", DataType::kFloat, {2, 3});
    auto* a = Qdq(b, x, "a", 0.01f, 128);
    auto* c = Qdq(b, b.Op("Neg", {x}), "c", equal ? 0.01f : 0.02f, 128);
    b.Output(b.Op("Concat", {a, c}));
    b.LastNode()->SetInt("axis", 1);
    auto model = b.Build();
    auto run = RunSinglePass(*model, "propagate_dequantize");
    EXPECT_EQ(run.applied, equal ? 1 : 0);
    EXPECT_EQ(CountOp(*model, "DequantizeLinear"), equal ? 1 : 2);
    EXPECT_EQ(OutputDiff(*run.original, *model).max, 0.0);
  }
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  auto* a = Qdq(b, x, "a", 0.01f, 128);
  b.Output(b.Op("Relu", {a}));
  b.Output(b.Op("Flatten", {a}));  // the DQ has another reader: moving it would copy it
  auto model = b.Build();
  EXPECT_EQ(RunSinglePass(*model, "propagate_dequantize").applied, 0);
}

// --- QDQ safety of the other passes ---

// A 2-D MatMul of two DQ outputs plus a float bias stays MatMul + Add at basic (a Gemm would
// swallow the node unit), and becomes MatMulIntegerToFloat with the bias for the cpu target.
TEST(QdqSafety, MatMulUnitIsNotFusedIntoGemm) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {4, 16});
  auto* mm = b.Op("MatMul", {Qdq(b, x, "x", 2.0f / 255, 128), Weight(b, "w", {16, 8}, 1, 8)});
  b.Output(b.Op("Add", {mm, b.Init("bias", RandomFloats({8}, 3))}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fuse_matmul_add_into_gemm");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(run.record.match_failures.count("matmul_add_to_gemm: MatMul of a QDQ node unit"), 1u);
  RunFusion(*model, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(CountFused(*model, "com.microsoft.MatMulIntegerToFloat"), 1);
  EXPECT_EQ(CountOp(*model, "Add"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// Duplicate DQs of one weight are merged by CSE (same meaning); both readers still form units.
TEST(QdqSafety, CommonSubexpressionsOfDequantizeStayUnits) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {4, 16});
  auto* xd = Qdq(b, x, "x", 2.0f / 255, 128);
  auto* yd = Qdq(b, b.Op("Neg", {x}), "y", 2.0f / 255, 128);
  auto* w = Weight(b, "w", {16, 8}, 1, 8);
  ir::Node* dqw = b.LastNode();
  auto* w2 = b.Op("DequantizeLinear", {dqw->input(0), dqw->input(1), dqw->input(2)});
  b.LastNode()->SetInt("axis", 1);
  b.Output(b.Op("MatMul", {xd, w}));
  b.Output(b.Op("MatMul", {yd, w2}));
  auto model = b.Build();
  auto cse = RunSinglePass(*model, "eliminate_common_subexpressions");
  EXPECT_EQ(cse.applied, 1);
  EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 3);  // x's, y's and the one weight DQ
  RunFusion(*model, "fuse_qdq_node_units", "cpu");
  EXPECT_EQ(CountFused(*model, "com.microsoft.MatMulIntegerToFloat"), 2);
  EXPECT_EQ(CountOp(*model, "DequantizeLinear"), 0);
  EXPECT_EQ(CompareOutputs(*cse.original, *model), "");
}

}  // namespace
}  // namespace graphopt::testing
