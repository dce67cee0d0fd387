// JobManager: job lifecycle, worker pool, watchers, recovery and graceful shutdown.
#include "server/jobs/job_manager.h"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/config/logging.h"
#include "server/jobs/local_job_queue.h"
#include "server/jobs/shared_store_queue.h"
#include "server/store/sha256.h"

namespace graphopt::server {

namespace fs = std::filesystem;

namespace {

constexpr int kModelKind = 1;
constexpr int kExternalDataKind = 2;
constexpr const char* kMainModelName = "model.onnx";

ObservedJobState Observed(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return ObservedJobState::kQueued;
    case JobState::kRunning:
      return ObservedJobState::kRunning;
    case JobState::kSucceeded:
      return ObservedJobState::kSucceeded;
    case JobState::kFailed:
      return ObservedJobState::kFailed;
    case JobState::kCancelled:
      return ObservedJobState::kCancelled;
  }
  return ObservedJobState::kFailed;
}

// External data locations become paths inside the job's folder: only plain relative paths.
Status CheckExternalLocation(const std::string& location) {
  if (location.empty() || location.front() == '/' || location.find('\\') != std::string::npos ||
      location.find('\0') != std::string::npos) {
    return InvalidArgument("external data location '" + location + "' must be a relative path");
  }
  for (const auto& part : fs::path(location)) {
    if (part == ".." || part == ".") {
      return InvalidArgument("external data location '" + location +
                             "' must not contain '.' or '..'");
    }
  }
  if (location == kMainModelName) {
    return InvalidArgument("external data location must not be '" + std::string(kMainModelName) +
                           "'");
  }
  return Status::Ok();
}

double SecondsBetween(int64_t from_ms, int64_t to_ms) {
  return from_ms > 0 && to_ms >= from_ms ? (to_ms - from_ms) / 1000.0 : 0.0;
}

}  // namespace

JobSubscription::~JobSubscription() {
  if (token_ != 0) manager_->Unsubscribe(job_id_, token_);
}

JobManager::JobManager(JobStore& jobs, BlobStore& blobs, JobRunner& runner,
                       std::shared_ptr<ServerObserver> observer, JobManagerOptions options)
    : jobs_(jobs),
      blobs_(blobs),
      runner_(runner),
      observer_(observer ? std::move(observer) : NullObserver()),
      options_(std::move(options)) {
  if (options_.shared.store) {
    queue_ = std::make_unique<SharedStoreQueue>(*this);
  } else {
    queue_ = std::make_unique<LocalJobQueue>(*this);
  }
}

JobManager::~JobManager() {
  if (pool_) Shutdown(std::chrono::milliseconds(0));
  StopStoreWatch();
  // Its threads call back into this object: stop them before any member goes.
  queue_.reset();
}

Status JobManager::Start() {
  std::error_code ec;
  fs::remove_all(options_.work_dir, ec);  // leftovers of jobs interrupted by a crash
  fs::create_directories(options_.work_dir, ec);
  if (ec) return Internal("cannot create work folder " + options_.work_dir + ": " + ec.message());

  RETURN_IF_ERROR(queue_->Recover());
  std::lock_guard lock(mu_);
  pool_ = std::make_unique<boost::asio::thread_pool>(std::max(1, options_.workers));
  started_ = true;
  observer_->OnBusyWorkers(0, options_.workers);
  PushGaugesLocked();
  queue_->StartLocked();
  if (options_.write_probe) {
    Status probe = options_.write_probe();
    if (!probe.ok()) {
      // A read-only or full data folder: serve reads, report not-ready until it is writable.
      store_writable_ = false;
      LogEvent(spdlog::level::err, "store_unwritable", {{"error", probe.ToString()}});
    }
    store_watch_ = std::thread([this] { StoreWatchLoop(); });
  }
  return Status::Ok();
}

std::string JobManager::NewJobId() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "job-%016llx",
                static_cast<unsigned long long>(random() ^ (++id_counter_ << 48)));
  return buffer;
}

