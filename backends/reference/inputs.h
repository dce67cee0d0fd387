// Inputs for the reference executor: deterministic pseudo-random generation from a model's
// declared inputs, and reading/writing serialized onnx.TensorProto (.pb) files.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "optimizer/ir/graph.h"
#include "optimizer/ir/tensor.h"
#include "optimizer/util/status.h"

namespace graphopt::reference {

struct InputOptions {
  // Values of symbolic dims; a symbolic or unknown dim not listed here becomes 1.
  std::map<std::string, int64_t> dims;
  uint64_t seed = 0;
  // Integer inputs are drawn from [0, range): per input name, "*" for the others (default 100).
  std::map<std::string, int64_t> int_ranges;
  // Integer and bool inputs filled with one value (per input name; bool: value != 0), e.g. the
  // value that takes one branch of an If. Takes precedence over int_ranges.
  std::map<std::string, int64_t> int_values;
};

inline constexpr int64_t kDefaultIntRange = 100;

// The concrete shape of a declared type with symbolic dims fixed (missing ones become 1).
Result<Shape> ResolveShape(const ir::ValueType& type, const std::map<std::string, int64_t>& dims);

// One input: floats uniform in [-1, 1]; integers in [0, range) except names containing "mask",
// which get all ones; bool all true; an input of int_values holds that value everywhere. The
// stream depends on (seed, input name) only.
Result<Tensor> GenerateInput(const ir::Value& input, const InputOptions& options);

// Every graph input that has no initializer.
Result<std::map<std::string, Tensor>> GenerateInputs(const ir::Graph& graph,
                                                     const InputOptions& options);

// Serialized onnx.TensorProto <-> Tensor.
Result<Tensor> TensorFromBytes(const std::string& bytes);
Result<std::string> TensorToBytes(const Tensor& tensor, const std::string& name);
Result<Tensor> ReadTensorFile(const std::string& path);
// Writes `tensor` as a TensorProto called `name`.
Status WriteTensorFile(const std::string& path, const Tensor& tensor, const std::string& name);

}  // namespace graphopt::reference
