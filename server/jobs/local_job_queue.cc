// LocalJobQueue: the single-node queue of JobManager (see local_job_queue.h).
#include "server/jobs/local_job_queue.h"

#include <boost/asio/post.hpp>

#include "server/config/logging.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/timed_store_call.h"

namespace graphopt::server {

LocalJobQueue::LocalJobQueue(JobManager& manager)
    : m_(manager), queue_(manager.options_.queue_capacity) {}

Status LocalJobQueue::Recover() {
  ASSIGN_OR_RETURN(std::vector<JobRecord> unfinished, m_.jobs_.ListUnfinishedJobs());
  std::lock_guard lock(m_.mu_);
  for (auto& record : unfinished) {
    auto job = std::make_shared<ActiveJob>();
    job->record = std::move(record);
    RecoverLocked(std::move(job));
  }
  return Status::Ok();
}

void LocalJobQueue::RecoverLocked(std::shared_ptr<ActiveJob> job) {
  JobRecord& r = job->record;
  const int max_attempts = m_.options_.max_attempts;
  if (r.state == JobState::kRunning && r.attempts >= max_attempts) {
    // Running at every one of the last stops: it may be what kills the process. Give up.
    m_.active_[r.id] = job;
    m_.FinishLocked(job, JobState::kFailed, "INTERNAL",
                    "the server stopped while this job ran, " + std::to_string(r.attempts) +
                        " times (--max-attempts " + std::to_string(max_attempts) +
                        "); it is not retried again");
    return;
  }
  if (r.state == JobState::kRunning) {
    // It was running when the previous process stopped: run it again from the start.
    r.state = JobState::kQueued;
    r.progress = JobProgressRecord{};
    (void)m_.PersistLocked(r);  // logged; the job re-runs either way
    m_.PublishLocked(*job, JobEventType::kRequeued, /*persist=*/true);
    LogJobEvent(spdlog::level::info, r.id, "job_requeued",
                {{"reason", "restart"}, {"attempts", r.attempts}});
    m_.observer_->OnJobRequeued("restart", 1);
  } else {
    LogJobEvent(spdlog::level::info, r.id, "job_recovered", {{"state", "queued"}});
  }
  queue_.PushRecovered(r.id, r.options.priority, r.seq, r.attempts);
  m_.active_[r.id] = std::move(job);
}

void LocalJobQueue::StartLocked() {
  for (size_t i = 0; i < queue_.size(); ++i) WakeLocked();
}

Result<JobRecord> LocalJobQueue::InsertQueuedLocked(const JobRecord& record) {
  return TimedStoreCall(*m_.observer_, "insert_job", [&] { return m_.jobs_.InsertJob(record); });
}

Status LocalJobQueue::HoldQueuedLocked(const std::shared_ptr<ActiveJob>& job) {
  RETURN_IF_ERROR(queue_.Push(job->record.id, job->record.options.priority, job->record.seq));
  m_.active_[job->record.id] = job;
  m_.PublishLocked(*job, JobEventType::kQueued, /*persist=*/true);
  return Status::Ok();
}

void LocalJobQueue::WakeLocked() {
  boost::asio::post(*m_.pool_, [this] { RunNext(); });
}

void LocalJobQueue::RunNext() {
  std::shared_ptr<ActiveJob> job;
  {
    std::lock_guard lock(m_.mu_);
    if (m_.draining_) return;
    auto id = queue_.Pop();
    if (!id) return;  // a cancelled job's turn
    job = m_.active_.at(*id);
    JobRecord& r = job->record;
    r.state = JobState::kRunning;
    r.started_at_ms = NowMillis();
    r.attempts += 1;
    r.progress = JobProgressRecord{"loading", 0, 0, ""};
    (void)m_.PersistLocked(r);  // logged; its final state is what must be stored
    m_.PublishLocked(*job, JobEventType::kStarted, /*persist=*/true);
    m_.MarkStartedLocked(r, {});
  }
  m_.Execute(job);
  m_.WorkerFinished();
}

Result<JobRecord> LocalJobQueue::Cancel(const std::string& id) {
  std::unique_lock lock(m_.mu_);
  auto it = m_.active_.find(id);
  if (it == m_.active_.end()) {
    lock.unlock();
    ASSIGN_OR_RETURN(JobRecord record, m_.jobs_.GetJob(id));
    return JobManager::AlreadyFinished(record);
  }
  auto job = it->second;
  if (job->record.state == JobState::kQueued) {
    queue_.Remove(id);
    m_.FinishLocked(job, JobState::kCancelled, "CANCELLED", "cancelled by request while queued");
    m_.PushGaugesLocked();
    return job->record;
  }
  job->RequestStop(kStopUser);
  LogJobEvent(spdlog::level::info, id, "job_cancel_requested", {{"state", "running"}});
  return job->record;
}

Result<std::unique_ptr<JobSubscription>> LocalJobQueue::Watch(const std::string& id,
                                                              JobListener listener) {
  std::unique_lock lock(m_.mu_);
  auto it = m_.active_.find(id);
  if (it != m_.active_.end()) {
    ActiveJob& job = *it->second;
    const int64_t token = m_.next_token_++;
    listener(SnapshotEvent(job.record), job.record, /*snapshot=*/true);
    job.listeners.emplace(token, std::move(listener));
    return std::make_unique<JobSubscription>(&m_, id, token);
  }
  lock.unlock();
  // Finished (or unknown): the snapshot is all there is.
  ASSIGN_OR_RETURN(JobRecord record, m_.jobs_.GetJob(id));
  return m_.SnapshotOnly(record, listener);
}

void LocalJobQueue::Unsubscribe(const std::string& id, int64_t token) {
  std::lock_guard lock(m_.mu_);
  auto it = m_.active_.find(id);
  if (it != m_.active_.end()) it->second->listeners.erase(token);
}

void LocalJobQueue::PublishProgressLocked(ActiveJob& job, JobEventType type) {
  m_.PublishLocked(job, type, /*persist=*/false);
}

void LocalJobQueue::RequeueLocked(ActiveJob& job) {
  (void)m_.PersistLocked(
      job.record);  // logged; still RUNNING in the store, it re-runs after a restart
  m_.PublishLocked(job, JobEventType::kRequeued, /*persist=*/true);
}

bool LocalJobQueue::StoreFinalStateLocked(const std::shared_ptr<ActiveJob>& job) {
  const JobEventType type = TerminalEventType(job->record.state);
  if (!m_.PersistLocked(job->record).ok()) {
    // Watchers learn the end now; the store, once it takes writes again.
    m_.KeepPendingFinishLocked(job);
    m_.PublishLocked(*job, type, /*persist=*/false);
  } else {
    m_.PublishLocked(*job, type, /*persist=*/true);
  }
  return true;
}

}  // namespace graphopt::server
