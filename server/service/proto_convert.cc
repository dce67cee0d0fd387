// Records <-> graphopt.v1 messages.
#include "server/service/proto_convert.h"

#include "server/service/status_mapping.h"

namespace graphopt::server {

namespace {

const char* LevelName(v1::Level level) {
  switch (level) {
    case v1::LEVEL_DISABLED:
      return "disabled";
    case v1::LEVEL_UNSPECIFIED:
    case v1::LEVEL_BASIC:
      return "basic";
    case v1::LEVEL_EXTENDED:
      return "extended";
    case v1::LEVEL_LAYOUT:
      return "layout";
    case v1::LEVEL_ALL:
      return "all";
    default:
      return nullptr;
  }
}

v1::Level LevelFromName(const std::string& name) {
  if (name == "disabled") return v1::LEVEL_DISABLED;
  if (name == "extended") return v1::LEVEL_EXTENDED;
  if (name == "layout") return v1::LEVEL_LAYOUT;
  if (name == "all") return v1::LEVEL_ALL;
  return v1::LEVEL_BASIC;
}

void ProgressToProto(const JobProgressRecord& p, v1::JobProgress* out) {
  out->set_stage(p.stage);
  out->set_pass_index(p.pass_index);
  out->set_pass_count(p.pass_count);
  out->set_round(p.round);
  out->set_pass_name(p.pass_name);
}

v1::JobEvent::Type EventTypeToProto(JobEventType type) {
  switch (type) {
    case JobEventType::kQueued:
    case JobEventType::kRequeued:
      return v1::JobEvent::TYPE_QUEUED;
    case JobEventType::kStarted:
      return v1::JobEvent::TYPE_STARTED;
    case JobEventType::kPass:
      return v1::JobEvent::TYPE_PASS;
    case JobEventType::kVerifying:
      return v1::JobEvent::TYPE_VERIFYING;
    case JobEventType::kSucceeded:
      return v1::JobEvent::TYPE_SUCCEEDED;
    case JobEventType::kFailed:
      return v1::JobEvent::TYPE_FAILED;
    case JobEventType::kCancelled:
      return v1::JobEvent::TYPE_CANCELLED;
  }
  return v1::JobEvent::TYPE_UNSPECIFIED;
}

}  // namespace

void SetTimestamp(int64_t millis, google::protobuf::Timestamp* out) {
  out->set_seconds(millis / 1000);
  out->set_nanos(static_cast<int32_t>((millis % 1000) * 1000000));
}

Result<JobOptionsRecord> OptionsFromProto(const v1::JobOptions& o) {
  JobOptionsRecord r;
  const char* level = LevelName(o.level());
  if (level == nullptr) return InvalidArgument("unknown level " + std::to_string(o.level()));
  r.level = level;
  r.target = o.target().empty() ? "generic" : o.target();
  r.dims.insert(o.dims().begin(), o.dims().end());
  r.enable.insert(o.enable_passes().begin(), o.enable_passes().end());
  r.disable.insert(o.disable_passes().begin(), o.disable_passes().end());
  r.verify = o.has_verify() ? o.verify() : true;
  if (o.has_atol()) r.atol = o.atol();
  if (o.has_rtol()) r.rtol = o.rtol();
  r.priority = o.priority();
  // Everything else about the options is checked by ValidatePipelineOptions (via the runner),
  // the same function the CLI calls.
  return r;
}

v1::JobOptions OptionsToProto(const JobOptionsRecord& r) {
  v1::JobOptions o;
  o.set_level(LevelFromName(r.level));
  o.set_target(r.target);
  o.mutable_dims()->insert(r.dims.begin(), r.dims.end());
  for (const auto& p : r.enable) o.add_enable_passes(p);
  for (const auto& p : r.disable) o.add_disable_passes(p);
  o.set_verify(r.verify);
  if (r.atol) o.set_atol(*r.atol);
  if (r.rtol) o.set_rtol(*r.rtol);
  o.set_priority(r.priority);
  return o;
}

v1::JobState StateToProto(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return v1::JOB_STATE_QUEUED;
    case JobState::kRunning:
      return v1::JOB_STATE_RUNNING;
    case JobState::kSucceeded:
      return v1::JOB_STATE_SUCCEEDED;
    case JobState::kFailed:
      return v1::JOB_STATE_FAILED;
    case JobState::kCancelled:
      return v1::JOB_STATE_CANCELLED;
  }
  return v1::JOB_STATE_UNSPECIFIED;
}

