#include "optimizer/ir/opset_conversion.h"

#include <onnx/onnx_pb.h>
#include <onnx/version_converter/convert.h>

#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "optimizer/ir/onnx_convert.h"

namespace graphopt::ir {

namespace {

// Initializers at least this large reach the converter as typed graph inputs instead of
// values: no adapter of an opset upgrade reads a weight, only attributes and small constants.
constexpr size_t kLendAsInputFrom = 4096;

struct DetachedInitializer {
  std::string name;
  Tensor tensor;  // shares the IR's bytes
  bool was_graph_input;
};

// Exports `model` for the converter; large initializers become graph inputs and are listed in
// `detached` so they can be re-attached to the converted model without copying their bytes.
void ExportWithoutWeights(Model& model, onnx::ModelProto* proto,
                          std::vector<DetachedInitializer>* detached) {
  ModelToProto(model, proto, /*lend_bytes=*/false,
               [&](const std::string& name, const Tensor& t, onnx::TensorProto*) {
                 if (t.nbytes() < kLendAsInputFrom) return false;
                 const Value* v = model.graph->FindValue(name);
                 detached->push_back({name, t, v && v->is_graph_input()});
                 return true;
               });
  if (detached->empty()) return;
  auto* graph = proto->mutable_graph();
  std::unordered_set<std::string> names;
  for (const DetachedInitializer& d : *detached) {
    names.insert(d.name);
    if (d.was_graph_input) continue;  // already declared as an input with its type
    auto* in = graph->add_input();
    in->set_name(d.name);
    ValueTypeToProto(ValueType::FromShape(d.tensor.dtype(), d.tensor.shape()), in->mutable_type());
  }
  // The exporter leaves an empty initializer entry for each detached tensor; drop those.
  google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
  for (auto& init : *graph->mutable_initializer()) {
    if (!names.count(init.name())) kept.Add()->Swap(&init);
  }
  graph->mutable_initializer()->Swap(&kept);
}

// Gives the converted model its weights back, as initializers again.
Status ReattachInitializers(Model& converted, std::vector<DetachedInitializer>& detached) {
  Graph& g = *converted.graph;
  for (DetachedInitializer& d : detached) {
    Value* v = g.FindValue(d.name);
    if (!v) return Internal("opset conversion lost initializer '" + d.name + "'");
    if (!d.was_graph_input) g.RemoveInput(v);
    g.SetInitializer(v, std::move(d.tensor));
  }
  return Status::Ok();
}

// The converter re-exports every value it knows as value_info, typed or not; drop the untyped
// entries (ONNX's checker rejects them), recursively through subgraphs.
void DropUntypedValueInfo(onnx::GraphProto* graph) {
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> kept;
  for (auto& vi : *graph->mutable_value_info()) {
    const bool untyped = !vi.has_type() ||
                         vi.type().value_case() == onnx::TypeProto::VALUE_NOT_SET ||
                         (vi.type().has_tensor_type() && vi.type().tensor_type().elem_type() == 0);
    if (!untyped) kept.Add()->Swap(&vi);
  }
  graph->mutable_value_info()->Swap(&kept);
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) DropUntypedValueInfo(attr.mutable_g());
      for (auto& g : *attr.mutable_graphs()) DropUntypedValueInfo(&g);
    }
  }
}

}  // namespace

int64_t MinIrVersionForOpset(int64_t opset) {
  // ONNX's release table (onnx/helper.py VERSION_TABLE): the IR version each opset came with.
  if (opset <= 8) return 3;
  if (opset == 9) return 4;
  if (opset == 10) return 5;
  if (opset == 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

Status ConvertOpset(Model& model, int64_t target_opset) {
  const int64_t current = model.OpsetVersion("");
  if (current == 0) return InvalidArgument("the model does not import the default ONNX domain");
  if (target_opset > kMaxConvertibleOpset) {
    return InvalidArgument("--opset " + std::to_string(target_opset) +
                           " is above the newest opset this build converts to (" +
                           std::to_string(kMaxConvertibleOpset) + ")");
  }
  if (target_opset < current) {
    return InvalidArgument("the model is at opset " + std::to_string(current) +
                           "; converting down to " + std::to_string(target_opset) +
                           " is not supported");
  }
  if (target_opset == current) {
    model.ir_version = std::max(model.ir_version, MinIrVersionForOpset(target_opset));
    return Status::Ok();
  }

  onnx::ModelProto proto;
  std::vector<DetachedInitializer> detached;
  ExportWithoutWeights(model, &proto, &detached);
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(proto, static_cast<int>(target_opset));
  } catch (const std::exception& e) {
    return InvalidArgument("converting opset " + std::to_string(current) + " -> " +
                           std::to_string(target_opset) + " failed: " + e.what());
  }
  proto.Clear();
  DropUntypedValueInfo(converted.mutable_graph());
  converted.set_ir_version(
      std::max<int64_t>(converted.ir_version(), MinIrVersionForOpset(target_opset)));
  ASSIGN_OR_RETURN(std::unique_ptr<Model> result, ModelFromProto(converted, nullptr));
  RETURN_IF_ERROR(ReattachInitializers(*result, detached));
  // Tensors the converter left alone keep their IR-side types; values it re-typed are
  // re-inferred by the caller's shape inference.
  model = std::move(*result);
  return Status::Ok();
}

}  // namespace graphopt::ir
