// UploadModel: size limits are enforced as bytes arrive (the call ends at the first byte over the
// limit instead of reading the rest), then the digest is checked, the model validated and the
// blob committed on the blocking pool.
#include "server/service/upload_model_reactor.h"

#include <boost/asio/post.hpp>

#include "server/config/logging.h"
#include "server/service/model_validator.h"
#include "server/service/proto_convert.h"
#include "server/service/request_limits.h"
#include "server/store/sha256.h"

namespace graphopt::server {

namespace {

using graphopt::v1::FileKind;
using graphopt::v1::Model;
using graphopt::v1::UploadModelRequest;

std::string NormalizeDigest(std::string digest) {
  for (char& c : digest) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (digest.rfind(kDigestPrefix, 0) != 0) digest = std::string(kDigestPrefix) + digest;
  return digest;
}

class UploadModelReactor : public grpc::ServerReadReactor<UploadModelRequest> {
 public:
  UploadModelReactor(ServiceContext& context, grpc::CallbackServerContext* call, Model* response,
                     std::string tenant)
      : context_(context),
        call_(call),
        response_(response),
        tenant_(std::move(tenant)),
        timer_(*context.observer, "UploadModel") {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed (or went away; then Finish is harmless).
      if (!writer_) return End(InvalidArgument("the upload sent no metadata message"));
      boost::asio::post(context_.blocking_pool, [this] { Complete(); });
      return;
    }
    Status status = writer_ ? OnChunk() : OnMetadata();
    if (!status.ok()) return End(status);
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  Status OnMetadata() {
    if (!request_.has_metadata()) {
      return InvalidArgument("the first UploadModelRequest must carry metadata, not a chunk");
    }
    metadata_ = request_.metadata();
    if (metadata_.declared_size() < 0) return InvalidArgument("declared_size must not be negative");
    if (metadata_.declared_size() > context_.max_upload_bytes) {
      return ResourceExhausted("the upload declares " + std::to_string(metadata_.declared_size()) +
                               " bytes; this server accepts at most " +
                               std::to_string(context_.max_upload_bytes));
    }
    if (metadata_.file_name().size() > kMaxNameBytes) {
      return InvalidArgument("metadata.file_name is longer than " + std::to_string(kMaxNameBytes) +
                             " bytes");
    }
    RETURN_IF_ERROR(CheckModelIdentity(metadata_));
    RETURN_IF_ERROR(CheckStorageQuota(metadata_.declared_size()));
    if (!metadata_.sha256().empty()) {
      expected_digest_ = NormalizeDigest(metadata_.sha256());
      if (!IsValidDigest(expected_digest_)) {
        return InvalidArgument(
            "metadata.sha256 must be 64 hex digits (optionally 'sha256:' first)");
      }
    }
    if (metadata_.kind() != graphopt::v1::FILE_KIND_UNSPECIFIED &&
        metadata_.kind() != graphopt::v1::FILE_KIND_ONNX_MODEL &&
        metadata_.kind() != graphopt::v1::FILE_KIND_EXTERNAL_DATA) {
      return InvalidArgument("unknown file kind " + std::to_string(metadata_.kind()));
    }
    ASSIGN_OR_RETURN(writer_, context_.blobs.NewWriter());
    return Status::Ok();
  }

  Status OnChunk() {
    if (!request_.has_chunk()) return InvalidArgument("metadata may only be sent once, first");
    const std::string& chunk = request_.chunk();
    context_.observer->OnUploadBytes(static_cast<int64_t>(chunk.size()));
    const int64_t total = writer_->size() + static_cast<int64_t>(chunk.size());
    if (total > context_.max_upload_bytes) {
      return ResourceExhausted("the upload exceeds this server's limit of " +
                               std::to_string(context_.max_upload_bytes) + " bytes");
    }
    if (metadata_.declared_size() > 0 && total > metadata_.declared_size()) {
      return InvalidArgument("the upload sent more than its declared " +
                             std::to_string(metadata_.declared_size()) + " bytes");
    }
    return writer_->Append(chunk);
  }

  // Runs on the blocking pool once every chunk has arrived.
  void Complete() {
    if (call_->IsCancelled()) return End(Cancelled("the client cancelled the upload"));
    auto result = Store();
    if (!result.ok()) return End(result.status());
    *response_ = ModelToProto(*result);
    LogEvent(spdlog::level::info, "model_uploaded",
             {{"digest", result->digest}, {"bytes", result->size}, {"file", result->file_name}});
    End(Status::Ok());
  }

