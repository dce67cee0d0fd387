// Shape inference past fused operators: the com.microsoft contrib ops and ONNX Runtime's
// default-domain normalizations get their output types, values behind them get inferred, and
// outputs of operators nothing can infer keep the types they had.
#include <gtest/gtest.h>

#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::ModelBuilder;

constexpr const char* kMs = "com.microsoft";

ModelBuilder ContribModel(int64_t opset = 17) {
  ModelBuilder b(opset);
  b.model().opset_imports.push_back({kMs, 1});
  return b;
}

ir::Value* Zeros(ModelBuilder& b, const std::string& name, const Shape& shape) {
  return b.Init(name, Tensor(DataType::kFloat, shape));
}

ir::ValueType Float(const Shape& shape) {
  return ir::ValueType::FromShape(DataType::kFloat, shape);
}

TEST(ShapeInference, ValueAfterAContribOpGetsItsShapeAndSoDoesItsReader) {
  ModelBuilder b = ContribModel();
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  auto* gelu = b.Op("Gelu", {x}, kMs);
  auto* relu = b.Op("Relu", {gelu});
  auto* flat = b.Op("Flatten", {relu});
  b.Output(flat);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(gelu->type(), Float({2, 3, 8}));
  EXPECT_EQ(relu->type(), Float({2, 3, 8}));
  EXPECT_EQ(flat->type(), Float({2, 24}));
}

// Attention's output width comes from the packed bias (3 x hidden), not from the input.
TEST(ShapeInference, AttentionOutputTakesTheHiddenSizeOfItsWeights) {
  ModelBuilder b = ContribModel();
  auto* x = b.Input("x", DataType::kFloat, {2, 5, 12});
  auto* att = b.Op("Attention", {x, Zeros(b, "w", {12, 18}), Zeros(b, "bias", {18})}, kMs);
  b.LastNode()->SetInt("num_heads", 2);
  auto* proj = b.Op("MatMul", {att, Zeros(b, "wo", {6, 4})});
  b.Output(proj);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(att->type(), Float({2, 5, 6}));
  EXPECT_EQ(proj->type(), Float({2, 5, 4}));
}

TEST(ShapeInference, EmbedLayerNormalizationOutputs) {
  ModelBuilder b = ContribModel();
  auto* ids = b.Input("ids", DataType::kInt32, {2, 7});
  ir::Node* n =
      b.graph().AddNode("EmbedLayerNormalization",
                        {ids, nullptr, Zeros(b, "word", {50, 8}), Zeros(b, "pos", {16, 8}), nullptr,
                         Zeros(b, "gamma", {8}), Zeros(b, "beta", {8})},
                        3, "embed", kMs);
  auto* after = b.Op("Relu", {n->output(2)});
  b.Output(n->output(0));
  b.Output(n->output(1));
  b.Output(after);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(n->output(1)->type(), ir::ValueType::FromShape(DataType::kInt32, {2}));
  EXPECT_EQ(n->output(2)->type(), Float({2, 7, 8}));
  EXPECT_EQ(after->type(), Float({2, 7, 8}));
  EXPECT_EQ(n->output(0)->type(), Float({2, 7, 8}));  // a graph output, untyped before
}

TEST(ShapeInference, FusedConvGemmAndMatMulFollowTheirStandardShapes) {
  ModelBuilder b = ContribModel();
  auto* img = b.Input("img", DataType::kFloat, {1, 3, 10, 10});
  auto* conv = b.Op("FusedConv", {img, Zeros(b, "cw", {4, 3, 3, 3})}, kMs);
  b.LastNode()->SetString("activation", "Relu");
  b.LastNode()->SetInts("strides", {2, 2});
  auto* a = b.Input("a", DataType::kFloat, {6, 5});
  auto* gemm = b.Op("FusedGemm", {a, Zeros(b, "gw", {7, 5})}, kMs);
  b.LastNode()->SetInt("transB", 1);
  auto* m = b.Input("m", DataType::kFloat, {3, 1, 4, 5});
  auto* mm = b.Op("FusedMatMul", {m, Zeros(b, "mw", {2, 6, 5})}, kMs);
  b.LastNode()->SetInt("transB", 1);
  b.LastNode()->SetFloat("alpha", 0.5f);
  for (auto* v : {conv, gemm, mm}) b.Output(b.Op("Relu", {v}));
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(conv->type(), Float({1, 4, 4, 4}));
  EXPECT_EQ(gemm->type(), Float({6, 7}));
  EXPECT_EQ(mm->type(), Float({3, 2, 4, 6}));
}

// LayerNormalization below opset 17 and SimplifiedLayerNormalization are ONNX Runtime's own
// default-domain operators, unknown to ONNX.
TEST(ShapeInference, RuntimeNormalizationsBelowOpset17) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  auto* ln = b.Op("LayerNormalization", {x, Zeros(b, "g", {8}), Zeros(b, "beta", {8})});
  auto* rms = b.Op("SimplifiedLayerNormalization", {ln, Zeros(b, "g2", {8})});
  auto* t = b.Op("Transpose", {rms});
  b.Output(t);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ln->type(), Float({2, 3, 8}));
  EXPECT_EQ(rms->type(), Float({2, 3, 8}));
  EXPECT_EQ(t->type(), Float({8, 3, 2}));
}

// An operator of a domain nothing knows: its output keeps the type it had, repeatedly, and its
// reader is inferred from it; a stale type behind a known operator is inferred afresh.
TEST(ShapeInference, UnknownOperatorKeepsItsOutputTypeAndInferenceFlowsOn) {
  ModelBuilder b(17);
  b.model().opset_imports.push_back({"org.example", 1});
  auto* x = b.Input("x", DataType::kFloat, {4, 6});
  auto* custom = b.Op("Mystery", {x}, "org.example");
  custom->type() = Float({4, 6});
  auto* relu = b.Op("Relu", {custom});
  relu->type() = Float({9, 9});  // stale
  auto* sum = b.Op("ReduceSum", {relu, b.Ints("axes", {1})});
  b.Output(sum);
  auto model = b.Build();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(ir::InferShapes(*model).ok());
    EXPECT_EQ(custom->type(), Float({4, 6})) << round;
    EXPECT_EQ(relu->type(), Float({4, 6})) << round;
    EXPECT_EQ(sum->type(), Float({4, 1})) << round;
  }
}

}  // namespace
}  // namespace graphopt