std::string JobManager::ResultKey(const CreateJobParams& params) const {
  std::string text = "graphopt " + runner_.Version() + "\nmodel " + params.model_digest +
                     "\nexternal " + nlohmann::json(params.external_data).dump() + "\noptions " +
                     params.options.ResultKeyText();
  // The result cache is per tenant: a hit would tell one tenant what another optimized.
  if (params.tenant != kDefaultTenant) text += "\ntenant " + params.tenant;
  return DigestFromHex(Sha256Hex(text));
}

Result<JobRecord> JobManager::CreateJob(const CreateJobParams& params) {
  RETURN_IF_ERROR(CheckUploads(params));
  RETURN_IF_ERROR(runner_.Validate(params.options));
  RETURN_IF_ERROR(CheckModelForOptions(params));
  JobRecord record = NewJobRecord(params);
  ASSIGN_OR_RETURN(ModelRecord model, jobs_.GetModel(params.tenant, params.model_digest));
  record.model_name = model.name;
  record.model_version = model.version;
  // Touched before the job is stored: a storage collector running meanwhile spares them (or
  // has already deleted them, and the job is refused here instead of failing later).
  RETURN_IF_ERROR(blobs_.Touch(params.model_digest));
  for (const auto& [location, digest] : params.external_data) {
    RETURN_IF_ERROR(blobs_.Touch(digest));
  }

  std::lock_guard lock(mu_);
  if (draining_ || !started_) {
    return Status(StatusCode::kUnavailable, "the server is shutting down; retry elsewhere");
  }
  ASSIGN_OR_RETURN(auto existing, FindIdempotentJobLocked(params, record));
  if (existing) return *existing;
  record.id = NewJobId();
  if (!params.fresh) {
    ASSIGN_OR_RETURN(auto earlier, jobs_.FindSucceededJob(record.result_key));
    // Touch, not Contains: the collector must not take them before this job references them.
    if (earlier && blobs_.Touch(earlier->artifact_digest).ok() &&
        blobs_.Touch(earlier->report_digest).ok() &&
        (earlier->report_html_digest.empty() || blobs_.Touch(earlier->report_html_digest).ok())) {
      return CachedJobLocked(params, *earlier, std::move(record));
    }
  }
  RETURN_IF_ERROR(CheckCapacityLocked(params));
  return EnqueueLocked(params, record);
}

Status JobManager::CheckUploads(const CreateJobParams& params) {
  if (!IsValidDigest(params.model_digest)) {
    return InvalidArgument("model_digest must be 'sha256:<64 hex>', got '" + params.model_digest +
                           "'");
  }
  auto model = jobs_.GetModel(params.tenant, params.model_digest);
  if (!model.ok()) {
    if (model.status().code() == StatusCode::kNotFound) {
      return NotFound("model " + params.model_digest + " was not uploaded; call UploadModel first");
    }
    return model.status();
  }
  if (model->kind != kModelKind) {
    return InvalidArgument("upload " + params.model_digest +
                           " is external data, not an ONNX model");
  }
  for (const auto& [location, digest] : params.external_data) {
    RETURN_IF_ERROR(CheckExternalLocation(location));
    auto data = jobs_.GetModel(params.tenant, digest);
    if (!data.ok())
      return NotFound("external data '" + location + "' (" + digest + ") was not uploaded");
    if (data->kind != kExternalDataKind) {
      return InvalidArgument("upload " + digest + " for '" + location +
                             "' was not uploaded as FILE_KIND_EXTERNAL_DATA");
    }
  }
  return Status::Ok();
}

// Options that depend on the model (a --dim name it must have) are checked against its bytes.
Status JobManager::CheckModelForOptions(const CreateJobParams& params) {
  return runner_.ValidateForModel(params.options, [&]() -> Result<std::string> {
    ASSIGN_OR_RETURN(auto reader, blobs_.Open(params.model_digest));
    std::string bytes(static_cast<size_t>(reader->size()), '\0');
    size_t done = 0;
    while (done < bytes.size()) {
      ASSIGN_OR_RETURN(size_t n, reader->Read(bytes.data() + done, bytes.size() - done));
      if (n == 0) break;
      done += n;
    }
    bytes.resize(done);
    return bytes;
  });
}

