// grpc.reflection.v1 over the generated descriptor pool (see reflection_service.h).
#include "server/service/reflection_service.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <set>

#include "grpc/health/v1/health.pb.h"

namespace graphopt::server {
namespace {

namespace v1 = grpc::reflection::v1;
namespace pb = google::protobuf;

// Answers one request. `sent` holds the files this stream already sent: a client asks symbol by
// symbol and has each file (and its imports) once.
class RequestHandler {
 public:
  RequestHandler(const std::vector<std::string>& services, std::set<std::string>* sent)
      : services_(services), sent_(sent) {}

  void Answer(const v1::ServerReflectionRequest& request, v1::ServerReflectionResponse* response) {
    response->set_valid_host(request.host());
    *response->mutable_original_request() = request;
    const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
    switch (request.message_request_case()) {
      case v1::ServerReflectionRequest::kListServices:
        for (const std::string& name : services_) {
          response->mutable_list_services_response()->add_service()->set_name(name);
        }
        return;
      case v1::ServerReflectionRequest::kFileByFilename:
        return SendFile(pool->FindFileByName(request.file_by_filename()),
                        "file " + request.file_by_filename(), response);
      case v1::ServerReflectionRequest::kFileContainingSymbol:
        return SendFile(pool->FindFileContainingSymbol(request.file_containing_symbol()),
                        "symbol " + request.file_containing_symbol(), response);
      case v1::ServerReflectionRequest::kFileContainingExtension: {
        const auto& ext = request.file_containing_extension();
        const pb::Descriptor* type = pool->FindMessageTypeByName(ext.containing_type());
        const pb::FieldDescriptor* field =
            type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
        return SendFile(field ? field->file() : nullptr,
                        "extension " + std::to_string(ext.extension_number()) + " of " +
                            ext.containing_type(),
                        response);
      }
      case v1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
        const pb::Descriptor* type =
            pool->FindMessageTypeByName(request.all_extension_numbers_of_type());
        if (type == nullptr) {
          return Error(grpc::StatusCode::NOT_FOUND,
                       "type " + request.all_extension_numbers_of_type() + " not found",
                       response);
        }
        std::vector<const pb::FieldDescriptor*> extensions;
        pool->FindAllExtensions(type, &extensions);
        auto* numbers = response->mutable_all_extension_numbers_response();
        numbers->set_base_type_name(type->full_name());
        for (const auto* e : extensions) numbers->add_extension_number(e->number());
        return;
      }
      case v1::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
        break;
    }
    Error(grpc::StatusCode::UNIMPLEMENTED, "unknown reflection request", response);
  }

 private:
  static void Error(grpc::StatusCode code, const std::string& message,
                    v1::ServerReflectionResponse* response) {
    response->mutable_error_response()->set_error_code(static_cast<int>(code));
    response->mutable_error_response()->set_error_message(message);
  }

  void SendFile(const pb::FileDescriptor* file, const std::string& what,
                v1::ServerReflectionResponse* response) {
    if (file == nullptr) {
      return Error(grpc::StatusCode::NOT_FOUND, what + " not found", response);
    }
    auto* files = response->mutable_file_descriptor_response();
    // The requested file always (the client asked for it), then its imports not yet sent.
    AddFile(file, files, /*always=*/true);
  }

  void AddFile(const pb::FileDescriptor* file, v1::FileDescriptorResponse* files, bool always) {
    const bool is_new = sent_->insert(file->name()).second;
    if (!is_new && !always) return;
    pb::FileDescriptorProto proto;
    file->CopyTo(&proto);
    files->add_file_descriptor_proto(proto.SerializeAsString());
    for (int i = 0; i < file->dependency_count(); ++i) {
      AddFile(file->dependency(i), files, /*always=*/false);
    }
  }

  const std::vector<std::string>& services_;
  std::set<std::string>* sent_;
};

}  // namespace

ReflectionV1Service::ReflectionV1Service(std::vector<std::string> services)
    : services_(std::move(services)) {
  // Referencing the health descriptor links health.pb.cc into the binary, which registers
  // grpc.health.v1 in the pool (gRPC's built-in health service carries no descriptor).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
}

grpc::Status ReflectionV1Service::ServerReflectionInfo(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::ServerReflectionResponse, v1::ServerReflectionRequest>* stream) {
  std::set<std::string> sent;
  RequestHandler handler(services_, &sent);
  v1::ServerReflectionRequest request;
  while (!context->IsCancelled() && stream->Read(&request)) {
    v1::ServerReflectionResponse response;
    handler.Answer(request, &response);
    if (!stream->Write(response)) break;
  }
  return grpc::Status::OK;
}

}  // namespace graphopt::server
