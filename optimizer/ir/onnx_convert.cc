#include "optimizer/ir/onnx_convert.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <stdexcept>

namespace graphopt::ir {

namespace {

template <typename T, typename Field>
std::string PackAs(const Field& field) {
  std::string bytes(static_cast<size_t>(field.size()) * sizeof(T), '\0');
  T* out = reinterpret_cast<T*>(bytes.data());
  for (int i = 0; i < field.size(); ++i) out[i] = static_cast<T>(field.Get(i));
  return bytes;
}

}  // namespace

Result<Tensor> TensorFromProto(onnx::TensorProto& p, const ExternalDataReader& external) {
  const auto type = static_cast<DataType>(p.data_type());
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument("tensor '" + p.name() + "' has a negative dimension");
  }
  if (type == DataType::kString) {
    std::vector<std::string> values(p.string_data().begin(), p.string_data().end());
    if (static_cast<int64_t>(values.size()) != NumElements(shape)) {
      return InvalidArgument("string tensor '" + p.name() + "' has the wrong element count");
    }
    return Tensor::Strings(std::move(shape), std::move(values));
  }
  const size_t esize = ElementSize(type);
  if (esize == 0) {
    return Unimplemented("tensor '" + p.name() + "' has unsupported element type " +
                         std::to_string(p.data_type()));
  }
  const size_t expected = static_cast<size_t>(NumElements(shape)) * esize;
  std::string bytes;
  if (p.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const auto& kv : p.external_data()) {
      if (kv.key() == "location") location = kv.value();
      else if (kv.key() == "offset") offset = std::stoll(kv.value());
      else if (kv.key() == "length") length = std::stoll(kv.value());
    }
    if (location.empty()) return InvalidArgument("tensor '" + p.name() + "': external data without location");
    if (!external) return InvalidArgument("tensor '" + p.name() + "' uses external data but no folder is known");
    ASSIGN_OR_RETURN(bytes, external(location, offset, length < 0 ? static_cast<int64_t>(expected) : length));
  } else if (p.has_raw_data()) {
    bytes.swap(*p.mutable_raw_data());
  } else {
    switch (type) {
      case DataType::kFloat: bytes = PackAs<float>(p.float_data()); break;
      case DataType::kDouble: bytes = PackAs<double>(p.double_data()); break;
      case DataType::kInt64: bytes = PackAs<int64_t>(p.int64_data()); break;
      case DataType::kUint64: case DataType::kUint32: 
        bytes = type == DataType::kUint64 ? PackAs<uint64_t>(p.uint64_data())
                                          : PackAs<uint32_t>(p.uint64_data());
        break;
      case DataType::kInt32: bytes = PackAs<int32_t>(p.int32_data()); break;
      case DataType::kInt16: bytes = PackAs<int16_t>(p.int32_data()); break;
      case DataType::kUint16: case DataType::kFloat16: case DataType::kBfloat16:
        bytes = PackAs<uint16_t>(p.int32_data());
        break;
      case DataType::kInt8: bytes = PackAs<int8_t>(p.int32_data()); break;
      case DataType::kUint8: case DataType::kBool: bytes = PackAs<uint8_t>(p.int32_data()); break;
      case DataType::kComplex64: bytes = PackAs<float>(p.float_data()); break;
      case DataType::kComplex128: bytes = PackAs<double>(p.double_data()); break;
      default: break;
    }
  }
  if (bytes.size() != expected) {
    return InvalidArgument("tensor '" + p.name() + "' holds " + std::to_string(bytes.size()) +
                           " bytes but its shape " + ShapeToString(shape) + " needs " +
                           std::to_string(expected));
  }
  return Tensor(type, std::move(shape), std::move(bytes));
}

void TensorToProto(const Tensor& t, onnx::TensorProto* p) {
  p->set_data_type(static_cast<int32_t>(t.dtype()));
  for (int64_t d : t.shape()) p->add_dims(d);
  if (t.dtype() == DataType::kString) {
    for (const auto& s : t.strings()) p->add_string_data(s);
  } else {
    p->set_raw_data(t.bytes());
  }
}

