// JobManager and store faults (a full disk, a read-only data folder): a job's final state that
// could not be written is kept in memory, answered from there, and written once the store takes
// writes again; meanwhile store_writable() is false and the server reports not-ready.
#include "server/config/logging.h"
#include "server/jobs/job_manager.h"
#include "server/jobs/timed_store_call.h"

namespace graphopt::server {

void JobManager::KeepPendingFinishLocked(const std::shared_ptr<ActiveJob>& job) {
  const JobRecord& r = job->record;
  pending_finishes_[r.id] = PendingFinish{r, EventOf(r, TerminalEventType(r.state))};
  if (store_writable_.exchange(false)) {
    LogEvent(spdlog::level::err, "store_unwritable",
             {{"reason", "a job's final state could not be stored"}, {"job", r.id}});
  }
  store_watch_cv_.notify_all();
}

void JobManager::StoreWatchLoop() {
  std::unique_lock lock(mu_);
  while (!stop_store_watch_) {
    store_watch_cv_.wait_for(lock, options_.store_check_interval);
    if (stop_store_watch_) break;
    lock.unlock();
    CheckStoreOnce();
    lock.lock();
  }
}

void JobManager::CheckStoreOnce() {
  Status probe = options_.write_probe
                     ? TimedStoreCall(*observer_, "write_probe", options_.write_probe)
                     : Status::Ok();
  std::lock_guard lock(mu_);
  if (probe.ok()) {
    for (auto it = pending_finishes_.begin(); it != pending_finishes_.end();) {
      Status stored = jobs_.UpdateJob(it->second.record);
      if (stored.ok()) stored = jobs_.AppendEvent(it->second.event);
      if (!stored.ok()) {
        probe = stored;
        break;
      }
      LogJobEvent(spdlog::level::info, it->first, "job_result_stored",
                  {{"state", JobStateName(it->second.record.state)}, {"after", "store fault"}});
      it = pending_finishes_.erase(it);
    }
  }
  const bool writable = probe.ok() && pending_finishes_.empty();
  if (writable != store_writable_.exchange(writable)) {
    if (writable) {
      LogEvent(spdlog::level::info, "store_writable", {});
    } else {
      LogEvent(spdlog::level::err, "store_unwritable",
               {{"error", probe.ToString()},
                {"pending_results", static_cast<int64_t>(pending_finishes_.size())}});
    }
  }
}

void JobManager::StopStoreWatch() {
  {
    std::lock_guard lock(mu_);
    stop_store_watch_ = true;
  }
  store_watch_cv_.notify_all();
  if (store_watch_.joinable()) store_watch_.join();
}

}  // namespace graphopt::server
