// LeasedJobStore: what a JobStore shared by several replicas adds to the JobStore interface, so
// the queue lives in the database instead of one process's memory. A replica claims a queued job
// with a time-limited lease and renews it while it works; a replica that stops renewing (crash,
// kill -9, network partition) loses the job to whichever replica re-queues expired leases.
// Events of every replica are visible to every replica, with a wake-up when new ones arrive.
//
// Kept apart from JobStore on purpose: the single-node SQLite store does not need it, and the
// job manager only has to use it when the store provides it (dynamic_cast or a second pointer).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "optimizer/util/status.h"
#include "server/store/job_record.h"

namespace graphopt::server {

struct StoredJobEvent {
  int64_t id = 0;  // increases in insertion order across all jobs and replicas
  JobEventRecord event;
};

struct FinishOutcome {
  JobRecord stored;                    // the job as the store keeps it after the call
  bool finished_by_this_call = false;  // false: it was already terminal, first result kept
  JobState previous = JobState::kQueued;  // the state this call found (when it finished the job)
};

class LeasedJobStore {
 public:
  virtual ~LeasedJobStore() = default;

  // InsertJob of a queued job together with its kQueued event (one transaction).
  virtual Result<JobRecord> EnqueueJob(const JobRecord& job) = 0;
  // Takes the queued job with the highest priority (oldest first among equals) for `owner`:
  // it becomes running with a lease ending `lease` from now (database clock), attempts + 1, and
  // its kStarted event is written with it. Concurrent claims from any number of replicas never
  // return the same job. Empty when none.
  virtual Result<std::optional<JobRecord>> ClaimNextJob(const std::string& owner,
                                                        std::chrono::milliseconds lease) = 0;
  // Extends the lease of a job `owner` holds. kFailedPrecondition when it no longer holds it (the
  // job was cancelled, finished, or re-queued after the lease expired): stop working on it.
  virtual Status RenewLease(const std::string& job_id, const std::string& owner,
                            std::chrono::milliseconds lease) = 0;
  // Puts a job `owner` holds back in the queue (graceful shutdown). OK when it no longer holds it.
  virtual Status ReleaseJob(const std::string& job_id, const std::string& owner) = 0;
  // Re-queues running jobs whose lease has expired (a kRequeued event each); jobs that already
  // used `max_attempts` attempts fail instead (a kFailed event), since they may be what kills
  // replicas. Returns the ids re-queued. Any replica may call it, at any time, concurrently.
  virtual Result<std::vector<std::string>> RequeueExpiredLeases(int max_attempts) = 0;
  // Stores a terminal state, its results and its terminal event (in one transaction). Idempotent:
  // if the job is already terminal (another replica finished it, or it was cancelled) nothing
  // changes and the stored record is returned.
  virtual Result<FinishOutcome> FinishJob(const JobRecord& finished) = 0;
  // Cancels a queued or running job wherever it is, with its kCancelled event, in one statement.
  // A replica running it learns so when its next renewal fails. kNotFound for an unknown id;
  // an already terminal job is returned unchanged (finished_by_this_call false).
  virtual Result<FinishOutcome> CancelJob(const std::string& job_id) = 0;

  // Queued jobs over all replicas: the shared queue's depth (capacity checks, metrics).
  virtual Result<int64_t> CountQueuedJobs() = 0;

  // Stores progress events (pass, verifying) in one statement, in order, without waiting for
  // durability: losing the last few in a crash costs a watcher nothing, and a job emits dozens.
  virtual Status AppendProgressEvents(const std::vector<JobEventRecord>& events) = 0;
  // Events of `job_id` with id > `after_id`, oldest first.
  virtual Result<std::vector<StoredJobEvent>> ListEventsAfter(const std::string& job_id,
                                                              int64_t after_id) = 0;
  // Events of any of `job_ids` with id > `after_id`, oldest first: one query for all the jobs a
  // replica's watchers follow.
  virtual Result<std::vector<StoredJobEvent>> ListEventsOfJobsAfter(
      const std::vector<std::string>& job_ids, int64_t after_id) = 0;
  // A counter that grows when any replica appends an event. Read it before ListEventsAfter, then
  // WaitForEvents(counter) returns as soon as something newer may exist (or after `timeout`).
  virtual uint64_t EventCounter() = 0;
  virtual void WaitForEvents(uint64_t seen_counter, std::chrono::milliseconds timeout) = 0;
};

}  // namespace graphopt::server
