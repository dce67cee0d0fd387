// Size limits on what a client may make the server store: every string and map of a request is
// bounded, so no stored job can make a response (GetJob, ListJobs, WatchJob) exceed the message
// limit, and ListJobs also pages by bytes.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "graphopt/v1/optimizer.pb.h"
#include "optimizer/util/status.h"
#include "resource_labels.h"

namespace graphopt::server {

inline constexpr size_t kMaxIdBytes = 128;             // job ids, digests
inline constexpr size_t kMaxNameBytes = 256;           // pass, dim and target names, file names
inline constexpr size_t kMaxIdempotencyKeyBytes = 256;
inline constexpr size_t kMaxExternalLocationBytes = 1024;
inline constexpr int kMaxMapEntries = 256;             // dims, external data, pass lists
inline constexpr size_t kMaxCreateJobRequestBytes = 64 * 1024;
// A ListJobs page stops growing at this many bytes (well under the 8 MiB message limit).
inline constexpr size_t kMaxListJobsResponseBytes = 4 << 20;

Status CheckCreateJobRequest(const graphopt::v1::CreateJobRequest& request);
// Name, version and labels of an upload (rules in resource_labels.h); INVALID_ARGUMENT naming
// the field.
Status CheckModelIdentity(const graphopt::v1::UploadModelRequest::Metadata& metadata);
// A label map (`field`: "labels") as a std::map, or INVALID_ARGUMENT.
Result<std::map<std::string, std::string>> LabelsFromProto(
    const google::protobuf::Map<std::string, std::string>& labels, const std::string& field);
// A label selector, or INVALID_ARGUMENT naming label_selector.
Result<std::vector<LabelRequirement>> SelectorFromProto(const std::string& selector);
// `what` names the field in the error ("job_id").
Status CheckIdLength(const std::string& value, const char* what);

}  // namespace graphopt::server
