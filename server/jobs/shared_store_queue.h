// The queue of a store shared by several replicas: a claim loop takes queued jobs under a lease
// while a worker is free, a LeaseKeeper renews the leases and re-queues those of dead replicas,
// cancellation is a store write seen by whichever replica runs the job, and watchers follow the
// store's events (StoreEventFeed), so any replica can serve any job.
#pragma once

#include <condition_variable>
#include <thread>

#include "server/jobs/job_queue_strategy.h"

namespace graphopt::server {

class JobManager;
class LeaseKeeper;
class ProgressEventWriter;
class StoreEventFeed;

class SharedStoreQueue final : public JobQueueStrategy {
 public:
  explicit SharedStoreQueue(JobManager& manager);
  ~SharedStoreQueue() override;

  // Nothing is recovered here: the jobs of a stopped replica (this one's previous process
  // included) go back to the queue when their leases expire (LeaseKeeper).
  Status Recover() override { return Status::Ok(); }
  void StartLocked() override;
  void StopTaking() override;
  void Stop() override;

  Result<JobRecord> InsertQueuedLocked(const JobRecord& record) override;
  Status HoldQueuedLocked(const std::shared_ptr<ActiveJob>& job) override;
  void WakeLocked() override;
  void OnWorkerFreedLocked() override { WakeLocked(); }  // it may claim another job

  Result<JobRecord> Cancel(const std::string& id) override;
  Result<std::unique_ptr<JobSubscription>> Watch(const std::string& id,
                                                 JobListener listener) override;
  void Unsubscribe(const std::string& id, int64_t token) override;

  void PublishProgressLocked(ActiveJob& job, JobEventType type) override;
  void FlushProgress() override;
  void RequeueLocked(ActiveJob& job) override;
  bool StoreFinalStateLocked(const std::shared_ptr<ActiveJob>& job) override;

  size_t DepthLocked() const override;
  Status RefreshDepthLocked() override;
  void RefreshDepth() override;

 private:
  // Claims queued jobs while a worker is free, until shutdown.
  void ClaimLoop();
  void Wake();
  // Runs a job this replica just claimed (on a worker); false when draining.
  bool StartClaimedLocked(JobRecord claimed);
  void OnLeaseLost(const std::string& job_id);

  JobManager& m_;
  std::unique_ptr<LeaseKeeper> keeper_;
  std::unique_ptr<StoreEventFeed> feed_;
  std::unique_ptr<ProgressEventWriter> progress_writer_;
  std::thread claimer_;
  std::condition_variable claim_cv_;
  bool claim_wanted_ = false;
  int64_t depth_ = 0;  // queued in the store over all replicas, as last read or counted
};

}  // namespace graphopt::server
