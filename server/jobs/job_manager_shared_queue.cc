// JobManager with a store shared by several replicas: claiming under leases, cancellation and
// watching through the store (see job_manager.h). The single-node queue is in job_manager.cc.
#include <boost/asio/post.hpp>

#include "server/config/logging.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/store_event_feed.h"
#include "server/store/lease_keeper.h"

namespace graphopt::server {

void JobManager::WakeClaimLoop() {
  std::lock_guard lock(mu_);
  WakeClaimLoopLocked();
}

void JobManager::WakeClaimLoopLocked() {
  claim_wanted_ = true;
  claim_cv_.notify_one();
}

void JobManager::ClaimLoop() {
  const SharedQueueOptions& s = options_.shared;
  auto next_depth_refresh = std::chrono::steady_clock::now();
  bool failing = false;
  std::unique_lock lock(mu_);
  while (!draining_) {
    // Woken by a new job here, a worker freed, or any store event; otherwise polls, since a
    // notification may be lost while the listener reconnects.
    claim_cv_.wait_for(lock, s.poll,
                       [&] { return draining_ || (claim_wanted_ && busy_ < options_.workers); });
    claim_wanted_ = false;
    while (!draining_ && busy_ < options_.workers) {
      lock.unlock();
      auto claimed = s.store->ClaimNextJob(s.owner, s.lease);
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
      RefreshSharedQueueDepth();
      lock.lock();
    }
  }
}

bool JobManager::StartClaimedLocked(JobRecord claimed) {
  auto job = std::make_shared<ActiveJob>();
  job->record = std::move(claimed);
  const std::string id = job->record.id;
  if (draining_) {
    // Shutdown began while the claim was in flight: give it straight back.
    (void)options_.shared.store->ReleaseJob(id, options_.shared.owner);
    return false;
  }
  job->record.progress = JobProgressRecord{"loading", 0, 0, ""};
  active_[id] = job;
  keeper_->Hold(id);  // the claim wrote the started event
  NotifyStateLocked(job->record, true, JobState::kQueued, 0, false);
  ++busy_;
  shared_queue_depth_ = std::max<int64_t>(0, shared_queue_depth_ - 1);
  PushGaugesLocked();
  LogJobEvent(spdlog::level::info, id, "job_started",
              {{"attempt", job->record.attempts},
               {"busy_workers", busy_},
               {"replica", options_.shared.owner}});
  boost::asio::post(*pool_, [this, job, id] {
    Execute(job);
    keeper_->Drop(id);
    WorkerFinished();
  });
  return true;
}

void JobManager::OnLeaseLost(const std::string& job_id) {
  std::lock_guard lock(mu_);
  auto it = active_.find(job_id);
  if (it == active_.end()) return;  // finished meanwhile
  int expected = kNoStop;
  it->second->stop.compare_exchange_strong(expected, kStopLost);
  LogJobEvent(spdlog::level::warn, job_id, "job_lease_lost", {});
}

Result<JobRecord> JobManager::CancelSharedJob(const std::string& id) {
  ASSIGN_OR_RETURN(FinishOutcome outcome, options_.shared.store->CancelJob(id));
  const JobRecord& r = outcome.stored;
  if (!outcome.finished_by_this_call) {
    return FailedPrecondition("job " + id + " already finished (" + JobStateName(r.state) +
                              "); nothing to cancel");
  }
  std::lock_guard lock(mu_);
  // Running here: stop at the next pass boundary (elsewhere: at that replica's next renewal).
  auto it = active_.find(id);
  if (it != active_.end()) {
    int expected = kNoStop;
    it->second->stop.compare_exchange_strong(expected, kStopLost);
  }
  const bool was_running = outcome.previous == JobState::kRunning;
  if (!was_running) shared_queue_depth_ = std::max<int64_t>(0, shared_queue_depth_ - 1);
  const double run_seconds =
      was_running && r.started_at_ms > 0 && r.finished_at_ms >= r.started_at_ms
          ? (r.finished_at_ms - r.started_at_ms) / 1000.0
          : 0.0;
  NotifyStateLocked(r, true, outcome.previous, run_seconds, false);
  PushGaugesLocked();
  LogJobEvent(spdlog::level::info, id, "job_finished",
              {{"state", JobStateName(r.state)}, {"was", JobStateName(outcome.previous)}});
  return r;
}

Result<std::unique_ptr<JobSubscription>> JobManager::WatchShared(const std::string& id,
                                                                JobListener listener) {
  // The newest event first, then the job: an event written in between is delivered, not lost.
  ASSIGN_OR_RETURN(int64_t after, feed_->LastEventId(id));
  std::optional<JobRecord> record;
  {
    std::lock_guard lock(mu_);
    auto it = active_.find(id);
    if (it != active_.end()) record = it->second->record;  // with its live progress
  }
  if (!record) {
    ASSIGN_OR_RETURN(record, jobs_.GetJob(id));
  }
  if (IsTerminal(record->state)) {
    listener(SnapshotEvent(*record), *record, /*snapshot=*/true);
    return std::make_unique<JobSubscription>(this, id, 0);
  }
  const int64_t token = feed_->Add(*record, after, std::move(listener));
  return std::make_unique<JobSubscription>(this, id, token);
}

void JobManager::RefreshSharedQueueDepth() {
  auto depth = options_.shared.store->CountQueuedJobs();
  if (!depth.ok()) return;
  std::lock_guard lock(mu_);
  shared_queue_depth_ = *depth;
  PushGaugesLocked();
}

}  // namespace graphopt::server
