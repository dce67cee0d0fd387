// JobManager: job lifecycle, worker pool, watchers, recovery and graceful shutdown.
#include "server/jobs/job_manager.h"

#include <boost/asio/post.hpp>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/config/logging.h"
#include "server/jobs/progress_event_writer.h"
#include "server/jobs/store_event_feed.h"
#include "server/store/lease_keeper.h"
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
      options_(std::move(options)),
      queue_(options_.queue_capacity) {}

JobManager::~JobManager() {
  if (pool_) Shutdown(std::chrono::milliseconds(0));
  StopStoreWatch();
  // Their threads call back into this object: stop them before any member goes.
  if (feed_) feed_->Stop();
  if (keeper_) keeper_->Stop();
  progress_writer_.reset();
}

Status JobManager::Start() {
  std::error_code ec;
  fs::remove_all(options_.work_dir, ec);  // leftovers of jobs interrupted by a crash
  fs::create_directories(options_.work_dir, ec);
  if (ec) return Internal("cannot create work folder " + options_.work_dir + ": " + ec.message());

  // With a shared store nothing is recovered here: the jobs of a stopped replica (this one's
  // previous process included) go back to the queue when their leases expire (LeaseKeeper).
  std::vector<JobRecord> unfinished;
  if (!shared()) {
    ASSIGN_OR_RETURN(unfinished, jobs_.ListUnfinishedJobs());
  }
  std::lock_guard lock(mu_);
  for (auto& record : unfinished) {
    auto job = std::make_shared<ActiveJob>();
    job->record = std::move(record);
    if (job->record.state == JobState::kRunning &&
        job->record.attempts >= options_.max_attempts) {
      // Running at every one of the last stops: it may be what kills the process. Give up.
      job->record.state = JobState::kRunning;
      active_[job->record.id] = job;
      FinishLocked(job, JobState::kFailed, "INTERNAL",
                   "the server stopped while this job ran, " +
                       std::to_string(job->record.attempts) +
                       " times (--max-attempts " + std::to_string(options_.max_attempts) +
                       "); it is not retried again");
      continue;
    }
    if (job->record.state == JobState::kRunning) {
      // It was running when the previous process stopped: run it again from the start.
      job->record.state = JobState::kQueued;
      job->record.progress = JobProgressRecord{};
      (void)PersistLocked(job->record);  // logged; the job re-runs either way
      PublishLocked(*job, JobEventType::kRequeued, /*persist=*/true);
      LogJobEvent(spdlog::level::info, job->record.id, "job_requeued",
                  {{"reason", "restart"}, {"attempts", job->record.attempts}});
      observer_->OnJobRequeued("restart", 1);
    } else {
      LogJobEvent(spdlog::level::info, job->record.id, "job_recovered", {{"state", "queued"}});
    }
    queue_.PushRecovered(job->record.id, job->record.options.priority, job->record.seq,
                         job->record.attempts);
    active_[job->record.id] = job;
  }
  pool_ = std::make_unique<boost::asio::thread_pool>(std::max(1, options_.workers));
  started_ = true;
  if (shared()) {
    const SharedQueueOptions& s = options_.shared;
    keeper_ = std::make_unique<LeaseKeeper>(
        *s.store, LeaseKeeperOptions{s.owner, s.lease, options_.max_attempts},
        [this](const std::string& id) { OnLeaseLost(id); },
        [this](const std::vector<std::string>& ids) {
          // Jobs whose replica stopped renewing their lease (it died or hung): another replica
          // takes them over from the queue.
          LogEvent(spdlog::level::warn, "jobs_taken_over",
                   {{"jobs", static_cast<int64_t>(ids.size())}, {"first_job", ids.front()}});
          observer_->OnJobRequeued("lease_expired", static_cast<int64_t>(ids.size()));
          WakeClaimLoop();
        });
    feed_ = std::make_unique<StoreEventFeed>(jobs_, *s.store, s.poll, [this] { WakeClaimLoop(); });
    progress_writer_ = std::make_unique<ProgressEventWriter>(*s.store);
    keeper_->Start();
    feed_->Start();
    claim_wanted_ = true;
    claimer_ = std::thread([this] { ClaimLoop(); });
  }
  observer_->OnBusyWorkers(0, options_.workers);
  PushGaugesLocked();
  for (size_t i = 0; i < queue_.size(); ++i) PostRunNext();
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
  RETURN_IF_ERROR(runner_.ValidateForModel(params.options, [&]() -> Result<std::string> {
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
  }));
  JobRecord record = NewJobRecord(params);

  std::lock_guard lock(mu_);
  if (draining_ || !started_) {
    return Status(StatusCode::kUnavailable, "the server is shutting down; retry elsewhere");
  }
  ASSIGN_OR_RETURN(auto existing, FindIdempotentJobLocked(params, record));
  if (existing) return *existing;
  record.id = NewJobId();
  if (!params.fresh) {
    ASSIGN_OR_RETURN(auto earlier, jobs_.FindSucceededJob(record.result_key));
    if (earlier && blobs_.Contains(earlier->artifact_digest) &&
        blobs_.Contains(earlier->report_digest)) {
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

JobRecord JobManager::NewJobRecord(const CreateJobParams& params) const {
  JobRecord record;
  record.tenant = params.tenant;
  record.model_digest = params.model_digest;
  record.external_data = params.external_data;
  record.options = params.options;
  record.idempotency_key = params.idempotency_key;
  record.result_key = ResultKey(params);
  record.request_key = DigestFromHex(Sha256Hex(record.result_key + "\npriority " +
                                               std::to_string(params.options.priority) +
                                               "\nfresh " + (params.fresh ? "1" : "0")));
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
  if (shared()) {
    // The shared queue's depth over all replicas is what the limit protects.
    ASSIGN_OR_RETURN(shared_queue_depth_, options_.shared.store->CountQueuedJobs());
  }
  if (QueueDepthLocked() >= options_.queue_capacity) {
    return ResourceExhausted("the job queue is full (" + std::to_string(options_.queue_capacity) +
                             " jobs waiting); retry later");
  }
  return Status::Ok();
}

Result<JobRecord> JobManager::EnqueueLocked(const CreateJobParams& params,
                                            const JobRecord& record) {
  // A shared store writes the queued event with the job: other replicas may claim it at once.
  auto inserted =
      shared() ? options_.shared.store->EnqueueJob(record) : jobs_.InsertJob(record);
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
  if (shared()) {
    ++shared_queue_depth_;  // queued in the store for any replica to claim; not held here
  } else {
    RETURN_IF_ERROR(queue_.Push(job->record.id, job->record.options.priority, job->record.seq));
    active_[job->record.id] = job;
    PublishLocked(*job, JobEventType::kQueued, /*persist=*/true);
  }
  NotifyStateLocked(job->record, false, JobState::kQueued, 0, false);
  PushGaugesLocked();
  LogJobEvent(spdlog::level::info, job->record.id, "job_queued",
              {{"model", job->record.model_digest},
               {"opt_level", job->record.options.level},
               {"target", job->record.options.target},
               {"priority", job->record.options.priority},
               {"queue_depth", QueueDepthLocked()}});
  if (shared()) {
    WakeClaimLoopLocked();
  } else {
    PostRunNext();
  }
  return job->record;
}

Result<JobRecord> JobManager::CachedJobLocked(const CreateJobParams& params,
                                              const JobRecord& earlier, JobRecord record) {
  record.state = JobState::kSucceeded;
  record.started_at_ms = record.finished_at_ms = record.created_at_ms;
  record.artifact_digest = earlier.artifact_digest;
  record.artifact_size = earlier.artifact_size;
  record.report_digest = earlier.report_digest;
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

Result<JobRecord> JobManager::CancelJob(const std::string& id) {
  if (shared()) return CancelSharedJob(id);
  std::unique_lock lock(mu_);
  auto it = active_.find(id);
  if (it == active_.end()) {
    lock.unlock();
    ASSIGN_OR_RETURN(JobRecord record, jobs_.GetJob(id));
    return FailedPrecondition("job " + id + " already finished (" + JobStateName(record.state) +
                              "); nothing to cancel");
  }
  auto job = it->second;
  if (job->record.state == JobState::kQueued) {
    queue_.Remove(id);
    FinishLocked(job, JobState::kCancelled, "CANCELLED", "cancelled by request while queued");
    PushGaugesLocked();
    return job->record;
  }
  int expected = kNoStop;
  job->stop.compare_exchange_strong(expected, kStopUser);
  LogJobEvent(spdlog::level::info, id, "job_cancel_requested", {{"state", "running"}});
  return job->record;
}

Result<std::unique_ptr<JobSubscription>> JobManager::Watch(const std::string& id,
                                                           JobListener listener) {
  if (shared()) return WatchShared(id, std::move(listener));
  std::unique_lock lock(mu_);
  auto it = active_.find(id);
  if (it != active_.end()) {
    ActiveJob& job = *it->second;
    int64_t token = next_token_++;
    listener(SnapshotEvent(job.record), job.record, /*snapshot=*/true);
    job.listeners.emplace(token, std::move(listener));
    return std::make_unique<JobSubscription>(this, id, token);
  }
  lock.unlock();
  // Finished (or unknown): the snapshot is all there is.
  ASSIGN_OR_RETURN(JobRecord record, jobs_.GetJob(id));
  listener(SnapshotEvent(record), record, /*snapshot=*/true);
  return std::make_unique<JobSubscription>(this, id, 0);
}

void JobManager::Unsubscribe(const std::string& job_id, int64_t token) {
  if (shared()) return feed_->Remove(job_id, token);
  std::lock_guard lock(mu_);
  auto it = active_.find(job_id);
  if (it != active_.end()) it->second->listeners.erase(token);
}

void JobManager::PostRunNext() {
  boost::asio::post(*pool_, [this] { RunNext(); });
}

void JobManager::RunNext() {
  std::shared_ptr<ActiveJob> job;
  {
    std::lock_guard lock(mu_);
    if (draining_) return;
    auto id = queue_.Pop();
    if (!id) return;  // a cancelled job's turn
    job = active_.at(*id);
    job->record.state = JobState::kRunning;
    job->record.started_at_ms = NowMillis();
    job->record.attempts += 1;
    job->record.progress = JobProgressRecord{"loading", 0, 0, ""};
    (void)PersistLocked(job->record);  // logged; its final state is what must be stored
    PublishLocked(*job, JobEventType::kStarted, /*persist=*/true);
    NotifyStateLocked(job->record, true, JobState::kQueued, 0, false);
    ++busy_;
    PushGaugesLocked();
    LogJobEvent(spdlog::level::info, job->record.id, "job_started",
                {{"attempt", job->record.attempts}, {"busy_workers", busy_}});
  }
  Execute(job);
  WorkerFinished();
}

void JobManager::WorkerFinished() {
  std::lock_guard lock(mu_);
  --busy_;
  PushGaugesLocked();
  idle_cv_.notify_all();
  if (shared()) WakeClaimLoopLocked();
}

void JobManager::Execute(const std::shared_ptr<ActiveJob>& job) {
  const std::string work_dir = options_.work_dir + "/" + job->record.id;
  RunOutcome outcome;
  BlobInfo artifact, report;
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
  if (progress_writer_) progress_writer_->Flush();

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
    if (!report.digest.empty()) KeepReportLocked(r, outcome, report);
    FinishLocked(job, JobState::kFailed, StatusCodeName(status.code()), status.message());
  }
}

void JobManager::KeepReportLocked(JobRecord& r, const RunOutcome& outcome,
                                  const BlobInfo& report) {
  r.report_digest = report.digest;
  r.report_size = report.size;
  r.nodes_before = outcome.nodes_before;
  r.nodes_after = outcome.nodes_after;
  r.bytes_before = outcome.bytes_before;
  r.bytes_after = outcome.bytes_after;
  r.verification_status = outcome.verification_status;
  r.graphopt_version = outcome.graphopt_version;
}

Status JobManager::ExecuteInWorkDir(const std::shared_ptr<ActiveJob>& job,
                                    const std::string& work_dir, RunOutcome* outcome,
                                    BlobInfo* artifact, BlobInfo* report) {
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
      int expected = kNoStop;
      job->stop.compare_exchange_strong(expected, kStopTimeout);
      return true;
    }
    return false;
  };
  request.pass_delay_ms = options_.debug_pass_delay_ms;
  request.on_progress = [this, job](const RunProgress& p) {
    JobEventRecord event;
    {
      std::lock_guard lock(mu_);
      bool entering_verify = p.stage == "verifying" && job->record.progress.stage != "verifying";
      job->record.progress =
          JobProgressRecord{p.stage, p.pass_index, p.pass_count, p.pass_name, p.round};
      if (p.pass_name.empty() && !entering_verify) return;
      const JobEventType type = entering_verify ? JobEventType::kVerifying : JobEventType::kPass;
      if (!shared()) return PublishLocked(*job, type, /*persist=*/false);
      event = EventOf(job->record, type);
    }
    // Shared store: watchers on every replica read progress there; the writer stores it in order
    // without holding up this worker.
    progress_writer_->Add(std::move(event));
  };

  ASSIGN_OR_RETURN(*outcome, runner_.Run(request));
  if (!outcome->failure.ok()) {
    // No artifact, but the report says why (the culprit rewrite): the failed job keeps it.
    ASSIGN_OR_RETURN(*report, StoreReport(outcome->report_json));
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
  ASSIGN_OR_RETURN(*report, StoreReport(outcome->report_json));
  return Status::Ok();
}

Result<BlobInfo> JobManager::StoreReport(const std::string& report_json) {
  ASSIGN_OR_RETURN(auto writer, blobs_.NewWriter());
  RETURN_IF_ERROR(writer->Append(report_json));
  return writer->Commit();
}

void JobManager::RequeueForShutdownLocked(const std::shared_ptr<ActiveJob>& job) {
  // Not the job's fault: it runs again after the restart, or on another replica.
  JobRecord& r = job->record;
  r.state = JobState::kQueued;
  r.progress = JobProgressRecord{};
  if (shared()) {
    // The store re-queues it with its event; if that fails, the lease expires instead.
    Status released = options_.shared.store->ReleaseJob(r.id, options_.shared.owner);
    if (!released.ok()) {
      LogJobEvent(spdlog::level::warn, r.id, "job_not_released", {{"error", released.ToString()}});
      observer_->OnStoreError("release_job");
    }
  } else {
    (void)PersistLocked(r);  // logged; still RUNNING in the store, it re-runs after a restart
    PublishLocked(*job, JobEventType::kRequeued, /*persist=*/true);
  }
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
  if (shared()) {
    // Idempotent in the store, which writes the terminal event with the state (watchers here
    // follow the store): a job cancelled, or finished by another replica after this one
    // stalled, keeps its first result, and this run ends here without an event.
    auto outcome = options_.shared.store->FinishJob(r);
    if (!outcome.ok() || !outcome->finished_by_this_call) {
      LogFields fields = {{"state", JobStateName(state)}};
      if (!outcome.ok()) {
        fields.push_back({"error", outcome.status().ToString()});  // the lease will expire
        observer_->OnStoreError("finish_job");
      } else {
        fields.push_back({"stored_state", JobStateName(outcome->stored.state)});
        r = outcome->stored;
      }
      LogJobEvent(spdlog::level::warn, r.id, "job_result_not_stored", fields);
      job->listeners.clear();
      active_.erase(r.id);
      return;
    }
  } else if (!PersistLocked(r).ok()) {
    // Watchers learn the end now; the store, once it takes writes again.
    KeepPendingFinishLocked(job);
    PublishLocked(*job, TerminalEventType(state), /*persist=*/false);
  } else {
    PublishLocked(*job, TerminalEventType(state), /*persist=*/true);
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

size_t JobManager::QueueDepthLocked() const {
  return shared() ? static_cast<size_t>(std::max<int64_t>(0, shared_queue_depth_)) : queue_.size();
}

void JobManager::PushGaugesLocked() {
  observer_->OnQueueDepth(static_cast<int64_t>(QueueDepthLocked()));
  observer_->OnBusyWorkers(busy_, options_.workers);
}

bool JobManager::Shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(mu_);
    if (!pool_) return true;
    draining_ = true;
  }
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
  std::unique_lock lock(mu_);
  LogEvent(spdlog::level::info, "jobs_draining",
           {{"running", busy_},
            {"queued", QueueDepthLocked()},
            {"grace_seconds", grace.count() / 1000.0}});
  idle_cv_.wait_for(lock, grace, [this] { return busy_ == 0; });
  if (busy_ > 0) {
    for (auto& [id, job] : active_) {
      if (job->record.state != JobState::kRunning) continue;
      int expected = kNoStop;
      job->stop.compare_exchange_strong(expected, kStopShutdown);
    }
    // They stop at their next pass boundary; one pass on a large model can take a while.
    idle_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return busy_ == 0; });
  }
  const bool stopped = busy_ == 0;
  lock.unlock();
  // Final states still unstored get one last try; those that fail re-run after the restart.
  StopStoreWatch();
  CheckStoreOnce();
  // Leases of jobs not released (a stuck worker's) expire; another replica re-queues them.
  if (keeper_) keeper_->Stop();
  if (feed_) feed_->Stop();
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
  if (shared()) RefreshSharedQueueDepth();  // other replicas claim too: ask the store
  std::lock_guard lock(mu_);
  return QueueDepthLocked();
}

int JobManager::busy_workers() {
  std::lock_guard lock(mu_);
  return busy_;
}

}  // namespace graphopt::server
