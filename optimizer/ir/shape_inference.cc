#include "optimizer/ir/shape_inference.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include "optimizer/ir/fused_op_schemas.h"
#include "optimizer/ir/onnx_convert.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/util/onnx_check.h"

#include <unordered_set>

namespace graphopt::ir {

namespace {

// Exports the model for ONNX's tools without copying weights; the bytes return on destruction.
class LentProto {
 public:
  explicit LentProto(Model& model) : model_(model) { ModelToProto(model, &proto, /*lend_bytes=*/true); }
  ~LentProto() { ReclaimLentBytes(model_, &proto); }
  onnx::ModelProto proto;

 private:
  Model& model_;
};

// True when `b` says more than `a` (a known rank or more known dims).
bool MoreSpecific(const ValueType& a, const ValueType& b) {
  if (!b.has_type()) return false;
  if (!a.has_type()) return true;
  if (!b.shape) return false;
  if (!a.shape) return true;
  if (a.shape->size() != b.shape->size()) return false;
  for (size_t i = 0; i < a.shape->size(); ++i) {
    if (!(*a.shape)[i].known() && (*b.shape)[i].known()) return true;
  }
  return false;
}

// Shape inference reads the values of small initializers (shape operands) but only the types
// of large ones: those are declared as typed graph inputs instead, so no weights are copied.
void ExportForShapeInference(Model& model, onnx::ModelProto* proto) {
  constexpr size_t kValueNeededBelow = 4096;
  std::vector<std::pair<std::string, const Tensor*>> as_inputs;
  ModelToProto(model, proto, /*lend_bytes=*/false,
               [&](const std::string& name, const Tensor& t, onnx::TensorProto*) {
                 if (t.nbytes() < kValueNeededBelow) return false;
                 as_inputs.emplace_back(name, &t);
                 return true;
               });
  if (as_inputs.empty()) return;
  auto* graph = proto->mutable_graph();
  std::unordered_set<std::string> moved;
  for (const auto& [name, t] : as_inputs) {
    moved.insert(name);
    auto* in = graph->add_input();
    in->set_name(name);
    ValueTypeToProto(ValueType::FromShape(t->dtype(), t->shape()), in->mutable_type());
  }
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  for (auto& init : *graph->mutable_initializer()) {
    if (!moved.count(init.name())) kept.Add()->Swap(&init);
  }
  graph->mutable_initializer()->Swap(&kept);
}

// Drops the exported intermediate types (stale ones must not conflict with fresh ones) except
// those of values whose producer no schema can infer: ONNX keeps its hands off those values, so
// their known types stand and inference flows on past the node instead of stopping there.
void KeepTypesBehindOpaqueNodes(const Model& model, const onnx::ISchemaRegistry& registry,
                                onnx::GraphProto* graph) {
  std::unordered_set<std::string> keep;
  for (const Node* n : model.graph->nodes()) {
    const auto version = static_cast<int>(model.OpsetVersion(n->domain()));
    if (registry.GetSchema(n->op_type(), version, n->domain())) continue;
    for (const Value* v : n->outputs()) {
      if (v) keep.insert(v->name());
    }
  }
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (auto& vi : *graph->mutable_value_info()) {
    if (keep.count(vi.name())) kept.Add()->Swap(&vi);
  }
  graph->mutable_value_info()->Swap(&kept);
}

}  // namespace

Status InferShapes(Model& model) {
  onnx::ModelProto proto;
  ExportForShapeInference(model, &proto);
  auto* graph = proto.mutable_graph();
  const onnx::ISchemaRegistry& registry = FusedOpSchemaRegistry();
  KeepTypesBehindOpaqueNodes(model, registry, graph);
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/false, /*error_mode=*/0,
                                        /*data_prop=*/true);
    onnx::shape_inference::InferShapes(proto, &registry, options);
  } catch (const std::exception& e) {
    InferSymbolicShapes(model);
    return InvalidArgument(std::string("shape inference failed: ") + e.what());
  }
  for (const auto& vi : graph->value_info()) {
    Value* v = model.graph->FindValue(vi.name());
    if (!v || v->is_graph_input() || v->has_initializer()) continue;
    ValueType inferred = ValueTypeFromProto(vi.type());
    if (inferred.has_type()) v->type() = std::move(inferred);
  }
  for (const auto& vi : graph->output()) {
    Value* v = model.graph->FindValue(vi.name());
    if (!v) continue;
    ValueType inferred = ValueTypeFromProto(vi.type());
    if (MoreSpecific(v->type(), inferred)) v->type() = std::move(inferred);
  }
  // What ONNX leaves unknown (Reshape to shapes computed from Shape, dims of symbols times
  // numbers...) the symbolic propagation fills.
  InferSymbolicShapes(model);
  return Status::Ok();
}

