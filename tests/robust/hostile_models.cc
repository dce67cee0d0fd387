#include "robust/hostile_models.h"

#include <onnx/onnx_pb.h>

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

}  // namespace graphopt::testing
