#include "optimizer/io/model_io.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <limits>

#include "optimizer/ir/onnx_convert.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/util/onnx_check.h"

namespace graphopt {

namespace fs = std::filesystem;

Result<std::string> ResolveExternalLocation(const std::string& base_dir, const std::string& location) {
  fs::path loc(location);
  if (location.empty() || loc.is_absolute() || loc.has_root_name() || loc.has_root_directory()) {
    return InvalidArgument("external data location '" + location + "' must be a relative path");
  }
  for (const auto& part : loc) {
    if (part == "..") {
      return InvalidArgument("external data location '" + location + "' escapes the model's folder");
    }
  }
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::path(base_dir.empty() ? "." : base_dir), ec);
  fs::path full = fs::weakly_canonical(base / loc, ec);
  if (ec) return NotFound("external data file '" + location + "' cannot be resolved");
  auto rel = full.lexically_relative(base);
  if (rel.empty() || *rel.begin() == "..") {
    return InvalidArgument("external data location '" + location + "' escapes the model's folder");
  }
  return full.string();
}

namespace {

// Opens the serialized model again, for a second look at bytes protobuf refused.
using Reopen = std::function<std::unique_ptr<google::protobuf::io::ZeroCopyInputStream>()>;

// Parses, converts to the IR, then validates (util/onnx_check.h) before anything runs on it:
// the checker sees the graph sorted, as graphopt accepts nodes in any order.
Result<std::unique_ptr<ir::Model>> ParseAndConvert(google::protobuf::io::ZeroCopyInputStream* raw,
                                                   const Reopen& reopen, const std::string& what,
                                                   const ir::ExternalDataReader& reader) {
  onnx::ModelProto proto;
  bool parsed = false;
  {
    google::protobuf::io::CodedInputStream coded(raw);
    coded.SetTotalBytesLimit(std::numeric_limits<int>::max());
    coded.SetRecursionLimit(kModelProtoRecursionLimit);
    parsed = proto.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
  }
  if (!parsed) {
    // Protobuf gives no reason; the one worth telling apart is a model nested too deep for it.
    if (auto again = reopen ? reopen() : nullptr) {
      const int depth = WireSubgraphNesting(again.get());
      if (depth > kMaxSubgraphNesting) {
        return InvalidArgument(what + " is refused: " + NestingTooDeepMessage(depth));
      }
    }
    return InvalidArgument(what + " is not a valid ONNX model (protobuf parse failed; truncated or not ONNX)");
  }
  if (!proto.has_graph() || proto.opset_import_size() == 0) {
    return InvalidArgument(what + " is not a valid ONNX model (no graph or no opset_import)");
  }
  auto model = ir::ModelFromProto(proto, reader);
  if (!model.ok()) return Status(model.status().code(), what + ": " + model.status().message());
  if (Status valid = ir::CheckModel(**model); !valid.ok()) {
    return Status(valid.code(), what + " is invalid: " + valid.message());
  }
  return model;
}

}  // namespace