JobRecord JobManager::NewJobRecord(const CreateJobParams& params) const {
  JobRecord record;
  record.tenant = params.tenant;
  record.model_digest = params.model_digest;
  record.external_data = params.external_data;
  record.options = params.options;
  record.idempotency_key = params.idempotency_key;
  record.labels = params.labels;
  record.result_key = ResultKey(params);
  // Labels are part of the request (a retry must send the same), not of the result.
  const std::string labels =
      params.labels.empty() ? "" : "\nlabels " + nlohmann::json(params.labels).dump();
  record.request_key = DigestFromHex(Sha256Hex(record.result_key + "\npriority " +
                                               std::to_string(params.options.priority) +
                                               "\nfresh " + (params.fresh ? "1" : "0") + labels));
  record.created_at_ms = NowMillis();
  return record;
}

Result<std::optional<JobRecord>> JobManager::FindIdempotentJobLocked(const CreateJobParams& params,
                                                                     const JobRecord& record) {
  if (params.idempotency_key.empty()) return std::optional<JobRecord>();
  ASSIGN_OR_RETURN(auto existing,
                   jobs_.FindJobByIdempotencyKey(params.tenant, params.idempotency_key));
  if (!existing) return std::optional<JobRecord>();
  if (existing->request_key != record.request_key) {
    return FailedPrecondition("idempotency key '" + params.idempotency_key +
                              "' was already used for a different request (job " + existing->id +
                              ")");
  }
  auto it = active_.find(existing->id);
  return std::optional<JobRecord>(it != active_.end() ? it->second->record : *existing);
}

Status JobManager::CheckCapacityLocked(const CreateJobParams& params) {
  if (options_.max_queued_jobs_per_tenant > 0) {
    ASSIGN_OR_RETURN(TenantUsage usage, jobs_.GetTenantUsage(params.tenant));
    if (usage.unfinished_jobs >= options_.max_queued_jobs_per_tenant) {
      return ResourceExhausted("tenant quota exceeded: " + std::to_string(usage.unfinished_jobs) +
                               " jobs queued or running (--tenant-max-queued-jobs " +
                               std::to_string(options_.max_queued_jobs_per_tenant) +
                               "); wait for some to finish");
    }
  }
  RETURN_IF_ERROR(queue_->RefreshDepthLocked());
  if (queue_->DepthLocked() >= options_.queue_capacity) {
    return ResourceExhausted("the job queue is full (" + std::to_string(options_.queue_capacity) +
                             " jobs waiting); retry later");
  }
  return Status::Ok();
}

Result<JobRecord> JobManager::EnqueueLocked(const CreateJobParams& params,
                                            const JobRecord& record) {
  auto inserted = queue_->InsertQueuedLocked(record);
  if (!inserted.ok()) {
    if (inserted.status().code() == StatusCode::kAlreadyExists && !params.idempotency_key.empty()) {
      // Another replica won the race for this key: that job is the answer.
      ASSIGN_OR_RETURN(auto existing,
                       jobs_.FindJobByIdempotencyKey(params.tenant, params.idempotency_key));
      if (existing) return *existing;
    }
    return inserted.status();
  }
  auto job = std::make_shared<ActiveJob>();
  job->record = std::move(inserted).value();
  RETURN_IF_ERROR(queue_->HoldQueuedLocked(job));
  NotifyStateLocked(job->record, false, JobState::kQueued, 0, false);
  PushGaugesLocked();
  LogJobEvent(spdlog::level::info, job->record.id, "job_queued",
              {{"model", job->record.model_digest},
               {"opt_level", job->record.options.level},
               {"target", job->record.options.target},
               {"priority", job->record.options.priority},
               {"queue_depth", queue_->DepthLocked()}});
  queue_->WakeLocked();
  return job->record;
}

