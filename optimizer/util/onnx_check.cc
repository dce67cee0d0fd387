// The up-front validation of ONNX models (see onnx_check.h).
#include "optimizer/util/onnx_check.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <onnx/checker.h>
#include <onnx/defs/schema.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <map>
#include <unordered_map>
#include <vector>

namespace graphopt {

namespace {

// Nodes the library cannot judge move to this domain in the scratch copy: the checker skips the
// schema of a node outside the ONNX domains, and shape inference leaves its outputs as declared.
constexpr const char* kUncheckedDomain = "graphopt.unchecked";

std::string Domain(const std::string& d) { return d == "ai.onnx" ? "" : d; }

using Imports = std::map<std::string, int64_t>;

template <typename Repeated>
Imports ImportsOf(const Repeated& opset_import) {
  Imports imports;
  for (const auto& o : opset_import) imports[Domain(o.domain())] = o.version();
  return imports;
}

int GraphNesting(const onnx::GraphProto& graph) {
  int deepest = 0;
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) deepest = std::max(deepest, 1 + GraphNesting(attr.g()));
      for (const auto& g : attr.graphs()) deepest = std::max(deepest, 1 + GraphNesting(g));
    }
  }
  return deepest;
}

// True when the library knows the node's operator at the imported opset, so its schema holds.
bool LibraryJudges(const onnx::NodeProto& node, const Imports& imports) {
  const std::string domain = Domain(node.domain());
  const auto& known = onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  const auto range = known.find(domain);
  if (range == known.end()) return true;  // the checker itself skips domains it does not know
  const auto imported = imports.find(domain);
  if (imported == imports.end()) return true;  // the checker refuses it: no opset import
  if (imported->second > range->second.second) return false;
  return onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(imported->second),
                                        node.domain()) != nullptr;
}

// The checker wants every graph named; a name is no part of what a model computes.
void NameIfUnnamed(onnx::GraphProto* graph) {
  if (graph->name().empty()) graph->set_name("unnamed");
}

// Moves the nodes the library cannot judge to kUncheckedDomain; true when there was one.
bool SetAsideUnjudged(google::protobuf::RepeatedPtrField<onnx::NodeProto>* nodes,
                      const Imports& imports) {
  bool any = false;
  for (auto& node : *nodes) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) {
        NameIfUnnamed(attr.mutable_g());
        any |= SetAsideUnjudged(attr.mutable_g()->mutable_node(), imports);
      }
      for (auto& g : *attr.mutable_graphs()) {
        NameIfUnnamed(&g);
        any |= SetAsideUnjudged(g.mutable_node(), imports);
      }
    }
    if (!LibraryJudges(node, imports)) {
      node.set_domain(kUncheckedDomain);
      any = true;
    }
  }
  return any;
}

// ONNX 1.12 demands a type and a shape on every top-level output, but graphopt (like runtimes)
// infers what an output leaves out: such outputs are left out of the scratch copy.
void DropUntypedOutputs(onnx::GraphProto* graph) {
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (auto& out : *graph->mutable_output()) {
    const auto& type = out.type();
    if (type.value_case() == onnx::TypeProto::VALUE_NOT_SET) continue;
    if (type.has_tensor_type() && !type.tensor_type().has_shape()) continue;
    kept.Add()->Swap(&out);
  }
  graph->mutable_output()->Swap(&kept);
}

// A typed graph input of unknown rank is legal to graphopt; ONNX 1.12 wants its shape. An input
// without an element type stays the checker's to refuse (the IR needs it).
bool HasShapelessInput(const onnx::GraphProto& graph) {
  bool shapeless = false;
  for (const auto& in : graph.input()) {
    const auto& type = in.type();
    if (type.value_case() == onnx::TypeProto::VALUE_NOT_SET) return false;
    if (!type.has_tensor_type()) continue;
    if (type.tensor_type().elem_type() == 0) return false;
    shapeless |= !type.tensor_type().has_shape();
  }
  return shapeless;
}

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

bool ReadInt64s(const onnx::TensorProto& t, std::vector<int64_t>* out) {
  if (t.data_type() != onnx::TensorProto::INT64 || t.dims_size() != 1) return false;
  if (t.has_raw_data()) {
    if (t.raw_data().size() != static_cast<size_t>(t.dims(0)) * sizeof(int64_t)) return false;
    out->resize(static_cast<size_t>(t.dims(0)));
    std::memcpy(out->data(), t.raw_data().data(), t.raw_data().size());
    return true;
  }
  if (t.int64_data_size() != t.dims(0)) return false;
  out->assign(t.int64_data().begin(), t.int64_data().end());
  return true;
}

