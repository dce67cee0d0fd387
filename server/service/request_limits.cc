// The checks behind request_limits.h; each error names the field and its limit.
#include "server/service/request_limits.h"

namespace graphopt::server {

namespace {

Status CheckLength(const std::string& value, size_t limit, const std::string& what) {
  if (value.size() <= limit) return Status::Ok();
  return InvalidArgument(what + " is " + std::to_string(value.size()) + " bytes; the limit is " +
                         std::to_string(limit));
}

Status CheckCount(int count, const std::string& what) {
  if (count <= kMaxMapEntries) return Status::Ok();
  return InvalidArgument(what + " has " + std::to_string(count) + " entries; the limit is " +
                         std::to_string(kMaxMapEntries));
}

template <typename Names>
Status CheckNames(const Names& names, const std::string& what) {
  RETURN_IF_ERROR(CheckCount(names.size(), what));
  for (const std::string& name : names) RETURN_IF_ERROR(CheckLength(name, kMaxNameBytes, what + " entry"));
  return Status::Ok();
}

}  // namespace

Status CheckModelIdentity(const graphopt::v1::UploadModelRequest::Metadata& metadata) {
  std::string error = CheckModelName(metadata.name(), "metadata.name");
  if (error.empty()) error = CheckModelVersion(metadata.version(), "metadata.version");
  if (error.empty() && metadata.name().empty() && !metadata.version().empty()) {
    error = "metadata.version needs metadata.name";
  }
  if (!error.empty()) return InvalidArgument(error);
  return LabelsFromProto(metadata.labels(), "metadata.labels").status();
}

Result<std::map<std::string, std::string>> LabelsFromProto(
    const google::protobuf::Map<std::string, std::string>& labels, const std::string& field) {
  std::map<std::string, std::string> out(labels.begin(), labels.end());
  std::string error = CheckLabels(out, field);
  if (!error.empty()) return InvalidArgument(error);
  return out;
}

Result<std::vector<LabelRequirement>> SelectorFromProto(const std::string& selector) {
  if (selector.size() > 4096) return InvalidArgument("label_selector is longer than 4096 bytes");
  std::vector<LabelRequirement> out;
  std::string error = ParseLabelSelector(selector, &out);
  if (!error.empty()) return InvalidArgument(error);
  return out;
}

Status CheckIdLength(const std::string& value, const char* what) {
  return CheckLength(value, kMaxIdBytes, what);
}

Status CheckCreateJobRequest(const graphopt::v1::CreateJobRequest& request) {
  const size_t total = request.ByteSizeLong();
  if (total > kMaxCreateJobRequestBytes) {
    return InvalidArgument("the CreateJob request is " + std::to_string(total) +
                           " bytes; the limit is " + std::to_string(kMaxCreateJobRequestBytes));
  }
  RETURN_IF_ERROR(CheckIdLength(request.model_digest(), "model_digest"));
  RETURN_IF_ERROR(
      CheckLength(request.idempotency_key(), kMaxIdempotencyKeyBytes, "idempotency_key"));
  RETURN_IF_ERROR(CheckCount(request.external_data_size(), "external_data"));
  for (const auto& [location, digest] : request.external_data()) {
    RETURN_IF_ERROR(CheckLength(location, kMaxExternalLocationBytes, "external_data location"));
    RETURN_IF_ERROR(CheckIdLength(digest, "external_data digest"));
  }
  const auto& options = request.options();
  RETURN_IF_ERROR(CheckLength(options.target(), kMaxNameBytes, "options.target"));
  RETURN_IF_ERROR(CheckCount(options.dims_size(), "options.dims"));
  for (const auto& [name, value] : options.dims()) {
    RETURN_IF_ERROR(CheckLength(name, kMaxNameBytes, "options.dims name"));
  }
  RETURN_IF_ERROR(CheckNames(options.enable_passes(), "options.enable_passes"));
  RETURN_IF_ERROR(CheckNames(options.disable_passes(), "options.disable_passes"));
  return Status::Ok();
}

}  // namespace graphopt::server