Status CheckModel(Model& model) {
  LentProto lent(model);
  return CheckOnnxModel(lent.proto);
}

void FixDims(Model& model, const std::map<std::string, int64_t>& dims) {
  if (dims.empty()) return;
  auto fix = [&](Value* v) {
    auto& shape = v->type().shape;
    if (!shape) return;
    for (Dim& d : *shape) {
      auto it = d.known() ? dims.end() : dims.find(d.param);
      if (it != dims.end()) d = Dim{it->second, ""};
    }
  };
  Graph& g = *model.graph;
  for (Value* v : g.inputs()) fix(v);
  for (Value* v : g.outputs()) fix(v);
  for (Node* n : g.nodes()) {
    for (Value* v : n->outputs()) {
      if (v) fix(v);
    }
  }
}

namespace {

void CloneGraphInto(const Graph& src, Graph& dst);

Attribute CloneAttribute(const Attribute& a, Graph& owner_graph, Node* owner) {
  Attribute c;
  c.name = a.name;
  c.type = a.type;
  c.f = a.f;
  c.i = a.i;
  c.s = a.s;
  c.t = a.t;
  c.floats = a.floats;
  c.ints = a.ints;
  c.strings = a.strings;
  c.tensors = a.tensors;
  c.ref_attr_name = a.ref_attr_name;
  c.doc_string = a.doc_string;
  c.opaque = a.opaque;
  if (a.g) {
    c.g = std::make_unique<Graph>(&owner_graph, owner);
    CloneGraphInto(*a.g, *c.g);
  }
  for (const auto& g : a.graphs) {
    c.graphs.push_back(std::make_unique<Graph>(&owner_graph, owner));
    CloneGraphInto(*g, *c.graphs.back());
  }
  return c;
}

Value* Lookup(Graph& g, const std::string& name) {
  if (Value* v = g.FindValue(name)) return v;
  return g.parent() ? g.OuterRef(name) : nullptr;
}

void CloneGraphInto(const Graph& src, Graph& dst) {
  dst.name = src.name;
  dst.doc_string = src.doc_string;
  for (Value* v : src.initializers()) dst.AddInitializer(v->name(), *v->initializer());
  for (Value* v : src.inputs()) {
    Value* c = dst.AddInput(v->name(), v->type());
    c->doc_string = v->doc_string;
  }
  const auto nodes = src.nodes();
  for (Node* n : nodes) {
    for (Value* out : n->outputs()) {
      if (out) dst.GetOrCreateValue(out->name())->type() = out->type();
    }
  }
  for (Node* n : nodes) {
    std::vector<Value*> ins, outs;
    for (Value* v : n->inputs()) ins.push_back(v ? Lookup(dst, v->name()) : nullptr);
    for (Value* v : n->outputs()) outs.push_back(v ? dst.FindValue(v->name()) : nullptr);
    if (!n->name().empty()) dst.names().insert("\x01" + n->name());
    Node* c = dst.AddNodeWithOutputs(n->op_type(), ins, outs, n->name(), n->domain());
    c->doc_string = n->doc_string;
    for (const auto& a : n->attributes()) c->mutable_attributes().push_back(CloneAttribute(a, dst, c));
    for (Value* v : n->implicit_inputs()) c->AddImplicitInput(Lookup(dst, v->name()));
  }
  for (Value* v : src.outputs()) {
    Value* c = Lookup(dst, v->name());
    c->type() = v->type();
    c->doc_string = v->doc_string;
    dst.AddOutput(c);
  }
}

}  // namespace

std::unique_ptr<Model> CloneModel(const Model& model) {
  auto c = std::make_unique<Model>();
  c->ir_version = model.ir_version;
  c->opset_imports = model.opset_imports;
  c->producer_name = model.producer_name;
  c->producer_version = model.producer_version;
  c->domain = model.domain;
  c->doc_string = model.doc_string;
  c->model_version = model.model_version;
  c->metadata_props = model.metadata_props;
  c->opaque_functions = model.opaque_functions;
  c->opaque_training_info = model.opaque_training_info;
  c->graph = std::make_unique<Graph>();
  CloneGraphInto(*model.graph, *c->graph);
  return c;
}

}  // namespace graphopt::ir