ValueType ValueTypeFromProto(const onnx::TypeProto& tp) {
  ValueType vt;
  if (!tp.has_tensor_type()) {
    if (tp.value_case() != onnx::TypeProto::VALUE_NOT_SET) vt.opaque_type_proto = tp.SerializeAsString();
    return vt;
  }
  const auto& tt = tp.tensor_type();
  vt.elem_type = static_cast<DataType>(tt.elem_type());
  if (tt.has_shape()) {
    vt.shape.emplace();
    for (const auto& d : tt.shape().dim()) {
      Dim dim;
      if (d.has_dim_value()) dim.value = d.dim_value();
      else if (d.has_dim_param()) dim.param = d.dim_param();
      vt.shape->push_back(dim);
    }
  }
  return vt;
}

void ValueTypeToProto(const ValueType& vt, onnx::TypeProto* tp) {
  if (!vt.opaque_type_proto.empty()) {
    tp->ParseFromString(vt.opaque_type_proto);
    return;
  }
  auto* tt = tp->mutable_tensor_type();
  tt->set_elem_type(static_cast<int32_t>(vt.elem_type));
  if (vt.shape) {
    auto* shape = tt->mutable_shape();
    for (const Dim& d : *vt.shape) {
      auto* pd = shape->add_dim();
      if (d.known()) pd->set_dim_value(d.value);
      else if (!d.param.empty()) pd->set_dim_param(d.param);
    }
  }
}

namespace {

class Importer {
 public:
  explicit Importer(const ExternalDataReader& external) : external_(external) {}

