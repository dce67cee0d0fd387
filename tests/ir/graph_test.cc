// Graph IR: structural errors, subgraph captures, renames, output names, cloning.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/onnx_convert.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/rewrite_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

onnx::ModelProto TwoNodeModel(const std::string& first_input, const std::string& second_input) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  auto* a = g->add_node();
  a->set_name("a");
  a->set_op_type("Relu");
  a->add_input(first_input);
  a->add_output("ya");
  auto* b = g->add_node();
  b->set_name("b");
  b->set_op_type("Relu");
  b->add_input(second_input);
  b->add_output("yb");
  g->add_output()->set_name("yb");
  return m;
}

TEST(Graph, CycleIsAnErrorNamingANode) {
  auto proto = TwoNodeModel("yb", "ya");
  auto model = LoadModelFromBytes(proto.SerializeAsString());
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("cycle"), std::string::npos) << model.status().message();
}

TEST(Graph, DanglingInputIsAnErrorNamingTheValue) {
  auto proto = TwoNodeModel("x", "nowhere");
  auto model = LoadModelFromBytes(proto.SerializeAsString());
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("'nowhere'"), std::string::npos) << model.status().message();
}

TEST(Graph, OutOfOrderNodesAreSorted) {
  auto proto = TwoNodeModel("x", "ya");
  proto.mutable_graph()->mutable_node()->SwapElements(0, 1);
  auto model = LoadModelFromBytes(proto.SerializeAsString());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->graph->nodes()[0]->name(), "a");
}

// x -> Identity -> t; If(cond) { then: Add(t, one) ; else: Sub(t, one) } -> y
std::unique_ptr<ir::Model> IfCapturingIdentityOutput() {
  testing::ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* cond = b.Input("cond", DataType::kBool, {});
  auto* t = b.Op("Identity", {x});
  ir::Node* if_node = b.graph().AddNode("If", {cond}, 1, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::kGraph;
    a.g = std::make_unique<ir::Graph>(&b.graph(), if_node);
    ir::Graph& sub = *a.g;
    sub.name = branch;
    ir::Value* captured = sub.OuterRef(t->name());
    ir::Value* one = sub.AddInitializer(std::string(branch) + "_one",
                                        Tensor::FromVector<float>(DataType::kFloat, {1}, {1.0f}));
    ir::Node* op = sub.AddNode(std::string(branch) == "then_branch" ? "Add" : "Sub", {captured, one}, 1);
    op->output(0)->type() = ir::ValueType::FromShape(DataType::kFloat, {2});
    sub.AddOutput(op->output(0));
    if_node->mutable_attributes().push_back(std::move(a));
  }
  if_node->AddImplicitInput(t);
  if_node->output(0)->type() = ir::ValueType::FromShape(DataType::kFloat, {2});
  b.Output(if_node->output(0));
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
