// Graph IR: structural errors, subgraph captures, renames, output names, cloning.
#include <gtest/gtest.h>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/onnx_convert.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/rewrite_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

TEST(Graph, CycleIsAnErrorNamingANode) {
  auto model = LoadModelFromBytes(testing::TwoReluModelBytes("b", "a"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("cycle"), std::string::npos) << model.status().message();
}

TEST(Graph, DanglingInputIsAnErrorNamingTheValue) {
  auto model = LoadModelFromBytes(testing::TwoReluModelBytes("x", "nowhere"));
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("'nowhere'"), std::string::npos) << model.status().message();
}

TEST(Graph, OutOfOrderNodesAreSorted) {
  auto model = LoadModelFromBytes(testing::TwoReluModelBytes("x", "a", /*reversed=*/true));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->graph->nodes()[0]->name(), "a");
}

// x -> Identity -> t; If(cond) { then: Relu(t) ; else: Neg(t) } -> y
std::unique_ptr<ir::Model> IfCapturingIdentityOutput() {
  testing::ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* cond = b.Input("cond", DataType::kBool, {});
  auto* t = b.Op("Identity", {x});
  b.Output(testing::AddIfReading(b, cond, t)->output(0));
  return b.Build();
}

TEST(Graph, ReplacingACapturedValueRenamesItInsideSubgraphs) {
  auto model = IfCapturingIdentityOutput();
  ir::Graph& g = *model->graph;
  ir::Node* identity = g.nodes()[0];
  ASSERT_EQ(identity->op_type(), "Identity");
  const std::string captured_name = identity->output(0)->name();
  ASSERT_TRUE(BypassNode(g, identity));
  ir::Node* if_node = g.nodes()[0];
  ASSERT_EQ(if_node->implicit_inputs().size(), 1u);
  EXPECT_EQ(if_node->implicit_inputs()[0]->name(), "x");
  for (ir::Graph* sub : if_node->Subgraphs()) {
    EXPECT_EQ(sub->FindValue(captured_name), nullptr);
    ASSERT_NE(sub->FindValue("x"), nullptr);
    EXPECT_TRUE(sub->FindValue("x")->is_outer_ref());
  }
  // The result is still a valid ONNX model.
  EXPECT_TRUE(ir::CheckModel(*model).ok()) << ir::CheckModel(*model).ToString();
}

TEST(Graph, CapturedValuesCountAsUses) {
  auto model = IfCapturingIdentityOutput();
  ir::Value* t = model->graph->nodes()[0]->output(0);
  ASSERT_EQ(t->uses().size(), 1u);
  EXPECT_EQ(t->uses()[0].index, -1);
}

TEST(Graph, SerializedSubgraphsRoundTrip) {
  auto model = IfCapturingIdentityOutput();
  auto bytes = SerializeModel(*model);
  ASSERT_TRUE(bytes.ok());
  auto reloaded = LoadModelFromBytes(*bytes);
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  ir::Node* if_node = (*reloaded)->graph->nodes()[1];
  ASSERT_EQ(if_node->op_type(), "If");
  ASSERT_EQ(if_node->implicit_inputs().size(), 1u);
  auto again = SerializeModel(**reloaded);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*bytes, *again);
}

TEST(Graph, BypassKeepsGraphOutputNames) {
  testing::ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* r = b.Op("Relu", {x});
  auto* y = b.Op("Identity", {r});
  b.graph().RenameValue(y, "y");
  b.Output(y);
  auto model = b.Build();
  ir::Graph& g = *model->graph;
  ASSERT_TRUE(BypassNode(g, g.nodes()[1]));
  ASSERT_EQ(g.num_nodes(), 1u);
  EXPECT_EQ(g.outputs()[0]->name(), "y");
  EXPECT_EQ(g.outputs()[0]->producer()->op_type(), "Relu");
}

TEST(Graph, BypassRefusesWhenInputIsAGraphInput) {
  testing::ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* y = b.Op("Identity", {x});
  b.Output(y);
  auto model = b.Build();
  EXPECT_FALSE(BypassNode(*model->graph, model->graph->nodes()[0]));
  EXPECT_EQ(model->graph->num_nodes(), 1u);
}

TEST(Graph, CloneSharesWeightBytes) {
  auto model = LoadModel(testing::SharedModel("squeezenet1_1.raw.onnx"));
  ASSERT_TRUE(model.ok());
  auto clone = ir::CloneModel(**model);
  auto a = SerializeModel(**model);
  auto b = SerializeModel(*clone);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  ir::Value* w = (*model)->graph->initializers()[0];
  EXPECT_EQ(w->initializer()->raw(), clone->graph->FindValue(w->name())->initializer()->raw());
}

}  // namespace
}  // namespace graphopt