Result<std::optional<JobState>> StateFilterFromProto(v1::JobState state) {
  switch (state) {
    case v1::JOB_STATE_UNSPECIFIED:
      return std::optional<JobState>();
    case v1::JOB_STATE_QUEUED:
      return std::optional<JobState>(JobState::kQueued);
    case v1::JOB_STATE_RUNNING:
      return std::optional<JobState>(JobState::kRunning);
    case v1::JOB_STATE_SUCCEEDED:
      return std::optional<JobState>(JobState::kSucceeded);
    case v1::JOB_STATE_FAILED:
      return std::optional<JobState>(JobState::kFailed);
    case v1::JOB_STATE_CANCELLED:
      return std::optional<JobState>(JobState::kCancelled);
    default:
      return InvalidArgument("unknown job state " + std::to_string(state));
  }
}

void JobToProto(const JobRecord& j, v1::Job* out) {
  out->set_id(j.id);
  out->set_state(StateToProto(j.state));
  *out->mutable_options() = OptionsToProto(j.options);
  out->set_model_digest(j.model_digest);
  out->mutable_external_data()->insert(j.external_data.begin(), j.external_data.end());
  out->set_idempotency_key(j.idempotency_key);
  if (j.created_at_ms) SetTimestamp(j.created_at_ms, out->mutable_created_at());
  if (j.started_at_ms) SetTimestamp(j.started_at_ms, out->mutable_started_at());
  if (j.finished_at_ms) SetTimestamp(j.finished_at_ms, out->mutable_finished_at());
  if (!j.error_code.empty()) {
    out->mutable_error()->set_code(j.error_code);
    out->mutable_error()->set_message(RedactServerPaths(j.error_message));
  }
  out->set_artifact_digest(j.artifact_digest);
  out->set_artifact_size_bytes(j.artifact_size);
  out->set_report_digest(j.report_digest);
  out->set_report_size_bytes(j.report_size);
  // A job that failed verification keeps its report too (with the culprit rewrite).
  if (!j.report_digest.empty()) {
    auto* report = out->mutable_report();
    report->set_nodes_before(j.nodes_before);
    report->set_nodes_after(j.nodes_after);
    report->set_bytes_before(j.bytes_before);
    report->set_bytes_after(j.bytes_after);
    report->set_verification_status(j.verification_status);
    report->set_graphopt_version(j.graphopt_version);
  }
  ProgressToProto(j.progress, out->mutable_progress());
  out->set_cached_from_job_id(j.cached_from_job_id);
  out->set_attempts(j.attempts);
  out->mutable_labels()->insert(j.labels.begin(), j.labels.end());
  out->set_model_name(j.model_name);
  out->set_model_version(j.model_version);
}

v1::Model ModelToProto(const ModelRecord& m) {
  v1::Model out;
  out.set_digest(m.digest);
  out.set_size_bytes(m.size);
  out.set_file_name(m.file_name);
  out.set_kind(static_cast<v1::FileKind>(m.kind));
  SetTimestamp(m.created_at_ms, out.mutable_created_at());
  out.set_name(m.name);
  out.set_version(m.version);
  out.mutable_labels()->insert(m.labels.begin(), m.labels.end());
  return out;
}

v1::JobEvent EventToProto(const JobEventRecord& e, const JobRecord& job, bool snapshot) {
  v1::JobEvent out;
  out.set_job_id(e.job_id);
  out.set_type(snapshot ? v1::JobEvent::TYPE_SNAPSHOT : EventTypeToProto(e.type));
  SetTimestamp(e.time_ms, out.mutable_time());
  out.set_state(StateToProto(e.state));
  ProgressToProto(e.progress, out.mutable_progress());
  if (!e.error_code.empty()) {
    out.mutable_error()->set_code(e.error_code);
    out.mutable_error()->set_message(RedactServerPaths(e.error_message));
  }
  if (snapshot || IsTerminal(e.state)) JobToProto(job, out.mutable_job());
  return out;
}

}  // namespace graphopt::server