Result<std::unique_ptr<ir::Model>> LoadModel(const std::string& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (!fs::exists(status)) return NotFound("model file '" + path + "' does not exist");
  if (!fs::is_regular_file(status)) {
    return InvalidArgument("model file '" + path + "' is not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open model file '" + path + "'");
  const std::string base_dir = fs::path(path).parent_path().string();
  ir::ExternalDataReader reader = [base_dir](const std::string& location, int64_t offset,
                                             int64_t length) -> Result<std::string> {
    ASSIGN_OR_RETURN(std::string file, ResolveExternalLocation(base_dir, location));
    // Checked before opening: opening a FIFO for reading blocks until a writer comes, and a
    // directory or a device is no tensor either.
    std::error_code ec;
    const fs::file_status status = fs::status(file, ec);
    if (!fs::exists(status)) {
      return NotFound("external data file '" + location + "' not found beside the model");
    }
    if (!fs::is_regular_file(status)) {
      return InvalidArgument("external data '" + location + "' is not a regular file");
    }
    std::ifstream f(file, std::ios::binary);
    if (!f) return NotFound("external data file '" + location + "' not found beside the model");
    f.seekg(0, std::ios::end);
    const int64_t size = f.tellg();
    if (offset < 0 || length < 0 || offset > size || length > size - offset) {
      return InvalidArgument("external data '" + location + "' is shorter than the tensor it holds");
    }
    std::string bytes(static_cast<size_t>(length), '\0');
    f.seekg(offset);
    f.read(bytes.data(), length);
    if (!f) return InvalidArgument("cannot read external data '" + location + "'");
    return bytes;
  };
  google::protobuf::io::IstreamInputStream raw(&in);
  auto again = std::make_shared<std::ifstream>();
  Reopen reopen = [path, again]() -> std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> {
    again->open(path, std::ios::binary);
    if (!*again) return nullptr;
    return std::make_unique<google::protobuf::io::IstreamInputStream>(again.get());
  };
  return ParseAndConvert(&raw, reopen, "'" + path + "'", reader);
}

Result<std::unique_ptr<ir::Model>> LoadModelFromBytes(const std::string& bytes) {
  google::protobuf::io::ArrayInputStream raw(bytes.data(), static_cast<int>(bytes.size()));
  Reopen reopen = [&bytes]() -> std::unique_ptr<google::protobuf::io::ZeroCopyInputStream> {
    return std::make_unique<google::protobuf::io::ArrayInputStream>(
        bytes.data(), static_cast<int>(bytes.size()));
  };
  return ParseAndConvert(&raw, reopen, "the uploaded model", nullptr);
}

Result<int64_t> SaveModel(ir::Model& model, const std::string& path, const SaveOptions& options) {
  int64_t total = 0;
  for (ir::Value* v : model.graph->initializers()) total += static_cast<int64_t>(v->initializer()->nbytes());
  const bool external = options.external_data || total > options.inline_limit_bytes;

  const std::string data_name = fs::path(path).filename().string() + ".data";
  const std::string data_path = (fs::path(path).parent_path() / data_name).string();
  std::ofstream data;
  int64_t data_offset = 0;
  Status sink_status;
  ir::InitializerSink sink;
  if (external) {
    data.open(data_path, std::ios::binary | std::ios::trunc);
    if (!data) return InvalidArgument("cannot write external data file '" + data_path + "'");
    sink = [&](const std::string&, const Tensor& t, onnx::TensorProto* tp) {
      if (t.dtype() == DataType::kString ||
          static_cast<int64_t>(t.nbytes()) < options.external_threshold_bytes) {
        return false;
      }
      // Align each tensor to 4 KiB so runtimes can memory-map it.
      const int64_t aligned = (data_offset + 4095) / 4096 * 4096;
      if (aligned > data_offset) data.write(std::string(static_cast<size_t>(aligned - data_offset), '\0').data(), aligned - data_offset);
      data.write(t.bytes().data(), static_cast<std::streamsize>(t.nbytes()));
      tp->set_data_type(static_cast<int32_t>(t.dtype()));
      for (int64_t d : t.shape()) tp->add_dims(d);
      tp->set_data_location(onnx::TensorProto::EXTERNAL);
      auto add = [&](const char* k, const std::string& v) {
        auto* e = tp->add_external_data();
        e->set_key(k);
        e->set_value(v);
      };
      add("location", data_name);
      add("offset", std::to_string(aligned));
      add("length", std::to_string(t.nbytes()));
      data_offset = aligned + static_cast<int64_t>(t.nbytes());
      return true;
    };
  }
  onnx::ModelProto proto;
  ir::ModelToProto(model, &proto, /*lend_bytes=*/true, sink);
  Status status;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) status = InvalidArgument("cannot write '" + path + "'");
    else if (!proto.SerializeToOstream(&out)) status = Internal("failed to serialize the model to '" + path + "'");
    out.close();
    if (status.ok() && !out) status = Internal("failed writing '" + path + "' (disk full?)");
  }
  const int64_t model_bytes = static_cast<int64_t>(proto.ByteSizeLong());
  ir::ReclaimLentBytes(model, &proto);
  RETURN_IF_ERROR(status);
  if (external) {
    data.close();
    if (!data) return Internal("failed writing '" + data_path + "'");
  } else {
    std::error_code ec;
    fs::remove(data_path, ec);  // a stale side file from an earlier save would mislead
  }
  return model_bytes + data_offset;
}

Result<std::string> SerializeModel(ir::Model& model) {
  onnx::ModelProto proto;
  ir::ModelToProto(model, &proto, /*lend_bytes=*/true);
  std::string out;
  const bool ok = proto.SerializeToString(&out);
  ir::ReclaimLentBytes(model, &proto);
  if (!ok) return Internal("failed to serialize the model (over 2 GiB? save with external data)");
  return out;
}

}  // namespace graphopt