Result<JobRecord> JobManager::CachedJobLocked(const CreateJobParams& params,
                                              const JobRecord& earlier, JobRecord record) {
  record.state = JobState::kSucceeded;
  record.started_at_ms = record.finished_at_ms = record.created_at_ms;
  record.artifact_digest = earlier.artifact_digest;
  record.artifact_size = earlier.artifact_size;
  record.report_digest = earlier.report_digest;
  record.report_html_digest = earlier.report_html_digest;
  record.report_size = earlier.report_size;
  record.nodes_before = earlier.nodes_before;
  record.nodes_after = earlier.nodes_after;
  record.bytes_before = earlier.bytes_before;
  record.bytes_after = earlier.bytes_after;
  record.verification_status = earlier.verification_status;
  record.graphopt_version = earlier.graphopt_version;
  record.cached_from_job_id =
      earlier.cached_from_job_id.empty() ? earlier.id : earlier.cached_from_job_id;
  record.progress.stage = "done";
  ASSIGN_OR_RETURN(JobRecord stored, jobs_.InsertJob(record));
  JobEventRecord event;
  event.job_id = stored.id;
  event.type = JobEventType::kSucceeded;
  event.time_ms = stored.finished_at_ms;
  event.state = stored.state;
  event.progress = stored.progress;
  Status appended = jobs_.AppendEvent(event);
  if (!appended.ok()) {
    LogJobEvent(spdlog::level::warn, stored.id, "event_not_stored",
                {{"error", appended.ToString()}});
  }
  NotifyStateLocked(stored, false, JobState::kQueued, 0, /*cache_hit=*/true);
  LogJobEvent(spdlog::level::info, stored.id, "job_cache_hit",
              {{"cached_from", stored.cached_from_job_id}, {"artifact", stored.artifact_digest}});
  return stored;
}

Result<JobRecord> JobManager::GetJob(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) return it->second->record;
    auto pending = pending_finishes_.find(id);
    if (pending != pending_finishes_.end()) return pending->second.record;
  }
  return jobs_.GetJob(id);
}

Result<JobPage> JobManager::ListJobs(const JobListQuery& query) {
  ASSIGN_OR_RETURN(JobPage page, jobs_.ListJobs(query));
  std::lock_guard lock(mu_);
  for (auto& job : page.jobs) {
    auto it = active_.find(job.id);
    if (it != active_.end()) job = it->second->record;  // carries the live progress
    auto pending = pending_finishes_.find(job.id);
    if (pending != pending_finishes_.end()) job = pending->second.record;
  }
  return page;
}

Result<JobRecord> JobManager::CancelJob(const std::string& id) { return queue_->Cancel(id); }

Result<std::unique_ptr<JobSubscription>> JobManager::Watch(const std::string& id,
                                                           JobListener listener) {
  return queue_->Watch(id, std::move(listener));
}

Result<std::unique_ptr<JobSubscription>> JobManager::SnapshotOnly(const JobRecord& record,
                                                                  const JobListener& listener) {
  listener(SnapshotEvent(record), record, /*snapshot=*/true);
  return std::make_unique<JobSubscription>(this, record.id, 0);
}

Status JobManager::AlreadyFinished(const JobRecord& record) {
  return FailedPrecondition("job " + record.id + " already finished (" +
                            JobStateName(record.state) + "); nothing to cancel");
}

double JobManager::RunSeconds(const JobRecord& record) {
  return SecondsBetween(record.started_at_ms, record.finished_at_ms);
}

void JobManager::Unsubscribe(const std::string& job_id, int64_t token) {
  queue_->Unsubscribe(job_id, token);
}

void JobManager::MarkStartedLocked(const JobRecord& record, LogFields extra) {
  NotifyStateLocked(record, true, JobState::kQueued, 0, false);
  ++busy_;
  PushGaugesLocked();
  LogFields fields = {{"attempt", record.attempts}, {"busy_workers", busy_}};
  for (auto& field : extra) fields.push_back(std::move(field));
  LogJobEvent(spdlog::level::info, record.id, "job_started", std::move(fields));
}

void JobManager::WorkerFinished() {
  std::lock_guard lock(mu_);
  --busy_;
  PushGaugesLocked();
  idle_cv_.notify_all();
  queue_->OnWorkerFreedLocked();
}

