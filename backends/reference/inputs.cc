// Deterministic input generation and TensorProto file I/O for the reference executor.
#include "backends/reference/inputs.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <sstream>

#include "optimizer/ir/onnx_convert.h"

namespace graphopt::reference {

namespace {

// FNV-1a: a stable hash of the input name, so each input has its own reproducible stream.
uint64_t HashName(const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// splitmix64: tiny, fast and identical on every platform (unlike std:: distributions).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-1, 1].
  double Symmetric() {
    return static_cast<double>(Next() >> 11) * (2.0 / 9007199254740992.0) - 1.0;
  }

 private:
  uint64_t state_;
};

template <typename T>
void FillInts(Tensor& t, Rng& rng, int64_t range, bool ones) {
  T* p = t.mutable_data<T>();
  for (int64_t i = 0; i < t.size(); ++i) {
    p[i] = ones ? T(1) : static_cast<T>(rng.Next() % static_cast<uint64_t>(range));
  }
}

// `t` with every element `value` (integer and bool tensors only; bool holds value != 0). The
// caller checked that the type holds the value.
Result<Tensor> FilledWith(Tensor t, int64_t value) {
  auto fill = [&t](auto v) {
    auto* p = t.mutable_data<decltype(v)>();
    for (int64_t i = 0; i < t.size(); ++i) p[i] = v;
  };
  switch (t.dtype()) {
    case DataType::kBool:
      fill(static_cast<uint8_t>(value != 0));
      break;
    case DataType::kInt64:
      fill(static_cast<int64_t>(value));
      break;
    case DataType::kInt32:
      fill(static_cast<int32_t>(value));
      break;
    case DataType::kInt16:
      fill(static_cast<int16_t>(value));
      break;
    case DataType::kInt8:
      fill(static_cast<int8_t>(value));
      break;
    case DataType::kUint8:
      fill(static_cast<uint8_t>(value));
      break;
    case DataType::kUint16:
      fill(static_cast<uint16_t>(value));
      break;
    case DataType::kUint32:
      fill(static_cast<uint32_t>(value));
      break;
    case DataType::kUint64:
      fill(static_cast<uint64_t>(value));
      break;
    default:
      return InvalidArgument("a fixed integer value is for integer and bool inputs, not " +
                             std::string(DataTypeName(t.dtype())));
  }
  return t;
}

}  // namespace

Result<Shape> ResolveShape(const ir::ValueType& type, const std::map<std::string, int64_t>& dims) {
  if (!type.is_tensor()) return Unimplemented("only tensor inputs can be generated");
  Shape shape;
  if (!type.shape) return shape;  // unknown rank: a scalar is the best guess
  for (const ir::Dim& d : *type.shape) {
    if (d.known()) {
      shape.push_back(d.value);
      continue;
    }
    auto it = dims.find(d.param);
    shape.push_back(!d.param.empty() && it != dims.end() ? it->second : 1);
  }
  return shape;
}

Result<Tensor> GenerateInput(const ir::Value& input, const InputOptions& options) {
  ASSIGN_OR_RETURN(Shape shape, ResolveShape(input.type(), options.dims));
  const DataType type = input.elem_type();
  Rng rng(options.seed * 0x2545F4914F6CDD1Dull ^ HashName(input.name()));
  int64_t range = kDefaultIntRange;
  if (auto it = options.int_ranges.find(input.name()); it != options.int_ranges.end()) {
    range = it->second;
  } else if (auto star = options.int_ranges.find("*"); star != options.int_ranges.end()) {
    range = star->second;
  }
  if (range < 1) return InvalidArgument("integer range for '" + input.name() + "' must be >= 1");
  const bool ones = input.name().find("mask") != std::string::npos;
  Tensor t(type, shape);
  if (auto it = options.int_values.find(input.name()); it != options.int_values.end()) {
    return FilledWith(std::move(t), it->second);
  }
  switch (type) {
    case DataType::kFloat: {
      float* p = t.mutable_data<float>();
      for (int64_t i = 0; i < t.size(); ++i) p[i] = static_cast<float>(rng.Symmetric());
      break;
    }
    case DataType::kDouble: {
      double* p = t.mutable_data<double>();
      for (int64_t i = 0; i < t.size(); ++i) p[i] = rng.Symmetric();
      break;
    }
    case DataType::kFloat16:
    case DataType::kBfloat16: {
      uint16_t* p = t.mutable_data<uint16_t>();
      for (int64_t i = 0; i < t.size(); ++i) {
        const auto f = static_cast<float>(rng.Symmetric());
        p[i] = type == DataType::kFloat16 ? FloatToHalf(f) : FloatToBfloat16(f);
      }
      break;
    }
    case DataType::kBool: {
      uint8_t* p = t.mutable_data<uint8_t>();
      for (int64_t i = 0; i < t.size(); ++i) p[i] = 1;
      break;
    }
    case DataType::kInt64:
      FillInts<int64_t>(t, rng, range, ones);
      break;
    case DataType::kInt32:
      FillInts<int32_t>(t, rng, range, ones);
      break;
    case DataType::kInt16:
      FillInts<int16_t>(t, rng, range, ones);
      break;
    case DataType::kInt8:
      FillInts<int8_t>(t, rng, std::min<int64_t>(range, 128), ones);
      break;
    case DataType::kUint8:
      FillInts<uint8_t>(t, rng, std::min<int64_t>(range, 256), ones);
      break;
    case DataType::kUint16:
      FillInts<uint16_t>(t, rng, range, ones);
      break;
    case DataType::kUint32:
      FillInts<uint32_t>(t, rng, range, ones);
      break;
    case DataType::kUint64:
      FillInts<uint64_t>(t, rng, range, ones);
      break;
    default:
      return Unimplemented("cannot generate input '" + input.name() + "' of type " +
                           std::string(DataTypeName(type)));
  }
  return t;
}

Result<std::map<std::string, Tensor>> GenerateInputs(const ir::Graph& graph,
                                                     const InputOptions& options) {
  std::map<std::string, Tensor> out;
  for (const ir::Value* v : graph.inputs()) {
    if (v->has_initializer()) continue;
    ASSIGN_OR_RETURN(Tensor t, GenerateInput(*v, options));
    out.emplace(v->name(), std::move(t));
  }
  return out;
}

Result<Tensor> TensorFromBytes(const std::string& bytes) {
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes)) return InvalidArgument("not a serialized onnx.TensorProto");
  return ir::TensorFromProto(proto, nullptr);
}

Result<std::string> TensorToBytes(const Tensor& tensor, const std::string& name) {
  onnx::TensorProto proto;
  ir::TensorToProto(tensor, &proto);
  proto.set_name(name);
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return Internal("cannot serialize tensor '" + name + "'");
  return bytes;
}

Result<Tensor> ReadTensorFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  std::ostringstream buf;
  buf << in.rdbuf();
  auto t = TensorFromBytes(buf.str());
  if (!t.ok()) return Status(t.status().code(), path + ": " + t.status().message());
  return t;
}

Status WriteTensorFile(const std::string& path, const Tensor& tensor, const std::string& name) {
  ASSIGN_OR_RETURN(std::string bytes, TensorToBytes(tensor, name));
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return NotFound("cannot write " + path);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) return Internal("error writing " + path);
  return Status::Ok();
}

}  // namespace graphopt::reference
