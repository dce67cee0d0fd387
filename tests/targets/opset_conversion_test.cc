// Raising a model's opset with libonnx's version converter: a real model converted 14 -> 17
// computes the same outputs, checks clean, keeps its weights; bad requests fail cleanly.
#include <gtest/gtest.h>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/opset_conversion.h"
#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

TEST(OpsetConversion, SharedModelFrom14To17StillComputesTheSame) {
  auto original = LoadModel(SharedModel("squeezenet1_1.raw.onnx"));
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  ASSERT_EQ((*original)->OpsetVersion(""), 14);
  auto converted = ir::CloneModel(**original);
  const Tensor* weight_before = nullptr;
  for (ir::Value* v : converted->graph->initializers()) {
    if (!weight_before || v->initializer()->nbytes() > weight_before->nbytes())
      weight_before = v->initializer();
  }
  ASSERT_NE(weight_before, nullptr);
  const void* bytes_before = weight_before->raw();

  ASSERT_TRUE(ir::ConvertOpset(*converted, 17).ok());
  EXPECT_EQ(converted->OpsetVersion(""), 17);
  EXPECT_GE(converted->ir_version, 8);
  EXPECT_EQ(converted->graph->initializers().size(), (*original)->graph->initializers().size());
  // The largest weight was re-attached, not copied.
  bool shared = false;
  for (ir::Value* v : converted->graph->initializers())
    shared = shared || v->initializer()->raw() == bytes_before;
  EXPECT_TRUE(shared);
  EXPECT_TRUE(ir::CheckModel(*converted).ok());
  EXPECT_EQ(CompareOutputs(**original, *converted, {{"batch", 1}}), "");
}

TEST(OpsetConversion, TextEncoderFrom14To17StillComputesTheSame) {
  // The transformer export whose decomposed LayerNorms become LayerNormalization-17 candidates.
  auto original = LoadModel(SharedModel("text_encoder.raw.onnx"));
  ASSERT_TRUE(original.ok()) << original.status().ToString();
  auto converted = ir::CloneModel(**original);
  const Status st = ir::ConvertOpset(*converted, 17);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(converted->OpsetVersion(""), 17);
  EXPECT_EQ(converted->graph->num_nodes(), (*original)->graph->num_nodes());
  EXPECT_EQ(CompareOutputs(**original, *converted, {{"batch", 1}, {"seq", 64}}), "");
}

TEST(OpsetConversion, LayerNormalizationBecomesUsableAfterRaisingTheOpset) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2, 4});
  auto* mean = b.Op("ReduceMean", {x});
  b.LastNode()->SetInts("axes", {-1});
  b.Output(b.Op("Sub", {x, mean}));
  auto model = b.Build();
  ASSERT_TRUE(ir::ConvertOpset(*model, 17).ok());
  EXPECT_EQ(model->OpsetVersion(""), 17);
  // ReduceMean keeps its axes attribute at 17 (it moves to an input only at 18).
  ir::Node* reduce = nullptr;
  for (ir::Node* n : model->graph->nodes()) {
    if (n->op_type() == "ReduceMean") reduce = n;
  }
  ASSERT_NE(reduce, nullptr);
  EXPECT_EQ(reduce->GetInts("axes"), (std::vector<int64_t>{-1}));
  // The builder leaves the graph output untyped; the checker wants it typed.
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  const Status check = ir::CheckModel(*model);
  EXPECT_TRUE(check.ok()) << check.ToString();
}

TEST(OpsetConversion, OperatorsChangedOnTheWayAreAdapted) {
  // Split's sizes move from an attribute (opset 11) to an input (opset 13).
  ModelBuilder b(11);
  auto* x = b.Input("x", DataType::kFloat, {6, 2});
  ir::Node* split = b.graph().AddNode("Split", {x}, 2, "split");
  split->SetInt("axis", 0);
  split->SetInts("split", {2, 4});
  b.Output(split->output(0));
  b.Output(split->output(1));
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  ASSERT_TRUE(ir::ConvertOpset(*model, 13).ok());
  ir::Node* converted = nullptr;
  for (ir::Node* n : model->graph->nodes()) {
    if (n->op_type() == "Split") converted = n;
  }
  ASSERT_NE(converted, nullptr);
  EXPECT_FALSE(converted->HasAttr("split"));
  EXPECT_EQ(converted->inputs().size(), 2u);
  EXPECT_EQ(CompareOutputs(*original, *model), "");
}

TEST(OpsetConversion, SameOpsetIsANoOpThatStillFixesTheIrVersion) {
  ModelBuilder b(17);
  b.Output(b.Op("Relu", {b.Input("x", DataType::kFloat, {2})}));
  auto model = b.Build();
  model->ir_version = 7;
  ASSERT_TRUE(ir::ConvertOpset(*model, 17).ok());
  EXPECT_EQ(model->ir_version, 8);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
}

TEST(OpsetConversion, RejectsLoweringAndUnsupportedTargets) {
  ModelBuilder b(14);
  b.Output(b.Op("Relu", {b.Input("x", DataType::kFloat, {2})}));
  auto model = b.Build();
  auto lower = ir::ConvertOpset(*model, 13);
  EXPECT_EQ(lower.code(), StatusCode::kInvalidArgument);
  auto too_new = ir::ConvertOpset(*model, 18);
  EXPECT_EQ(too_new.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(model->OpsetVersion(""), 14);  // unchanged on failure
}

TEST(OpsetConversion, MinIrVersionTable) {
  EXPECT_EQ(ir::MinIrVersionForOpset(8), 3);
  EXPECT_EQ(ir::MinIrVersionForOpset(11), 6);
  EXPECT_EQ(ir::MinIrVersionForOpset(14), 7);
  EXPECT_EQ(ir::MinIrVersionForOpset(17), 8);
}

}  // namespace
}  // namespace graphopt::testing