  // RESOURCE_EXHAUSTED when storing `bytes` more would take the tenant over its quota.
  Status CheckStorageQuota(int64_t bytes) {
    if (context_.max_storage_bytes_per_tenant <= 0) return Status::Ok();
    ASSIGN_OR_RETURN(TenantUsage usage, context_.job_store.GetTenantUsage(tenant_));
    if (usage.stored_bytes + bytes <= context_.max_storage_bytes_per_tenant) return Status::Ok();
    return ResourceExhausted("tenant quota exceeded: storing " + std::to_string(bytes) +
                             " more bytes would exceed --tenant-max-storage-bytes (" +
                             std::to_string(context_.max_storage_bytes_per_tenant) + "; " +
                             std::to_string(usage.stored_bytes) + " in use)");
  }

  // ALREADY_EXISTS before the bytes are committed, so a refused upload leaves no blob behind
  // (PutModel's unique index stays the authority when two uploads race).
  Status CheckNameFree(const std::string& digest) {
    if (metadata_.name().empty()) return Status::Ok();
    ModelListQuery query;
    query.tenant = tenant_;
    query.name = metadata_.name();
    query.page_size = 1000;
    ASSIGN_OR_RETURN(ModelPage page, context_.job_store.ListModels(query));
    for (const auto& m : page.models) {
      if (m.version == metadata_.version() && m.digest != digest) {
        return Status(StatusCode::kAlreadyExists,
                      "model name '" + m.name + "' version '" + m.version + "' already names " +
                          m.digest + "; upload these bytes under another version");
      }
    }
    return Status::Ok();
  }

  Result<ModelRecord> Store() {
    if (metadata_.declared_size() > 0 && writer_->size() != metadata_.declared_size()) {
      return InvalidArgument("the upload declared " + std::to_string(metadata_.declared_size()) +
                             " bytes but sent " + std::to_string(writer_->size()));
    }
    const std::string digest = writer_->Digest();
    if (!expected_digest_.empty() && expected_digest_ != digest) {
      return InvalidArgument("sha256 mismatch: the client declared " + expected_digest_ +
                             " but the bytes received hash to " + digest);
    }
    const bool is_model = metadata_.kind() != graphopt::v1::FILE_KIND_EXTERNAL_DATA;
    if (is_model) {
      RETURN_IF_ERROR(ValidateOnnxModel([this] { return writer_->ReadBack(); }));
    }
    RETURN_IF_ERROR(CheckNameFree(digest));
    auto existing = context_.job_store.GetModel(tenant_, digest);
    if (!existing.ok()) RETURN_IF_ERROR(CheckStorageQuota(writer_->size()));
    ASSIGN_OR_RETURN(BlobInfo blob, writer_->Commit());
    ModelRecord record;
    record.digest = blob.digest;
    record.file_name = metadata_.file_name();
    record.size = blob.size;
    record.kind = is_model ? 1 : 2;
    record.created_at_ms = NowMillis();
    record.tenant = tenant_;
    record.name = metadata_.name();
    record.version = metadata_.version();
    record.labels.insert(metadata_.labels().begin(), metadata_.labels().end());
    RETURN_IF_ERROR(context_.job_store.PutModel(record));
    return context_.job_store.GetModel(tenant_, blob.digest);
  }

  void End(const Status& status) {
    grpc::Status grpc_status = ToGrpcStatus(status);
    AuditLog(*call_, "UploadModel", tenant_, "digest",
             status.ok() ? response_->digest() : expected_digest_, grpc_status);
    if (!status.ok()) {
      LogEvent(spdlog::level::info, "upload_refused",
               {{"file", metadata_.file_name()},
                {"code", StatusCodeName(status.code())},
                {"error", status.message()}});
    }
    writer_.reset();  // discards an uncommitted temporary file
    timer_.Finished(grpc_status);
    Finish(grpc_status);
  }

  ServiceContext& context_;
  grpc::CallbackServerContext* call_;
  Model* response_;
  std::string tenant_;
  RpcTimer timer_;
  UploadModelRequest request_;
  UploadModelRequest::Metadata metadata_;
  std::string expected_digest_;
  std::unique_ptr<BlobWriter> writer_;
};

}  // namespace

grpc::ServerReadReactor<UploadModelRequest>* NewUploadModelReactor(
    ServiceContext& context, grpc::CallbackServerContext* call, Model* response,
    const std::string& tenant) {
  return new UploadModelReactor(context, call, response, tenant);
}

}  // namespace graphopt::server
