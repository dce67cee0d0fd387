// ClassifyError's table and the encoding of google.rpc.Status (see error_details.h).
#include "server/service/error_details.h"

#include <google/protobuf/descriptor.h>

#include <regex>
#include <string_view>
#include <vector>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "graphopt/v1/optimizer.pb.h"
#include "grpc_code_name.h"

namespace graphopt::server {
namespace {

namespace pb = google::protobuf;
using Code = grpc::StatusCode;

// One kind of error the service returns, recognised by its code and a fragment of its message
// (the messages are written once, where the error is detected). The first matching row wins.
struct Rule {
  Code code;
  std::string_view fragment;  // "" matches every message of the code
  const char* reason;
  const char* field;  // nullptr: the field path the message starts with, if any
  int retry_ms;       // 0: retrying the same call cannot help, no RetryInfo
};

constexpr Rule kRules[] = {
    // Job options, in ValidatePipelineOptions' words (the CLI prints the same).
    {Code::INVALID_ARGUMENT, "unknown target '", "UNKNOWN_TARGET", "options.target", 0},
    {Code::INVALID_ARGUMENT, "' to enable", "UNKNOWN_PASS", "options.enable_passes", 0},
    {Code::INVALID_ARGUMENT, "' to disable", "UNKNOWN_PASS", "options.disable_passes", 0},
    {Code::INVALID_ARGUMENT, "is both enabled and disabled", "CONFLICTING_PASSES",
     "options.disable_passes", 0},
    {Code::INVALID_ARGUMENT, "unknown level", "UNKNOWN_LEVEL", "options.level", 0},
    {Code::INVALID_ARGUMENT, "must be positive", "INVALID_DIM", "options.dims", 0},
    {Code::INVALID_ARGUMENT, "the model has no symbolic dim", "UNKNOWN_DIM", "options.dims", 0},
    {Code::INVALID_ARGUMENT, "must be a finite number", "INVALID_TOLERANCE", nullptr, 0},
    {Code::INVALID_ARGUMENT, "min_cosine must be", "INVALID_TOLERANCE", "options.min_cosine", 0},
    // Conversions (precision_conversion.cc's words).
    {Code::INVALID_ARGUMENT, "unknown quantization", "UNKNOWN_QUANTIZATION", "options.quantize",
     0},
    {Code::INVALID_ARGUMENT, "unknown precision", "UNKNOWN_PRECISION", "options.precision", 0},
    {Code::INVALID_ARGUMENT, "does not declare float16", "PRECISION_NOT_SUPPORTED",
     "options.precision", 0},
    {Code::INVALID_ARGUMENT, "convert the same weights two ways", "CONFLICTING_CONVERSIONS",
     "options.precision", 0},
    // CreateJob's uploads and limits.
    {Code::INVALID_ARGUMENT, "the CreateJob request is", "REQUEST_TOO_LARGE", "", 0},
    {Code::INVALID_ARGUMENT, " bytes; the limit is ", "FIELD_TOO_LONG", nullptr, 0},
    {Code::INVALID_ARGUMENT, " entries; the limit is ", "TOO_MANY_ENTRIES", nullptr, 0},
    {Code::INVALID_ARGUMENT, "must be 'sha256:<64 hex>'", "INVALID_DIGEST", nullptr, 0},
    {Code::INVALID_ARGUMENT, "external data location", "INVALID_EXTERNAL_DATA_LOCATION",
     "external_data", 0},
    {Code::INVALID_ARGUMENT, "is external data, not an ONNX model", "NOT_A_MODEL", "model_digest",
     0},
    {Code::INVALID_ARGUMENT, "was not uploaded as FILE_KIND_EXTERNAL_DATA", "NOT_EXTERNAL_DATA",
     "external_data", 0},
    // UploadModel.
    {Code::INVALID_ARGUMENT, "the upload is not", "INVALID_MODEL", "chunk", 0},
    {Code::INVALID_ARGUMENT, "the upload is refused", "INVALID_MODEL", "chunk", 0},
    {Code::INVALID_ARGUMENT, "sha256 mismatch", "DIGEST_MISMATCH", "metadata.sha256", 0},
    {Code::INVALID_ARGUMENT, "the upload sent more", "SIZE_MISMATCH", "metadata.declared_size", 0},
    {Code::INVALID_ARGUMENT, "the upload declared", "SIZE_MISMATCH", "metadata.declared_size", 0},
    {Code::INVALID_ARGUMENT, "must carry metadata", "METADATA_OUT_OF_ORDER", "metadata", 0},
    {Code::INVALID_ARGUMENT, "sent no metadata", "METADATA_OUT_OF_ORDER", "metadata", 0},
    {Code::INVALID_ARGUMENT, "metadata may only be sent once", "METADATA_OUT_OF_ORDER", "metadata",
     0},
    {Code::INVALID_ARGUMENT, "unknown file kind", "UNKNOWN_FILE_KIND", "metadata.kind", 0},
    // Names and labels (resource_labels.h words: they start with the field's path).
    {Code::INVALID_ARGUMENT, "label_selector", "INVALID_LABEL_SELECTOR", nullptr, 0},
    {Code::INVALID_ARGUMENT, "metadata.name", "INVALID_MODEL_NAME", nullptr, 0},
    {Code::INVALID_ARGUMENT, "metadata.version", "INVALID_MODEL_VERSION", nullptr, 0},
    {Code::INVALID_ARGUMENT, "labels", "INVALID_LABELS", nullptr, 0},
    // Reads.
    {Code::INVALID_ARGUMENT, "unknown artifact kind", "UNKNOWN_ARTIFACT_KIND", "kind", 0},
    {Code::INVALID_ARGUMENT, "unknown job state", "UNKNOWN_JOB_STATE", "state", 0},
    {Code::INVALID_ARGUMENT, "page_token", "INVALID_PAGE_TOKEN", "page_token", 0},
    {Code::INVALID_ARGUMENT, "", "INVALID_ARGUMENT", nullptr, 0},

    {Code::NOT_FOUND, "no job with id", "JOB_NOT_FOUND", nullptr, 0},
    {Code::NOT_FOUND, "external data '", "EXTERNAL_DATA_NOT_FOUND", nullptr, 0},
    {Code::NOT_FOUND, "model ", "MODEL_NOT_FOUND", nullptr, 0},

    {Code::ALREADY_EXISTS, "model name '", "MODEL_VERSION_TAKEN", nullptr, 0},

    {Code::FAILED_PRECONDITION, "is used by a queued or running job", "MODEL_IN_USE", nullptr, 0},
    {Code::FAILED_PRECONDITION, "cancel it before deleting it", "JOB_NOT_FINISHED", nullptr, 0},
    {Code::FAILED_PRECONDITION, "idempotency key", "IDEMPOTENCY_KEY_REUSED", nullptr, 0},
    {Code::FAILED_PRECONDITION, "already finished", "JOB_ALREADY_FINISHED", nullptr, 0},
    {Code::FAILED_PRECONDITION, "models exist only for succeeded jobs", "ARTIFACT_NOT_AVAILABLE",
     nullptr, 0},
    {Code::FAILED_PRECONDITION, "has no HTML report", "ARTIFACT_NOT_AVAILABLE", nullptr, 0},

    // A queue drains in seconds; a tenant's jobs in tens of seconds; stored bytes only when
    // something is deleted. An upload over the size limit never fits: no RetryInfo.
    {Code::RESOURCE_EXHAUSTED, "job queue is full", "QUEUE_FULL", nullptr, 5000},
    {Code::RESOURCE_EXHAUSTED, "tenant quota exceeded: storing", "STORAGE_QUOTA_EXCEEDED", nullptr,
     60000},
    {Code::RESOURCE_EXHAUSTED, "tenant quota exceeded", "JOB_QUOTA_EXCEEDED", nullptr, 15000},
    {Code::RESOURCE_EXHAUSTED, "the upload declares", "UPLOAD_TOO_LARGE", nullptr, 0},
    {Code::RESOURCE_EXHAUSTED, "the upload exceeds", "UPLOAD_TOO_LARGE", nullptr, 0},
    {Code::RESOURCE_EXHAUSTED, "", "RESOURCE_EXHAUSTED", nullptr, 5000},

    // Another replica (or this one, restarted) answers within a second or two.
    {Code::UNAVAILABLE, "shutting down", "SHUTTING_DOWN", nullptr, 1000},
    {Code::UNAVAILABLE, "", "UNAVAILABLE", nullptr, 1000},
};

// Paths of `type`'s fields, and one level into its singular message fields ("options.target",
// "metadata.sha256"): the depth at which the service's messages name fields.
bool IsFieldPath(const pb::Descriptor* type, std::string_view path) {
  const size_t dot = path.find('.');
  const pb::FieldDescriptor* field = type->FindFieldByName(std::string(path.substr(0, dot)));
  if (field == nullptr) return false;
  if (dot == std::string_view::npos) return true;
  const pb::Descriptor* inner = field->message_type();
  return inner != nullptr && !field->is_map() && !field->is_repeated() &&
         IsFieldPath(inner, path.substr(dot + 1));
}

// The request field a message starts with ("options.target is 300 bytes; ...", "page_size
// must not be negative"), checked against every request of graphopt.v1; a bare name of an
// options or metadata field gets its parent ("atol" -> "options.atol").
std::optional<std::string> LeadingFieldPath(const std::string& message) {
  const size_t end = message.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_.");
  const std::string word = message.substr(0, end);
  if (word.empty()) return std::nullopt;
  const pb::FileDescriptor* file = graphopt::v1::CreateJobRequest::descriptor()->file();
  std::vector<const pb::Descriptor*> requests;
  for (int i = 0; i < file->message_type_count(); ++i) {
    const std::string& name = file->message_type(i)->name();
    if (name.size() > 7 && name.compare(name.size() - 7, 7, "Request") == 0) {
      requests.push_back(file->message_type(i));
    }
  }
  // A field of a request itself first ("labels" of CreateJobRequest), then one level down
  // ("labels" of UploadModelRequest.metadata).
  for (const pb::Descriptor* request : requests) {
    if (IsFieldPath(request, word)) return word;
  }
  for (const pb::Descriptor* request : requests) {
    for (int f = 0; f < request->field_count(); ++f) {
      const pb::FieldDescriptor* field = request->field(f);
      if (field->message_type() == nullptr || field->is_map() || field->is_repeated()) continue;
      if (IsFieldPath(field->message_type(), word)) return field->name() + "." + word;
    }
  }
  return std::nullopt;
}

// Identifiers a program may act on, copied from the message.
void AddMetadata(const std::string& message, std::map<std::string, std::string>* metadata) {
  static const std::regex kJobId("job-[0-9a-f]{16}");
  static const std::regex kDigest("sha256:[0-9a-f]{64}");
  std::smatch m;
  if (std::regex_search(message, m, kJobId)) (*metadata)["jobId"] = m.str();
  if (std::regex_search(message, m, kDigest)) (*metadata)["digest"] = m.str();
}

}  // namespace

ErrorDetails ClassifyError(grpc::StatusCode code, const std::string& message) {
  ErrorDetails details;
  details.reason = GrpcCodeName(code);
  const Rule* rule = nullptr;
  for (const Rule& r : kRules) {
    if (r.code == code && message.find(r.fragment) != std::string::npos) {
      rule = &r;
      break;
    }
  }
  if (rule != nullptr) {
    details.reason = rule->reason;
    if (rule->retry_ms > 0) details.retry_delay = std::chrono::milliseconds(rule->retry_ms);
  }
  if (code == Code::INVALID_ARGUMENT) {
    details.field = rule != nullptr && rule->field != nullptr
                        ? std::optional<std::string>(rule->field)
                        : LeadingFieldPath(message);
    if (!details.field) details.field = "";
    if (!details.field->empty()) details.metadata["field"] = *details.field;
  }
  AddMetadata(message, &details.metadata);
  return details;
}

std::string EncodeStatusDetails(grpc::StatusCode code, const std::string& message,
                                const ErrorDetails& details) {
  google::rpc::Status status;
  status.set_code(static_cast<int32_t>(code));
  status.set_message(message);
  google::rpc::ErrorInfo info;
  info.set_reason(details.reason);
  info.set_domain(kErrorDomain);
  info.mutable_metadata()->insert(details.metadata.begin(), details.metadata.end());
  status.add_details()->PackFrom(info);
  if (details.field) {
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field(*details.field);
    violation->set_description(message);
    status.add_details()->PackFrom(bad_request);
  }
  if (details.retry_delay) {
    google::rpc::RetryInfo retry;
    const auto ms = details.retry_delay->count();
    retry.mutable_retry_delay()->set_seconds(ms / 1000);
    retry.mutable_retry_delay()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
    status.add_details()->PackFrom(retry);
  }
  return status.SerializeAsString();
}

grpc::Status WithErrorDetails(const grpc::Status& status) {
  if (status.ok() || !status.error_details().empty()) return status;
  const ErrorDetails details = ClassifyError(status.error_code(), status.error_message());
  return grpc::Status(status.error_code(), status.error_message(),
                      EncodeStatusDetails(status.error_code(), status.error_message(), details));
}

}  // namespace graphopt::server
