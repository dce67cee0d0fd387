// Translation between the API's messages (graphopt.v1) and the server's records.
#pragma once

#include "graphopt/v1/optimizer.pb.h"
#include "optimizer/util/status.h"
#include "server/store/job_record.h"

namespace graphopt::server {

namespace v1 = ::graphopt::v1;

Result<JobOptionsRecord> OptionsFromProto(const v1::JobOptions& options);
v1::JobOptions OptionsToProto(const JobOptionsRecord& options);
v1::JobState StateToProto(JobState state);
// UNSPECIFIED -> nullopt (no filter).
Result<std::optional<JobState>> StateFilterFromProto(v1::JobState state);
void JobToProto(const JobRecord& job, v1::Job* out);
v1::Model ModelToProto(const ModelRecord& model);
// `snapshot`: the first event of a watch, carrying the whole job.
v1::JobEvent EventToProto(const JobEventRecord& event, const JobRecord& job, bool snapshot);
void SetTimestamp(int64_t millis, google::protobuf::Timestamp* out);

}  // namespace graphopt::server
