// SharedStoreQueue: the queue of a store shared by several replicas (see shared_store_queue.h).
#include "server/jobs/shared_store_queue.h"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "server/config/logging.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/progress_event_writer.h"
#include "server/jobs/store_event_feed.h"
#include "server/jobs/timed_store_call.h"
#include "server/store/lease_keeper.h"

namespace graphopt::server {

SharedStoreQueue::SharedStoreQueue(JobManager& manager) : m_(manager) {}

SharedStoreQueue::~SharedStoreQueue() {
  // Their threads call back into the manager: stop them before anything goes.
  Stop();
  progress_writer_.reset();
}

void SharedStoreQueue::StartLocked() {
  const SharedQueueOptions& s = m_.options_.shared;
  keeper_ = std::make_unique<LeaseKeeper>(
      *s.store, LeaseKeeperOptions{s.owner, s.lease, m_.options_.max_attempts},
      [this](const std::string& id) { OnLeaseLost(id); },
      [this](const std::vector<std::string>& ids) {
        // Jobs whose replica stopped renewing their lease (it died or hung): another replica
        // takes them over from the queue.
        LogEvent(spdlog::level::warn, "jobs_taken_over",
                 {{"jobs", static_cast<int64_t>(ids.size())}, {"first_job", ids.front()}});
        for (const std::string& id : ids) {
          LogJobEvent(spdlog::level::warn, id, "job_requeued",
                      {{"reason", "lease_expired"}, {"by", m_.options_.shared.owner}});
        }
        m_.observer_->OnJobRequeued("lease_expired", static_cast<int64_t>(ids.size()));
        Wake();
      });
  feed_ = std::make_unique<StoreEventFeed>(m_.jobs_, *s.store, s.poll, [this] { Wake(); });
  progress_writer_ = std::make_unique<ProgressEventWriter>(*s.store);
  keeper_->Start();
  feed_->Start();
  claim_wanted_ = true;
  claimer_ = std::thread([this] { ClaimLoop(); });
}

void SharedStoreQueue::StopTaking() {
  claim_cv_.notify_all();
  if (claimer_.joinable()) claimer_.join();
}

void SharedStoreQueue::Stop() {
  // Leases of jobs not released (a stuck worker's) expire; another replica re-queues them.
  if (keeper_) keeper_->Stop();
  if (feed_) feed_->Stop();
}

Result<JobRecord> SharedStoreQueue::InsertQueuedLocked(const JobRecord& record) {
  // Written with its queued event: other replicas may claim it at once.
  return TimedStoreCall(*m_.observer_, "enqueue_job",
                        [&] { return m_.options_.shared.store->EnqueueJob(record); });
}

Status SharedStoreQueue::HoldQueuedLocked(const std::shared_ptr<ActiveJob>&) {
  ++depth_;  // queued in the store for any replica to claim; not held here
  return Status::Ok();
}

void SharedStoreQueue::Wake() {
  std::lock_guard lock(m_.mu_);
  WakeLocked();
}

void SharedStoreQueue::WakeLocked() {
  claim_wanted_ = true;
  claim_cv_.notify_one();
}

void SharedStoreQueue::ClaimLoop() {
  const SharedQueueOptions& s = m_.options_.shared;
  auto next_depth_refresh = std::chrono::steady_clock::now();
  bool failing = false;
  std::unique_lock lock(m_.mu_);
  auto worker_free = [&] { return m_.busy_ < m_.options_.workers; };
  while (!m_.draining_) {
    // Woken by a new job here, a worker freed, or any store event; otherwise polls, since a
    // notification may be lost while the listener reconnects.
    claim_cv_.wait_for(lock, s.poll,
                       [&] { return m_.draining_ || (claim_wanted_ && worker_free()); });
    claim_wanted_ = false;
    while (!m_.draining_ && worker_free()) {
      lock.unlock();
      auto claimed = TimedStoreCall(*m_.observer_, "claim_job",
                                    [&] { return s.store->ClaimNextJob(s.owner, s.lease); });
      lock.lock();
      if (!claimed.ok()) {
        if (!failing) {
          LogEvent(spdlog::level::warn, "claim_failed", {{"error", claimed.status().ToString()}});
        }
        failing = true;
        break;
      }
      if (failing) LogEvent(spdlog::level::info, "claim_recovered", {});
      failing = false;
      if (!*claimed || !StartClaimedLocked(std::move(**claimed))) break;
    }
    if (std::chrono::steady_clock::now() >= next_depth_refresh) {
      next_depth_refresh = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      lock.unlock();
      RefreshDepth();
      lock.lock();
    }
  }
}

bool SharedStoreQueue::StartClaimedLocked(JobRecord claimed) {
  auto job = std::make_shared<ActiveJob>();
  job->record = std::move(claimed);
  const std::string id = job->record.id;
  if (m_.draining_) {
    // Shutdown began while the claim was in flight: give it straight back.
    (void)m_.options_.shared.store->ReleaseJob(id, m_.options_.shared.owner);
    return false;
  }
  job->record.progress = JobProgressRecord{"loading", 0, 0, ""};
  m_.active_[id] = job;
  keeper_->Hold(id);  // the claim wrote the started event
  depth_ = std::max<int64_t>(0, depth_ - 1);
  m_.MarkStartedLocked(job->record, {{"replica", m_.options_.shared.owner}});
  boost::asio::post(*m_.pool_, [this, job, id] {
    m_.Execute(job);
    keeper_->Drop(id);
    m_.WorkerFinished();
  });
  return true;
}

void SharedStoreQueue::OnLeaseLost(const std::string& job_id) {
  std::lock_guard lock(m_.mu_);
  auto it = m_.active_.find(job_id);
  if (it == m_.active_.end()) return;  // finished meanwhile
  it->second->RequestStop(kStopLost);
  LogJobEvent(spdlog::level::warn, job_id, "job_lease_lost", {});
}

Result<JobRecord> SharedStoreQueue::Cancel(const std::string& id) {
  ASSIGN_OR_RETURN(FinishOutcome outcome, m_.options_.shared.store->CancelJob(id));
  const JobRecord& r = outcome.stored;
  if (!outcome.finished_by_this_call) return JobManager::AlreadyFinished(r);
  std::lock_guard lock(m_.mu_);
  // Running here: stop at the next pass boundary (elsewhere: at that replica's next renewal).
  auto it = m_.active_.find(id);
  if (it != m_.active_.end()) it->second->RequestStop(kStopLost);
  const bool was_running = outcome.previous == JobState::kRunning;
  if (!was_running) depth_ = std::max<int64_t>(0, depth_ - 1);
  const double run_seconds = was_running ? JobManager::RunSeconds(r) : 0.0;
  m_.NotifyStateLocked(r, true, outcome.previous, run_seconds, false);
  m_.PushGaugesLocked();
  LogJobEvent(spdlog::level::info, id, "job_finished",
              {{"state", JobStateName(r.state)}, {"was", JobStateName(outcome.previous)}});
  return r;
}

Result<std::unique_ptr<JobSubscription>> SharedStoreQueue::Watch(const std::string& id,
                                                                 JobListener listener) {
  // The newest event first, then the job: an event written in between is delivered, not lost.
  ASSIGN_OR_RETURN(int64_t after, feed_->LastEventId(id));
  std::optional<JobRecord> record;
  {
    std::lock_guard lock(m_.mu_);
    auto it = m_.active_.find(id);
    if (it != m_.active_.end()) record = it->second->record;  // with its live progress
  }
  if (!record) {
    ASSIGN_OR_RETURN(record, m_.jobs_.GetJob(id));
  }
  if (IsTerminal(record->state)) return m_.SnapshotOnly(*record, listener);
  const int64_t token = feed_->Add(*record, after, std::move(listener));
  return std::make_unique<JobSubscription>(&m_, id, token);
}

void SharedStoreQueue::Unsubscribe(const std::string& id, int64_t token) {
  feed_->Remove(id, token);
}

void SharedStoreQueue::PublishProgressLocked(ActiveJob& job, JobEventType type) {
  // Watchers on every replica read progress in the store; the writer stores it in order without
  // holding up the worker (its lock is a leaf: it never calls back).
  progress_writer_->Add(JobManager::EventOf(job.record, type));
}

void SharedStoreQueue::FlushProgress() { progress_writer_->Flush(); }

void SharedStoreQueue::RequeueLocked(ActiveJob& job) {
  // The store re-queues it with its event; if that fails, the lease expires instead.
  const std::string& id = job.record.id;
  Status released = TimedStoreCall(*m_.observer_, "release_job", [&] {
    return m_.options_.shared.store->ReleaseJob(id, m_.options_.shared.owner);
  });
  if (!released.ok()) {
    LogJobEvent(spdlog::level::warn, id, "job_not_released", {{"error", released.ToString()}});
  }
}

bool SharedStoreQueue::StoreFinalStateLocked(const std::shared_ptr<ActiveJob>& job) {
  // Idempotent in the store, which writes the terminal event with the state (watchers here
  // follow the store): a job cancelled, or finished by another replica after this one stalled,
  // keeps its first result, and this run ends here without an event.
  JobRecord& r = job->record;
  auto outcome = TimedStoreCall(*m_.observer_, "finish_job",
                                [&] { return m_.options_.shared.store->FinishJob(r); });
  if (outcome.ok() && outcome->finished_by_this_call) return true;
  LogFields fields = {{"state", JobStateName(r.state)}};
  if (!outcome.ok()) {
    fields.push_back({"error", outcome.status().ToString()});  // the lease will expire
  } else {
    fields.push_back({"stored_state", JobStateName(outcome->stored.state)});
    r = outcome->stored;
  }
  LogJobEvent(spdlog::level::warn, r.id, "job_result_not_stored", fields);
  return false;
}

size_t SharedStoreQueue::DepthLocked() const {
  return static_cast<size_t>(std::max<int64_t>(0, depth_));
}

Status SharedStoreQueue::RefreshDepthLocked() {
  // The shared queue's depth over all replicas is what the capacity limit protects.
  ASSIGN_OR_RETURN(depth_, m_.options_.shared.store->CountQueuedJobs());
  return Status::Ok();
}

void SharedStoreQueue::RefreshDepth() {
  auto depth = m_.options_.shared.store->CountQueuedJobs();
  if (!depth.ok()) return;
  std::lock_guard lock(m_.mu_);
  depth_ = *depth;
  m_.PushGaugesLocked();
}

}  // namespace graphopt::server