  Status ImportGraph(onnx::GraphProto& gp, Graph& g) {
    g.name = gp.name();
    g.doc_string = gp.doc_string();
    if (gp.sparse_initializer_size() > 0) {
      return Unimplemented("graph '" + gp.name() + "' has sparse initializers, which graphopt does not support");
    }
    // Pass 1: every name this graph defines.
    for (auto& init : *gp.mutable_initializer()) {
      if (init.name().empty()) return InvalidArgument("an initializer has no name");
      ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, external_));
      if (g.FindValue(init.name()) && g.FindValue(init.name())->has_initializer()) {
        return InvalidArgument("initializer '" + init.name() + "' is defined twice");
      }
      RETURN_IF_ERROR(CheckFreshName(g, init.name()));
      g.AddInitializer(init.name(), std::move(t));
    }
    for (const auto& in : gp.input()) {
      if (g.FindValue(in.name()) && g.FindValue(in.name())->is_graph_input()) {
        return InvalidArgument("graph input '" + in.name() + "' is declared twice");
      }
      if (!g.FindValue(in.name())) RETURN_IF_ERROR(CheckFreshName(g, in.name()));
      Value* v = g.AddInput(in.name(), ValueTypeFromProto(in.type()));
      v->doc_string = in.doc_string();
    }
    for (const auto& np : gp.node()) {
      for (const auto& out : np.output()) {
        if (out.empty()) continue;
        Value* existing = g.FindValue(out);
        if (existing && (existing->has_initializer() || existing->is_graph_input() || declared_.count(existing))) {
          return InvalidArgument("value '" + out + "' is produced twice (node '" + np.name() + "')");
        }
        if (!existing) RETURN_IF_ERROR(CheckFreshName(g, out));
        declared_.insert(g.GetOrCreateValue(out));
      }
    }
    // Pass 2: nodes, now that every local name resolves.
    for (auto& np : *gp.mutable_node()) RETURN_IF_ERROR(ImportNode(np, g));
    for (const auto& vi : gp.value_info()) {
      if (Value* v = g.FindValue(vi.name())) {
        if (!v->is_graph_input()) v->type() = ValueTypeFromProto(vi.type());
      }
    }
    for (const auto& out : gp.output()) {
      Value* v = Resolve(g, out.name());
      if (!v) return InvalidArgument("graph output '" + out.name() + "' is never produced");
      if (out.has_type()) {
        ValueType vt = ValueTypeFromProto(out.type());
        if (vt.has_type()) v->type() = vt;
      }
      if (!out.doc_string().empty()) v->doc_string = out.doc_string();
      g.AddOutput(v);
    }
    return Status::Ok();
  }

 private:
  Status CheckFreshName(Graph& g, const std::string& name) {
    // ONNX requires names to be unique across nested scopes (no shadowing).
    if (g.parent() && g.names().count(name)) {
      return InvalidArgument("subgraph value '" + name + "' shadows a name of an enclosing graph");
    }
    return Status::Ok();
  }

  // A name read by a node: local, or captured from an enclosing graph.
  Value* Resolve(Graph& g, const std::string& name) {
    if (Value* v = g.FindValue(name)) return v;
    if (!g.parent()) return nullptr;
    // Captured: the enclosing graph must know it (directly or by capture itself).
    if (!Resolve(*g.parent(), name)) return nullptr;
    return g.OuterRef(name);
  }

  Status ImportNode(onnx::NodeProto& np, Graph& g) {
    std::vector<Value*> inputs;
    for (const auto& in : np.input()) {
      if (in.empty()) {
        inputs.push_back(nullptr);
        continue;
      }
      Value* v = Resolve(g, in);
      if (!v) {
        return InvalidArgument("node '" + np.name() + "' (" + np.op_type() + ") reads '" + in +
                               "', which no node, input or initializer defines");
      }
      inputs.push_back(v);
    }
    std::vector<Value*> outputs;  // nullptr keeps the slot of an omitted optional output
    for (const auto& out : np.output()) outputs.push_back(out.empty() ? nullptr : g.FindValue(out));
    std::string name = np.name();
    if (!name.empty()) g.names().insert("\x01" + name);
    Node* n = g.AddNodeWithOutputs(np.op_type(), inputs, outputs, name, np.domain());
    n->doc_string = np.doc_string();
    for (auto& ap : *np.mutable_attribute()) {
      Attribute a;
      RETURN_IF_ERROR(ImportAttribute(ap, g, n, a));
      n->mutable_attributes().push_back(std::move(a));
    }
    // Subgraph captures become implicit inputs of this node.
    for (Graph* sub : n->Subgraphs()) RETURN_IF_ERROR(LinkCaptures(*sub, g, n));
    return Status::Ok();
  }

  Status LinkCaptures(Graph& sub, Graph& g, Node* n) {
    for (Node* inner : sub.nodes()) {
      for (Value* v : inner->inputs()) {
        if (v && v->is_outer_ref()) RETURN_IF_ERROR(AddImplicit(g, n, v->name()));
      }
      for (Value* v : inner->implicit_inputs()) {
        if (v->is_outer_ref()) RETURN_IF_ERROR(AddImplicit(g, n, v->name()));
      }
    }
    for (Value* v : sub.outputs()) {
      if (v->is_outer_ref()) RETURN_IF_ERROR(AddImplicit(g, n, v->name()));
    }
    return Status::Ok();
  }

  Status AddImplicit(Graph& g, Node* n, const std::string& name) {
    Value* v = Resolve(g, name);
    if (!v) return InvalidArgument("subgraph of node '" + n->name() + "' reads unknown value '" + name + "'");
    for (Value* existing : n->implicit_inputs()) {
      if (existing == v) return Status::Ok();
    }
    n->AddImplicitInput(v);
    return Status::Ok();
  }

  Status ImportAttribute(onnx::AttributeProto& ap, Graph& g, Node* n, Attribute& a) {
    a.name = ap.name();
    a.ref_attr_name = ap.ref_attr_name();
    a.doc_string = ap.doc_string();
    a.type = static_cast<AttrType>(ap.type());
    switch (ap.type()) {
      case onnx::AttributeProto::FLOAT: a.f = ap.f(); break;
      case onnx::AttributeProto::INT: a.i = ap.i(); break;
      case onnx::AttributeProto::STRING: a.s = ap.s(); break;
      case onnx::AttributeProto::TENSOR: {
        ASSIGN_OR_RETURN(a.t, TensorFromProto(*ap.mutable_t(), external_));
        break;
      }
      case onnx::AttributeProto::GRAPH: {
        a.g = std::make_unique<Graph>(&g, n);
        RETURN_IF_ERROR(ImportGraph(*ap.mutable_g(), *a.g));
        break;
      }
      case onnx::AttributeProto::FLOATS: a.floats.assign(ap.floats().begin(), ap.floats().end()); break;
      case onnx::AttributeProto::INTS: a.ints.assign(ap.ints().begin(), ap.ints().end()); break;
      case onnx::AttributeProto::STRINGS: a.strings.assign(ap.strings().begin(), ap.strings().end()); break;
      case onnx::AttributeProto::TENSORS:
        for (auto& tp : *ap.mutable_tensors()) {
          ASSIGN_OR_RETURN(Tensor t, TensorFromProto(tp, external_));
          a.tensors.push_back(std::move(t));
        }
        break;
      case onnx::AttributeProto::GRAPHS:
        for (auto& gp : *ap.mutable_graphs()) {
          a.graphs.push_back(std::make_unique<Graph>(&g, n));
          RETURN_IF_ERROR(ImportGraph(gp, *a.graphs.back()));
        }
        break;
      default:
        a.opaque = ap.SerializeAsString();
        break;
    }
    return Status::Ok();
  }

  const ExternalDataReader& external_;
  std::unordered_set<Value*> declared_;
};

}  // namespace

