#include "robust/hostile_models.h"

#include <onnx/onnx_pb.h>

#include <string>
#include <utility>
#include <vector>

namespace graphopt::testing {

namespace {

void SetType(onnx::ValueInfoProto* value, const std::string& name, int elem_type,
             const std::vector<int64_t>& dims) {
  value->set_name(name);
  auto* tensor = value->mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(elem_type);
  auto* shape = tensor->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op,
                         const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs, const std::string& domain = "") {
  onnx::NodeProto* node = g->add_node();
  node->set_op_type(op);
  node->set_domain(domain);
  node->set_name(outputs.front() + "_node");
  for (const auto& i : inputs) node->add_input(i);
  for (const auto& o : outputs) node->add_output(o);
  return node;
}

onnx::ModelProto NewModel(int64_t opset) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.set_producer_name("graphopt-robust-test");
  auto* import = model.add_opset_import();
  import->set_domain("");
  import->set_version(opset);
  return model;
}

void AddInt64Initializer(onnx::GraphProto* g, const std::string& name,
                         const std::vector<int64_t>& dims, const std::vector<int64_t>& values) {
  onnx::TensorProto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
}

}  // namespace

std::string EndlessLoopModelBytes(int64_t trip_count) {
  onnx::ModelProto model = NewModel(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("endless_loop");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {1});
  AddInt64Initializer(g, "trip_count", {}, {trip_count});
  onnx::TensorProto* keep_going = g->add_initializer();
  keep_going->set_name("keep_going");
  keep_going->set_data_type(onnx::TensorProto::BOOL);
  keep_going->add_int32_data(1);
  onnx::NodeProto* loop = AddNode(g, "Loop", {"trip_count", "keep_going", "x"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {1});

  onnx::AttributeProto* body_attr = loop->add_attribute();
  body_attr->set_name("body");
  body_attr->set_type(onnx::AttributeProto::GRAPH);
  onnx::GraphProto* body = body_attr->mutable_g();
  body->set_name("body");
  SetType(body->add_input(), "i", onnx::TensorProto::INT64, {});
  SetType(body->add_input(), "cond_in", onnx::TensorProto::BOOL, {});
  SetType(body->add_input(), "v_in", onnx::TensorProto::FLOAT, {1});
  onnx::TensorProto* one = body->add_initializer();
  one->set_name("one");
  one->set_data_type(onnx::TensorProto::FLOAT);
  one->add_dims(1);
  one->add_float_data(1.0f);
  AddNode(body, "Identity", {"cond_in"}, {"cond_out"});
  AddNode(body, "Add", {"v_in", "one"}, {"v_out"});
  SetType(body->add_output(), "cond_out", onnx::TensorProto::BOOL, {});
  SetType(body->add_output(), "v_out", onnx::TensorProto::FLOAT, {1});
  return model.SerializeAsString();
}

std::string MemoryBombModelBytes(int64_t side) {
  onnx::ModelProto model = NewModel(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("memory_bomb");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {1});
  AddInt64Initializer(g, "shape", {2}, {side, side});
  onnx::NodeProto* fill = AddNode(g, "ConstantOfShape", {"shape"}, {"big"});
  onnx::AttributeProto* value = fill->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::FLOAT);
  value->mutable_t()->add_dims(1);
  value->mutable_t()->add_float_data(1.0f);
  AddNode(g, "Add", {"big", "x"}, {"sum"});
  AddNode(g, "ReduceSum", {"sum"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 1});
  return model.SerializeAsString();
}

std::string AbortingModelBytes() {
  onnx::ModelProto model = NewModel(17);
  auto* test_domain = model.add_opset_import();
  test_domain->set_domain("graphopt.test");
  test_domain->set_version(1);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("aborting");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {1, 4});
  AddNode(g, "Relu", {"x"}, {"r"});
  AddNode(g, "Abort", {"r"}, {"y"}, "graphopt.test");
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {1, 4});
  return model.SerializeAsString();
}

std::string WrongElementTypeModelBytes() {
  onnx::ModelProto model = NewModel(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("wrong_element_type");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  SetType(g->add_input(), "n", onnx::TensorProto::INT64, {2});
  AddNode(g, "Add", {"x", "n"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {2});
  return model.SerializeAsString();
}

std::string ImpossibleReshapeModelBytes() {
  onnx::ModelProto model = NewModel(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("impossible_reshape");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 3});
  AddInt64Initializer(g, "shape", {1}, {7});
  AddNode(g, "Reshape", {"x", "shape"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {7});
  return model.SerializeAsString();
}

std::string ReluModelBytes(int64_t opset) {
  onnx::ModelProto model = NewModel(opset);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("relu");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  AddNode(g, "Relu", {"x"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {2});
  return model.SerializeAsString();
}

std::string ReduceMeanOpset18ModelBytes() {
  onnx::ModelProto model = NewModel(18);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("reduce_mean_18");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2, 3});
  AddInt64Initializer(g, "axes", {1}, {1});
  AddNode(g, "ReduceMean", {"x", "axes"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {2, 1});
  return model.SerializeAsString();
}

std::string NestedIfModelBytes(int depth) {
  onnx::ModelProto model = NewModel(13);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("nested_if");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  SetType(g->add_input(), "c", onnx::TensorProto::BOOL, {});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {2});
  onnx::GraphProto* current = g;
  std::string out = "y";
  auto branch = [](onnx::NodeProto* node, const char* name) {
    onnx::AttributeProto* attr = node->add_attribute();
    attr->set_name(name);
    attr->set_type(onnx::AttributeProto::GRAPH);
    return attr->mutable_g();
  };
  for (int level = 1; level <= depth; ++level) {
    const std::string k = std::to_string(level);
    onnx::NodeProto* node = AddNode(current, "If", {"c"}, {out});
    onnx::GraphProto* then_graph = branch(node, "then_branch");
    onnx::GraphProto* else_graph = branch(node, "else_branch");
    then_graph->set_name("then" + k);
    else_graph->set_name("else" + k);
    AddNode(else_graph, "Identity", {"x"}, {"e" + k});
    SetType(else_graph->add_output(), "e" + k, onnx::TensorProto::FLOAT, {2});
    out = "t" + k;
    SetType(then_graph->add_output(), out, onnx::TensorProto::FLOAT, {2});
    current = then_graph;
  }
  AddNode(current, "Identity", {"x"}, {out});
  return model.SerializeAsString();
}

std::string ExternalWeightModelBytes(const std::string& location) {
  onnx::ModelProto model = NewModel(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("external_weight");
  SetType(g->add_input(), "x", onnx::TensorProto::FLOAT, {2});
  onnx::TensorProto* w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(2);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : {std::pair<std::string, std::string>{"location", location},
                                   {"offset", "0"},
                                   {"length", "8"}}) {
    auto* entry = w->add_external_data();
    entry->set_key(key);
    entry->set_value(value);
  }
  AddNode(g, "Add", {"x", "w"}, {"y"});
  SetType(g->add_output(), "y", onnx::TensorProto::FLOAT, {2});
  return model.SerializeAsString();
}

}  // namespace graphopt::testing