std::string Dims(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + "]";
}

// ONNX 1.12's Reshape inference checks a -1 but not the element count of an explicit shape:
// a Reshape of a static input to a constant shape must keep its element count.
Status CheckReshapes(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, const onnx::TensorProto*> constants;
  for (const auto& t : graph.initializer()) constants[t.name()] = &t;
  std::unordered_map<std::string, const onnx::TypeProto*> types;
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const auto& vi : *list) types.emplace(vi.name(), &vi.type());
  }
  for (const auto& node : graph.node()) {
    if (node.op_type() == "Constant" && Domain(node.domain()).empty() && node.output_size() == 1) {
      for (const auto& attr : node.attribute()) {
        if (attr.name() == "value" && attr.has_t()) constants[node.output(0)] = &attr.t();
      }
    }
  }
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Reshape" || !Domain(node.domain()).empty() || node.input_size() < 2) {
      continue;
    }
    const auto type = types.find(node.input(0));
    const auto shape_operand = constants.find(node.input(1));
    std::vector<int64_t> target;
    if (type == types.end() || shape_operand == constants.end() ||
        !type->second->has_tensor_type() || !type->second->tensor_type().has_shape() ||
        !ReadInt64s(*shape_operand->second, &target)) {
      continue;
    }
    std::vector<int64_t> input;
    for (const auto& d : type->second->tensor_type().shape().dim()) {
      if (!d.has_dim_value() || d.dim_value() < 0) break;
      input.push_back(d.dim_value());
    }
    if (static_cast<int>(input.size()) != type->second->tensor_type().shape().dim_size()) continue;
    bool allow_zero = false;
    for (const auto& attr : node.attribute()) {
      if (attr.name() == "allowzero") allow_zero = attr.i() != 0;
    }
    int64_t in_count = 1, out_count = 1;
    bool overflow = false, inferred = false;
    for (int64_t d : input) overflow |= __builtin_mul_overflow(in_count, d, &in_count);
    std::vector<int64_t> resolved;
    for (size_t i = 0; i < target.size(); ++i) {
      int64_t d = target[i];
      if (d == 0 && !allow_zero) {
        if (i >= input.size()) break;  // ONNX's inference reports this one
        d = input[i];
      }
      if (d == -1) {
        inferred = true;
        resolved.push_back(-1);
        continue;
      }
      if (d < 0) break;  // idem
      resolved.push_back(d);
      overflow |= __builtin_mul_overflow(out_count, d, &out_count);
    }
    if (resolved.size() != target.size() || inferred) continue;  // -1: ONNX checks divisibility
    if (overflow || in_count != out_count) {
      const std::string name = node.name().empty() ? node.output(0) : node.name();
      return InvalidArgument("Reshape '" + name + "' cannot reshape " + Dims(input) + " (" +
                             std::to_string(in_count) + " elements) to " + Dims(resolved) +
                             (overflow ? " (its element count overflows)"
                                       : " (" + std::to_string(out_count) + " elements)"));
    }
  }
  return Status::Ok();
}

}  // namespace

std::string NestingTooDeepMessage(int depth) {
  return "nesting too deep: subgraphs (If/Loop/Scan bodies) nest " + std::to_string(depth) +
         " levels, graphopt accepts at most " + std::to_string(kMaxSubgraphNesting);
}