// ---------------------------------------------------------------- export

namespace {

class Exporter {
 public:
  Exporter(bool lend, const InitializerSink& sink) : lend_(lend), sink_(sink) {}

  void ExportGraph(Graph& g, onnx::GraphProto* gp) {
    gp->set_name(g.name);
    if (!g.doc_string.empty()) gp->set_doc_string(g.doc_string);
    for (Node* n : g.nodes()) ExportNode(*n, gp->add_node());
    for (Value* v : g.initializers()) {
      auto* tp = gp->add_initializer();
      tp->set_name(v->name());
      const Tensor& t = *v->initializer();
      if (sink_ && sink_(v->name(), t, tp)) continue;
      tp->set_data_type(static_cast<int32_t>(t.dtype()));
      for (int64_t d : t.shape()) tp->add_dims(d);
      if (t.dtype() == DataType::kString) {
        for (const auto& s : t.strings()) tp->add_string_data(s);
      } else if (std::string* owned =
                     lend_ && !g.parent() ? const_cast<Tensor&>(t).exclusive_bytes() : nullptr) {
        tp->mutable_raw_data()->swap(*owned);
      } else {
        tp->set_raw_data(t.bytes());
      }
    }
    for (Value* v : g.inputs()) ExportValueInfo(*v, gp->add_input());
    for (Value* v : g.outputs()) ExportValueInfo(*v, gp->add_output());
    // value_info: intermediate values whose type is known.
    for (Node* n : g.nodes()) {
      for (Value* v : n->outputs()) {
        if (v && v->type().has_type() && !v->is_graph_output()) ExportValueInfo(*v, gp->add_value_info());
      }
    }
  }

 private:
  void ExportValueInfo(const Value& v, onnx::ValueInfoProto* vi) {
    vi->set_name(v.name());
    if (!v.doc_string.empty()) vi->set_doc_string(v.doc_string);
    if (v.type().has_type()) ValueTypeToProto(v.type(), vi->mutable_type());
  }

  void ExportNode(Node& n, onnx::NodeProto* np) {
    if (!n.name().empty()) np->set_name(n.name());
    np->set_op_type(n.op_type());
    if (!n.domain().empty()) np->set_domain(n.domain());
    if (!n.doc_string.empty()) np->set_doc_string(n.doc_string);
    for (Value* v : n.inputs()) np->add_input(v ? v->name() : "");
    // Trailing omitted optional outputs are simply dropped.
    size_t last = n.outputs().size();
    while (last > 0 && !n.outputs()[last - 1]) --last;
    for (size_t i = 0; i < last; ++i) np->add_output(n.outputs()[i] ? n.outputs()[i]->name() : "");
    for (auto& a : n.mutable_attributes()) ExportAttribute(a, np->add_attribute());
  }