void JobManager::Execute(const std::shared_ptr<ActiveJob>& job) {
  const std::string work_dir = options_.work_dir + "/" + job->record.id;
  RunOutcome outcome;
  BlobInfo artifact;
  StoredReport report;
  Status status;
  // Nothing a job does may take the server down: exceptions become a failed job.
  try {
    status = ExecuteInWorkDir(job, work_dir, &outcome, &artifact, &report);
  } catch (const std::exception& e) {
    status = Internal(std::string("the optimizer threw an exception: ") + e.what());
  } catch (...) {
    status = Internal("the optimizer threw an unknown exception");
  }
  std::error_code ec;
  fs::remove_all(work_dir, ec);
  // The job's progress events are stored before whatever ends it (its terminal event follows).
  queue_->FlushProgress();

  std::lock_guard lock(mu_);
  const int stop = job->stop.load();
  JobRecord& r = job->record;
  if (stop == kStopLost) {
    // Cancelled in the shared store, or re-queued after a stall: its state is not ours to write.
    LogJobEvent(spdlog::level::info, r.id, "job_dropped", {{"reason", "lease_lost"}});
    active_.erase(r.id);
  } else if (stop == kStopUser) {
    FinishLocked(job, JobState::kCancelled, "CANCELLED", "cancelled by request while running");
  } else if (status.ok()) {
    r.artifact_digest = artifact.digest;
    r.artifact_size = artifact.size;
    KeepReportLocked(r, outcome, report);
    for (const auto& pass : outcome.passes) {
      observer_->OnPassFinished(pass.name, pass.seconds, pass.applied);
    }
    FinishLocked(job, JobState::kSucceeded, "", "");
  } else if (stop == kStopShutdown) {
    RequeueForShutdownLocked(job);
  } else if (stop == kStopTimeout) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%g", options_.job_timeout.count() / 1000.0);
    FinishLocked(job, JobState::kFailed, "DEADLINE_EXCEEDED",
                 std::string("timed out after ") + seconds + " s (--job-timeout)");
  } else {
    if (status.code() == StatusCode::kFailedPrecondition) {
      observer_->OnVerificationFailed(r.options.level, r.options.target);
    }
    if (!report.json.digest.empty()) KeepReportLocked(r, outcome, report);
    FinishLocked(job, JobState::kFailed, StatusCodeName(status.code()), status.message());
  }
}

void JobManager::KeepReportLocked(JobRecord& r, const RunOutcome& outcome,
                                  const StoredReport& report) {
  r.report_digest = report.json.digest;
  r.report_size = report.json.size;
  r.report_html_digest = report.html.digest;
  r.nodes_before = outcome.nodes_before;
  r.nodes_after = outcome.nodes_after;
  r.bytes_before = outcome.bytes_before;
  r.bytes_after = outcome.bytes_after;
  r.verification_status = outcome.verification_status;
  r.graphopt_version = outcome.graphopt_version;
}

Status JobManager::ExecuteInWorkDir(const std::shared_ptr<ActiveJob>& job,
                                    const std::string& work_dir, RunOutcome* outcome,
                                    BlobInfo* artifact, StoredReport* report) {
  std::error_code ec;
  fs::remove_all(work_dir, ec);
  fs::create_directories(work_dir + "/in", ec);
  fs::create_directories(work_dir + "/out", ec);
  if (ec) return Internal("cannot create the job's work folder: " + ec.message());

  const JobRecord& r = job->record;  // fields used here do not change while running
  RunRequest request;
  request.job_id = r.id;
  request.model_path = work_dir + "/in/" + kMainModelName;
  request.output_path = work_dir + "/out/" + kMainModelName;
  request.options = r.options;
  RETURN_IF_ERROR(blobs_.MaterializeAt(r.model_digest, request.model_path));
  for (const auto& [location, digest] : r.external_data) {
    RETURN_IF_ERROR(blobs_.MaterializeAt(digest, work_dir + "/in/" + location));
  }

  const bool has_limit = options_.job_timeout.count() > 0;
  const auto deadline = std::chrono::steady_clock::now() + options_.job_timeout;
  request.cancelled = [job, has_limit, deadline] {
    if (job->stop.load() != kNoStop) return true;
    if (has_limit && std::chrono::steady_clock::now() > deadline) {
      job->RequestStop(kStopTimeout);
      return true;
    }
    return false;
  };
  request.pass_delay_ms = options_.debug_pass_delay_ms;
  request.on_progress = [this, job](const RunProgress& p) {
    std::lock_guard lock(mu_);
    bool entering_verify = p.stage == "verifying" && job->record.progress.stage != "verifying";
    job->record.progress =
        JobProgressRecord{p.stage, p.pass_index, p.pass_count, p.pass_name, p.round};
    if (p.pass_name.empty() && !entering_verify) return;
    queue_->PublishProgressLocked(*job,
                                  entering_verify ? JobEventType::kVerifying : JobEventType::kPass);
  };

  ASSIGN_OR_RETURN(*outcome, runner_.Run(request));
  if (!outcome->failure.ok()) {
    // No artifact, but the report says why (the culprit rewrite): the failed job keeps it.
    ASSIGN_OR_RETURN(*report, StoreReport(*outcome));
    return outcome->failure;
  }
  for (const auto& entry : fs::directory_iterator(work_dir + "/out", ec)) {
    if (entry.path().filename() != kMainModelName) {
      return FailedPrecondition(
          "the optimized model needs an external data file (it is over 2 GiB); the server "
          "returns self-contained models only");
    }
  }
  ASSIGN_OR_RETURN(*artifact, blobs_.ImportFile(request.output_path));
  ASSIGN_OR_RETURN(*report, StoreReport(*outcome));
  return Status::Ok();
}