Status CheckOnnxModel(onnx::ModelProto& proto) {
  if (!proto.has_graph()) return InvalidArgument("the model has no graph");
  if (proto.ir_version() <= 0) return InvalidArgument("the model's ir_version is missing");
  if (proto.opset_import_size() == 0) return InvalidArgument("the model imports no opset");
  const Imports imports = ImportsOf(proto.opset_import());
  for (const auto& [domain, version] : imports) {
    if (domain.empty() && version > kLatestSupportedOpset) {
      return InvalidArgument("opset " + std::to_string(version) + " of domain '' is newer than " +
                             "graphopt supports (" + std::to_string(kLatestSupportedOpset) + ")");
    }
  }
  if (const int depth = GraphNesting(proto.graph()); depth > kMaxSubgraphNesting) {
    return InvalidArgument(NestingTooDeepMessage(depth));
  }

  NameIfUnnamed(proto.mutable_graph());
  bool set_aside = SetAsideUnjudged(proto.mutable_graph()->mutable_node(), imports);
  for (auto& function : *proto.mutable_functions()) {
    Imports merged = ImportsOf(function.opset_import());
    merged.insert(imports.begin(), imports.end());
    if (SetAsideUnjudged(function.mutable_node(), merged)) {
      set_aside = true;
      auto* import = function.add_opset_import();
      import->set_domain(kUncheckedDomain);
      import->set_version(1);
    }
  }
  if (set_aside) {
    auto* import = proto.add_opset_import();
    import->set_domain(kUncheckedDomain);
    import->set_version(1);
  }
  // IR versions 9 and 10 came with opsets 19-21, whose nodes are set aside above; what the
  // checker verifies of the rest is the same at IR version 8.
  if (proto.ir_version() > onnx::IR_VERSION) proto.set_ir_version(onnx::IR_VERSION);
  DropUntypedOutputs(proto.mutable_graph());
  try {
    if (HasShapelessInput(proto.graph())) {
      // check_model with the main graph's inputs held to the rules of a subgraph's (typed and
      // shaped only if known); everything else it checks is checked alike.
      onnx::checker::CheckerContext ctx;
      ctx.set_ir_version(static_cast<int>(proto.ir_version()));
      std::unordered_map<std::string, int> opsets;
      for (const auto& o : proto.opset_import()) opsets[o.domain()] = static_cast<int>(o.version());
      ctx.set_opset_imports(opsets);
      ctx.set_is_main_graph(false);
      onnx::checker::LexicalScopeContext lex;
      onnx::checker::check_graph(proto.graph(), ctx, lex);
      onnx::checker::check_model_local_functions(proto, ctx, lex);
    } else {
      onnx::checker::check_model(proto);
    }
    onnx::ShapeInferenceOptions strict(/*check_type=*/true, /*error_mode=*/1,
                                       /*data_prop=*/false);
    onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(), strict);
  } catch (const std::exception& e) {
    return InvalidArgument("the ONNX checker refused the model: " + OneLine(e.what()));
  }
  return CheckReshapes(proto.graph());
}

int WireSubgraphNesting(google::protobuf::io::ZeroCopyInputStream* input) {
  using google::protobuf::internal::WireFormatLite;
  using google::protobuf::io::CodedInputStream;
  // The messages on the path to a subgraph, with the field numbers that lead from one to the
  // next (onnx.proto): ModelProto.graph 7, .functions 25; GraphProto.node 1; FunctionProto.node
  // 7; NodeProto.attribute 5; AttributeProto.g 6, .graphs 11.
  enum Kind { kModel, kGraph, kFunction, kNode, kAttribute };
  auto child = [](Kind kind, uint32_t field, Kind* out) {
    switch (kind) {
      case kModel:
        if (field == 7) *out = kGraph;
        if (field == 25) *out = kFunction;
        return field == 7 || field == 25;
      case kGraph:
        *out = kNode;
        return field == 1;
      case kFunction:
        *out = kNode;
        return field == 7;
      case kNode:
        *out = kAttribute;
        return field == 5;
      case kAttribute:
        *out = kGraph;
        return field == 6 || field == 11;
    }
    return false;
  };
  struct Frame {
    Kind kind;
    CodedInputStream::Limit limit;
    int nesting;
  };
  CodedInputStream in(input);
  in.SetTotalBytesLimit(INT_MAX);
  std::vector<Frame> stack;
  Kind kind = kModel;
  int nesting = -1, deepest = 0;  // the top-level graph, child of the model, is level 0
  while (true) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {
      if (stack.empty()) return in.ConsumedEntireMessage() ? deepest : -1;
      if (in.BytesUntilLimit() != 0) return -1;
      in.PopLimit(stack.back().limit);
      stack.pop_back();
      kind = stack.empty() ? kModel : stack.back().kind;
      nesting = stack.empty() ? -1 : stack.back().nesting;
      continue;
    }
    const uint32_t field = WireFormatLite::GetTagFieldNumber(tag);
    Kind next;
    if (WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
        child(kind, field, &next)) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) || length > INT_MAX) return -1;
      const int level = next == kGraph ? nesting + 1 : nesting;
      deepest = std::max(deepest, level);
      stack.push_back({next, in.PushLimit(static_cast<int>(length)), level});
      kind = next;
      nesting = level;
      continue;
    }
    if (!WireFormatLite::SkipField(&in, tag)) return -1;
  }
}

}  // namespace graphopt