  void ExportAttribute(Attribute& a, onnx::AttributeProto* ap) {
    if (!a.opaque.empty()) {
      ap->ParseFromString(a.opaque);
      return;
    }
    ap->set_name(a.name);
    if (!a.ref_attr_name.empty()) ap->set_ref_attr_name(a.ref_attr_name);
    if (!a.doc_string.empty()) ap->set_doc_string(a.doc_string);
    ap->set_type(static_cast<onnx::AttributeProto::AttributeType>(a.type));
    switch (a.type) {
      case AttrType::kFloat: ap->set_f(a.f); break;
      case AttrType::kInt: ap->set_i(a.i); break;
      case AttrType::kString: ap->set_s(a.s); break;
      case AttrType::kTensor: TensorToProto(a.t, ap->mutable_t()); break;
      case AttrType::kGraph: ExportGraph(*a.g, ap->mutable_g()); break;
      case AttrType::kFloats: for (float f : a.floats) ap->add_floats(f); break;
      case AttrType::kInts: for (int64_t i : a.ints) ap->add_ints(i); break;
      case AttrType::kStrings: for (const auto& s : a.strings) ap->add_strings(s); break;
      case AttrType::kTensors: for (const auto& t : a.tensors) TensorToProto(t, ap->add_tensors()); break;
      case AttrType::kGraphs: for (auto& g : a.graphs) ExportGraph(*g, ap->add_graphs()); break;
      default: break;
    }
  }

  bool lend_;
  const InitializerSink& sink_;
};

}  // namespace

Result<std::unique_ptr<Model>> ModelFromProto(onnx::ModelProto& proto,
                                              const ExternalDataReader& external) {
  auto model = std::make_unique<Model>();
  model->ir_version = proto.ir_version();
  for (const auto& o : proto.opset_import()) model->opset_imports.push_back({o.domain(), o.version()});
  model->producer_name = proto.producer_name();
  model->producer_version = proto.producer_version();
  model->domain = proto.domain();
  model->model_version = proto.model_version();
  model->doc_string = proto.doc_string();
  for (const auto& kv : proto.metadata_props()) model->metadata_props.emplace_back(kv.key(), kv.value());
  for (const auto& f : proto.functions()) model->opaque_functions.push_back(f.SerializeAsString());
  for (const auto& t : proto.training_info()) model->opaque_training_info.push_back(t.SerializeAsString());
  if (!proto.has_graph()) return InvalidArgument("the model has no graph");
  model->graph = std::make_unique<Graph>();
  Importer importer(external);
  RETURN_IF_ERROR(importer.ImportGraph(*proto.mutable_graph(), *model->graph));
  proto.clear_graph();  // its tensors were moved out; release what is left now
  RETURN_IF_ERROR(model->graph->SortTopologically());
  return model;
}

void ModelToProto(Model& model, onnx::ModelProto* proto, bool lend_bytes, const InitializerSink& sink) {
  proto->set_ir_version(model.ir_version);
  for (const auto& o : model.opset_imports) {
    auto* op = proto->add_opset_import();
    op->set_domain(o.domain);
    op->set_version(o.version);
  }
  if (!model.producer_name.empty()) proto->set_producer_name(model.producer_name);
  if (!model.producer_version.empty()) proto->set_producer_version(model.producer_version);
  if (!model.domain.empty()) proto->set_domain(model.domain);
  if (model.model_version) proto->set_model_version(model.model_version);
  if (!model.doc_string.empty()) proto->set_doc_string(model.doc_string);
  for (const auto& [k, v] : model.metadata_props) {
    auto* kv = proto->add_metadata_props();
    kv->set_key(k);
    kv->set_value(v);
  }
  for (const auto& f : model.opaque_functions) proto->add_functions()->ParseFromString(f);
  for (const auto& t : model.opaque_training_info) proto->add_training_info()->ParseFromString(t);
  Exporter exporter(lend_bytes, sink);
  exporter.ExportGraph(*model.graph, proto->mutable_graph());
}

void ReclaimLentBytes(Model& model, onnx::ModelProto* proto) {
  // Only top-level initializers are lent (see Exporter); hand each buffer back by name.
  auto* inits = proto->mutable_graph()->mutable_initializer();
  for (auto& tp : *inits) {
    Value* v = model.graph->FindValue(tp.name());
    if (!v || !v->has_initializer() || !tp.has_raw_data()) continue;
    auto& t = const_cast<Tensor&>(*v->initializer());
    std::string* owned = t.exclusive_bytes();
    if (owned && owned->empty() && !tp.raw_data().empty()) owned->swap(*tp.mutable_raw_data());
  }
}

}  // namespace graphopt::ir