Result<JobManager::StoredReport> JobManager::StoreReport(const RunOutcome& outcome) {
  StoredReport stored;
  ASSIGN_OR_RETURN(stored.json, StoreBytes(outcome.report_json));
  // A runner that renders no page (tests' runners) leaves the HTML report out.
  if (!outcome.report_html.empty()) {
    ASSIGN_OR_RETURN(stored.html, StoreBytes(outcome.report_html));
  }
  return stored;
}

Result<BlobInfo> JobManager::StoreBytes(const std::string& bytes) {
  ASSIGN_OR_RETURN(auto writer, blobs_.NewWriter());
  RETURN_IF_ERROR(writer->Append(bytes));
  return writer->Commit();
}

void JobManager::RequeueForShutdownLocked(const std::shared_ptr<ActiveJob>& job) {
  // Not the job's fault: it runs again after the restart, or on another replica.
  JobRecord& r = job->record;
  r.state = JobState::kQueued;
  r.progress = JobProgressRecord{};
  queue_->RequeueLocked(*job);
  NotifyStateLocked(r, true, JobState::kRunning, 0, false);
  LogJobEvent(spdlog::level::info, r.id, "job_requeued", {{"reason", "shutdown"}});
  observer_->OnJobRequeued("shutdown", 1);
  active_.erase(r.id);
}

Status JobManager::PersistLocked(const JobRecord& record) {
  Status st = jobs_.UpdateJob(record);
  if (!st.ok()) {
    LogJobEvent(spdlog::level::err, record.id, "job_not_stored", {{"error", st.ToString()}});
    observer_->OnStoreError("persist_job");
  }
  return st;
}

JobEventRecord JobManager::EventOf(const JobRecord& record, JobEventType type) {
  JobEventRecord event;
  event.job_id = record.id;
  event.type = type;
  event.time_ms = NowMillis();
  event.state = record.state;
  event.progress = record.progress;
  event.error_code = record.error_code;
  event.error_message = record.error_message;
  return event;
}

void JobManager::PublishLocked(ActiveJob& job, JobEventType type, bool persist) {
  const JobEventRecord event = EventOf(job.record, type);
  if (persist) {
    Status st = jobs_.AppendEvent(event);
    if (!st.ok()) {
      LogJobEvent(spdlog::level::warn, job.record.id, "event_not_stored",
                  {{"error", st.ToString()}});
      observer_->OnStoreError("append_event");
    }
  }
  for (auto& [token, listener] : job.listeners) listener(event, job.record, /*snapshot=*/false);
}

