// The single-node queue: jobs wait in this process (JobQueue, by priority) and the store is its
// durable copy; a restart re-queues what the previous process left unfinished.
#pragma once

#include "server/jobs/job_queue.h"
#include "server/jobs/job_queue_strategy.h"

namespace graphopt::server {

class JobManager;

class LocalJobQueue final : public JobQueueStrategy {
 public:
  explicit LocalJobQueue(JobManager& manager);

  Status Recover() override;
  void StartLocked() override;
  void StopTaking() override {}
  void Stop() override {}

  Result<JobRecord> InsertQueuedLocked(const JobRecord& record) override;
  Status HoldQueuedLocked(const std::shared_ptr<ActiveJob>& job) override;
  void WakeLocked() override;
  void OnWorkerFreedLocked() override {}  // each queued job posted its own run

  Result<JobRecord> Cancel(const std::string& id) override;
  Result<std::unique_ptr<JobSubscription>> Watch(const std::string& id,
                                                 JobListener listener) override;
  void Unsubscribe(const std::string& id, int64_t token) override;

  void PublishProgressLocked(ActiveJob& job, JobEventType type) override;
  void FlushProgress() override {}  // published as they happen
  void RequeueLocked(ActiveJob& job) override;
  bool StoreFinalStateLocked(const std::shared_ptr<ActiveJob>& job) override;

  size_t DepthLocked() const override { return queue_.size(); }
  Status RefreshDepthLocked() override { return Status::Ok(); }
  void RefreshDepth() override {}

 private:
  // On a worker: runs the job at the head of the queue, if any.
  void RunNext();
  // A job found unfinished at start: failed when it ran too often, else queued again.
  void RecoverLocked(std::shared_ptr<ActiveJob> job);

  JobManager& m_;
  JobQueue queue_;
};

}  // namespace graphopt::server
