// Conversion between onnx::ModelProto and the IR. Initializer bytes move, they are not copied.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "optimizer/ir/graph.h"

namespace onnx {
class ModelProto;
class TensorProto;
class TypeProto;
}  // namespace onnx

namespace graphopt::ir {

// Reads the bytes of an external-data tensor: (location, offset, length) -> bytes.
using ExternalDataReader =
    std::function<Result<std::string>(const std::string& location, int64_t offset, int64_t length)>;

// Builds the IR from a parsed model, consuming its tensors' bytes. Fails on structural errors
// (dangling inputs, duplicate producers, cycles).
Result<std::unique_ptr<Model>> ModelFromProto(onnx::ModelProto& proto,
                                              const ExternalDataReader& external);

// Called for each initializer while exporting; may move the tensor to external data by filling
// `proto` with data_location = EXTERNAL. Returns false to keep it inline.
using InitializerSink = std::function<bool(const std::string& name, const Tensor& t,
                                           onnx::TensorProto* proto)>;

// Writes the IR into `proto`. With `lend_bytes`, initializer bytes owned solely by the IR are
// swapped into the proto instead of copied; call ReclaimLentBytes afterwards to swap them back.
void ModelToProto(Model& model, onnx::ModelProto* proto, bool lend_bytes,
                  const InitializerSink& sink = nullptr);
void ReclaimLentBytes(Model& model, onnx::ModelProto* proto);

Result<Tensor> TensorFromProto(onnx::TensorProto& proto, const ExternalDataReader& external);
void TensorToProto(const Tensor& t, onnx::TensorProto* proto);
ValueType ValueTypeFromProto(const onnx::TypeProto& tp);
void ValueTypeToProto(const ValueType& vt, onnx::TypeProto* tp);

}  // namespace graphopt::ir
