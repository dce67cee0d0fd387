// Where queued jobs wait and how a worker gets one. LocalJobQueue: a queue in this process, the
// store its durable copy. SharedStoreQueue: the queue is a store shared by several replicas,
// claimed under leases. JobManager keeps the lifecycle common to both and asks its strategy at
// each point where they differ; methods named ...Locked run under the manager's mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "optimizer/util/status.h"
#include "server/jobs/active_job.h"
#include "server/jobs/job_listener.h"

namespace graphopt::server {

class JobSubscription;

class JobQueueStrategy {
 public:
  virtual ~JobQueueStrategy() = default;

  // Before the workers start: the jobs a previous process left unfinished, back in the queue.
  virtual Status Recover() = 0;
  // The worker pool exists: start feeding it.
  virtual void StartLocked() = 0;
  // Shutdown began: take no more jobs from the queue (returns without the manager's mutex).
  virtual void StopTaking() = 0;
  // Stop the threads that call back into the manager; idempotent.
  virtual void Stop() = 0;

  // Stores a new queued job; returns it as stored (with its sequence number).
  virtual Result<JobRecord> InsertQueuedLocked(const JobRecord& record) = 0;
  // The stored job is queued: hold it until a worker takes it.
  virtual Status HoldQueuedLocked(const std::shared_ptr<ActiveJob>& job) = 0;
  // A job was queued: let a free worker take the next job.
  virtual void WakeLocked() = 0;
  // A worker finished its job and is free again.
  virtual void OnWorkerFreedLocked() = 0;

  virtual Result<JobRecord> Cancel(const std::string& id) = 0;
  virtual Result<std::unique_ptr<JobSubscription>> Watch(const std::string& id,
                                                         JobListener listener) = 0;
  virtual void Unsubscribe(const std::string& id, int64_t token) = 0;

  // A running job passed a pass boundary or entered verification.
  virtual void PublishProgressLocked(ActiveJob& job, JobEventType type) = 0;
  // Returns once the job's progress events are stored (its terminal event follows them).
  virtual void FlushProgress() = 0;
  // The job stopped for shutdown: back to the queue, for this process's next start or (shared
  // store) for any replica. Its record is already QUEUED.
  virtual void RequeueLocked(ActiveJob& job) = 0;
  // Stores the job's final state and tells its watchers; false when the store kept another
  // result (the job was cancelled or finished elsewhere) and this run ends without one.
  virtual bool StoreFinalStateLocked(const std::shared_ptr<ActiveJob>& job) = 0;

  virtual size_t DepthLocked() const = 0;
  // Re-reads the depth where other replicas change it too: under the lock when admitting a job
  // (the limit protects the shared queue), without it for the gauge.
  virtual Status RefreshDepthLocked() = 0;
  virtual void RefreshDepth() = 0;
};

}  // namespace graphopt::server