void JobManager::NotifyStateLocked(const JobRecord& record, bool has_previous, JobState previous,
                                   double run_seconds, bool cache_hit) {
  JobStateChange change;
  change.job_id = record.id;
  change.level = record.options.level;
  change.target = record.options.target;
  change.has_previous = has_previous;
  change.previous = Observed(previous);
  change.current = Observed(record.state);
  change.run_seconds = run_seconds;
  change.cache_hit = cache_hit;
  change.error_code = record.error_code;
  // The first start after creation: its wait is known. A re-queued job's last queue entry is
  // not recorded, so its wait is left unknown rather than counted from creation.
  if (change.current == ObservedJobState::kRunning && previous == JobState::kQueued &&
      record.attempts == 1 && record.created_at_ms > 0 &&
      record.started_at_ms >= record.created_at_ms) {
    change.queue_seconds = SecondsBetween(record.created_at_ms, record.started_at_ms);
  }
  if (record.state == JobState::kSucceeded && !cache_hit) {
    change.nodes_removed = record.nodes_before - record.nodes_after;
  }
  observer_->OnJobStateChange(change);
}

void JobManager::FinishLocked(const std::shared_ptr<ActiveJob>& job, JobState state,
                              const std::string& code, const std::string& message) {
  JobRecord& r = job->record;
  const JobState previous = r.state;
  r.state = state;
  r.finished_at_ms = NowMillis();
  r.error_code = code;
  r.error_message = message;
  r.progress.stage = "done";
  if (!queue_->StoreFinalStateLocked(job)) {
    job->listeners.clear();
    active_.erase(r.id);
    return;
  }
  const double run_seconds =
      previous == JobState::kRunning ? SecondsBetween(r.started_at_ms, r.finished_at_ms) : 0.0;
  NotifyStateLocked(r, true, previous, run_seconds, false);
  LogFields fields = {{"state", JobStateName(state)}, {"seconds", run_seconds}};
  if (state == JobState::kSucceeded) {
    fields.push_back({"artifact", r.artifact_digest});
    fields.push_back({"nodes_before", r.nodes_before});
    fields.push_back({"nodes_after", r.nodes_after});
    fields.push_back({"verification", r.verification_status});
  } else {
    fields.push_back({"code", code});
    fields.push_back({"error", message});
  }
  LogJobEvent(state == JobState::kFailed ? spdlog::level::warn : spdlog::level::info, r.id,
              "job_finished", fields);
  job->listeners.clear();
  active_.erase(r.id);
}

void JobManager::PushGaugesLocked() {
  observer_->OnQueueDepth(static_cast<int64_t>(queue_->DepthLocked()));
  observer_->OnBusyWorkers(busy_, options_.workers);
}

bool JobManager::Shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (!pool_) return true;
    draining_ = true;
  }
  queue_->StopTaking();
  std::unique_lock lock(mu_);
  LogEvent(spdlog::level::info, "jobs_draining",
           {{"running", busy_},
            {"queued", queue_->DepthLocked()},
            {"grace_seconds", grace.count() / 1000.0}});
  idle_cv_.wait_for(lock, grace, [this] { return busy_ == 0; });
  if (busy_ > 0) {
    for (auto& [id, job] : active_) {
      if (job->record.state != JobState::kRunning) continue;
      job->RequestStop(kStopShutdown);
    }
    // They stop at their next pass boundary; one pass on a large model can take a while.
    idle_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return busy_ == 0; });
  }
  const bool stopped = busy_ == 0;
  lock.unlock();
  // Final states still unstored get one last try; those that fail re-run after the restart.
  StopStoreWatch();
  CheckStoreOnce();
  queue_->Stop();
  if (stopped) {
    pool_->join();
    pool_.reset();
  } else {
    // A worker is stuck inside one pass. Its job is still RUNNING in the store, so the next
    // start re-queues it; the caller exits the process without waiting for the thread.
    pool_->stop();
    (void)pool_.release();
    LogEvent(spdlog::level::warn, "workers_not_stopped", {});
  }
  return stopped;
}

size_t JobManager::queue_depth() {
  queue_->RefreshDepth();  // other replicas may claim too
  std::lock_guard lock(mu_);
  return queue_->DepthLocked();
}

int JobManager::busy_workers() {
  std::lock_guard lock(mu_);
  return busy_;
}

}  // namespace graphopt::server
