// ONNX validation of uploads: parse the ModelProto, then check it as the loader does.
#include "server/service/model_validator.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <set>
#include <string>

#include "optimizer/util/onnx_check.h"

namespace graphopt::server {

namespace {

// Feeds protobuf's parser from a BlobReader without holding the whole file twice.
class BlobInput : public google::protobuf::io::CopyingInputStream {
 public:
  explicit BlobInput(BlobReader& reader) : reader_(reader) {}
  int Read(void* buffer, int size) override {
    auto n = reader_.Read(static_cast<char*>(buffer), static_cast<size_t>(size));
    if (!n.ok()) {
      error_ = n.status();
      return -1;
    }
    return static_cast<int>(*n);
  }
  const Status& error() const { return error_; }

 private:
  BlobReader& reader_;
  Status error_;
};

// The checker opens external data files (relative to the process' folder when it has no model
// path), but those are separate uploads here: check such initializers as what they are to the
// graph, typed inputs with a fixed shape, and leave their bytes to the loader at job time.
void ReplaceExternalInitializersByInputs(onnx::GraphProto* graph) {
  std::set<std::string> inputs;
  for (const auto& input : graph->input()) inputs.insert(input.name());
  auto* initializers = graph->mutable_initializer();
  for (int i = initializers->size() - 1; i >= 0; --i) {
    const onnx::TensorProto& tensor = initializers->Get(i);
    if (tensor.data_location() != onnx::TensorProto::EXTERNAL) continue;
    if (!inputs.count(tensor.name())) {
      onnx::ValueInfoProto* input = graph->add_input();
      input->set_name(tensor.name());
      auto* type = input->mutable_type()->mutable_tensor_type();
      type->set_elem_type(tensor.data_type());
      auto* shape = type->mutable_shape();
      for (int64_t dim : tensor.dims()) shape->add_dim()->set_dim_value(dim);
    }
    initializers->DeleteSubrange(i, 1);
  }
}

}  // namespace

Status ValidateOnnxModel(const std::function<Result<std::unique_ptr<BlobReader>>()>& open) {
  onnx::ModelProto model;
  {
    ASSIGN_OR_RETURN(auto reader, open());
    BlobInput input(*reader);
    google::protobuf::io::CopyingInputStreamAdaptor adaptor(&input, 1 << 20);
    google::protobuf::io::CodedInputStream coded(&adaptor);
    coded.SetTotalBytesLimit(INT_MAX);
    coded.SetRecursionLimit(kModelProtoRecursionLimit);
    if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
      if (!input.error().ok()) return input.error();
      ASSIGN_OR_RETURN(auto again, open());
      BlobInput again_input(*again);
      google::protobuf::io::CopyingInputStreamAdaptor again_adaptor(&again_input, 1 << 20);
      if (const int depth = WireSubgraphNesting(&again_adaptor); depth > kMaxSubgraphNesting) {
        return InvalidArgument("the upload is refused: " + NestingTooDeepMessage(depth));
      }
      return InvalidArgument("the upload is not an ONNX model: it does not parse as a ModelProto");
    }
  }
  if (!model.has_graph())
    return InvalidArgument("the upload is not an ONNX model: it has no graph");
  if (model.ir_version() <= 0) {
    return InvalidArgument("the upload is not an ONNX model: ir_version is missing");
  }
  if (model.opset_import_size() == 0) {
    return InvalidArgument("the upload is not an ONNX model: it imports no opset");
  }
  ReplaceExternalInitializersByInputs(model.mutable_graph());
  if (Status valid = CheckOnnxModel(model); !valid.ok()) {
    return InvalidArgument("the upload is not a valid ONNX model: " + valid.message());
  }
  return Status::Ok();
}

}  // namespace graphopt::server
