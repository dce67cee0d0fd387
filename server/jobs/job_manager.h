// The heart of the server: accepts jobs (idempotency, result cache, bounded queue), runs them
// on a Boost.Asio worker pool, publishes their progress to watchers, persists every state change
// and recovers unfinished jobs after a restart. Knows nothing of gRPC.
//
// Where queued jobs wait is a JobQueueStrategy chosen once at construction: LocalJobQueue (this
// process's queue, the store its durable copy) or, with a store shared by several replicas
// (SharedQueueOptions), SharedStoreQueue (claims under leases, cancellation and watching through
// the store, so any replica can serve any job).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/thread_pool.hpp>

#include "server/config/logging.h"
#include "server/jobs/active_job.h"
#include "server/jobs/job_listener.h"
#include "server/jobs/job_queue_strategy.h"
#include "server/jobs/job_runner.h"
#include "server/jobs/observer.h"
#include "server/store/blob_store.h"
#include "server/store/job_store.h"
#include "server/store/leased_job_store.h"

namespace graphopt::server {

// Set `store` when the job store is shared with other replicas (PostgreSQL).
struct SharedQueueOptions {
  LeasedJobStore* store = nullptr;
  std::string owner;                       // this replica's id, written into its leases
  std::chrono::milliseconds lease{30000};  // renewed every lease/3 while a job runs
  // Without a notification, look for queued work and terminal jobs this often.
  std::chrono::milliseconds poll{500};
};

struct JobManagerOptions {
  int workers = 2;
  size_t queue_capacity = 256;
  std::chrono::milliseconds job_timeout{0};  // 0: no limit
  std::string work_dir;                      // scratch space for running jobs
  // Test hook: sleep this long at every pass boundary, so tests can catch a job mid-run.
  int debug_pass_delay_ms = 0;
  // Runs of one job that stops of its server (crash, kill, lost lease) may interrupt before it
  // is failed instead of retried: it may be what kills the server (--max-attempts).
  int max_attempts = 3;
  // Queued plus running jobs one tenant may have; more are refused (0: no limit).
  int64_t max_queued_jobs_per_tenant = 0;
  SharedQueueOptions shared;
  // Store faults: a write that fails proves the store unwritable; this (data folder and job
  // store) proves it writable again. Run every `store_check_interval` while the server runs.
  std::function<Status()> write_probe;
  std::chrono::milliseconds store_check_interval{1000};
};

struct CreateJobParams {
  std::string tenant = kDefaultTenant;  // owns the job; sees only its own uploads and keys
  std::string model_digest;
  std::map<std::string, std::string> external_data;  // location -> digest
  JobOptionsRecord options;
  std::string idempotency_key;
  bool fresh = false;
  std::map<std::string, std::string> labels;  // validated by the caller
};

class JobManager;

// Stops the listener when destroyed.
class JobSubscription {
 public:
  JobSubscription(JobManager* manager, std::string job_id, int64_t token)
      : manager_(manager), job_id_(std::move(job_id)), token_(token) {}
  ~JobSubscription();
  JobSubscription(const JobSubscription&) = delete;
  JobSubscription& operator=(const JobSubscription&) = delete;

 private:
  JobManager* manager_;
  std::string job_id_;
  int64_t token_;
};

class JobManager {
 public:
  JobManager(JobStore& jobs, BlobStore& blobs, JobRunner& runner,
             std::shared_ptr<ServerObserver> observer, JobManagerOptions options);
  ~JobManager();

  // Re-queues the jobs a previous process left queued or running, then starts the workers.
  Status Start();

  Result<JobRecord> CreateJob(const CreateJobParams& params);
  Result<JobRecord> GetJob(const std::string& id);
  Result<JobPage> ListJobs(const JobListQuery& query);
  // Queued: removed and CANCELLED at once. Running: asked to stop at the next pass boundary
  // (the returned job is still RUNNING; with a shared store it is CANCELLED at once and the
  // replica running it stops at its next lease renewal). Finished: kFailedPrecondition.
  Result<JobRecord> CancelJob(const std::string& id);
  // Calls `listener` with the current job (snapshot) before returning, then with each event
  // until the job finishes or the subscription is destroyed.
  Result<std::unique_ptr<JobSubscription>> Watch(const std::string& id, JobListener listener);

  // Graceful stop: no new jobs start or are accepted; running jobs get `grace` to finish, then
  // are stopped at their next pass boundary and put back in the queue (in the store) for the
  // next start. Returns false when some worker did not stop in time.
  bool Shutdown(std::chrono::milliseconds grace);

  size_t queue_depth();
  int busy_workers();
  // False while the store cannot be written (the last probe failed, or a job's final state is
  // still waiting to be stored): the server reports not-ready until it can write again.
  bool store_writable() const { return store_writable_.load(); }
  const JobManagerOptions& options() const { return options_; }

 private:
  friend class JobSubscription;
  friend class LocalJobQueue;
  friend class SharedStoreQueue;

  void Unsubscribe(const std::string& job_id, int64_t token);
  // A job's run began (its record says RUNNING): count the worker, tell the observer, log it.
  void MarkStartedLocked(const JobRecord& record, LogFields extra);
  // After a worker ran a job: frees its slot.
  void WorkerFinished();
  // After a job stopped for shutdown: back to the queue.
  void RequeueForShutdownLocked(const std::shared_ptr<ActiveJob>& job);
  // The blobs of a run's report: JSON, and HTML when the runner rendered it.
  struct StoredReport {
    BlobInfo json;
    BlobInfo html;
  };
  // Runs a job already marked running; returns the finished record's new state.
  void Execute(const std::shared_ptr<ActiveJob>& job);
  Status ExecuteInWorkDir(const std::shared_ptr<ActiveJob>& job, const std::string& work_dir,
                          RunOutcome* outcome, BlobInfo* artifact, StoredReport* report);
  Result<StoredReport> StoreReport(const RunOutcome& outcome);
  Result<BlobInfo> StoreBytes(const std::string& bytes);
  // Copies the run's report and its summary into the record (succeeded, or failed verification).
  static void KeepReportLocked(JobRecord& r, const RunOutcome& outcome,
                               const StoredReport& report);
  static JobEventRecord EventOf(const JobRecord& record, JobEventType type);
  static Status AlreadyFinished(const JobRecord& record);
  static double RunSeconds(const JobRecord& record);
  // A watch of a finished job: the snapshot is all there is.
  Result<std::unique_ptr<JobSubscription>> SnapshotOnly(const JobRecord& record,
                                                        const JobListener& listener);
  // The following run under mu_.
  void PublishLocked(ActiveJob& job, JobEventType type, bool persist);
  Status PersistLocked(const JobRecord& record);
  // Store faults (job_manager_store_faults.cc): final states whose write failed are kept here,
  // answered by GetJob and ListJobs, and written when the store takes writes again.
  void StoreWatchLoop();
  void CheckStoreOnce();
  void KeepPendingFinishLocked(const std::shared_ptr<ActiveJob>& job);
  void StopStoreWatch();
  void NotifyStateLocked(const JobRecord& record, bool has_previous, JobState previous,
                         double run_seconds, bool cache_hit);
  void FinishLocked(const std::shared_ptr<ActiveJob>& job, JobState state, const std::string& code,
                    const std::string& message);
  void PushGaugesLocked();
  Result<JobRecord> CachedJobLocked(const CreateJobParams& params, const JobRecord& earlier,
                                    JobRecord record);
  std::string NewJobId();
  std::string ResultKey(const CreateJobParams& params) const;
  // CreateJob's steps, in order.
  Status CheckUploads(const CreateJobParams& params);
  Status CheckModelForOptions(const CreateJobParams& params);
  JobRecord NewJobRecord(const CreateJobParams& params) const;
  // The job an earlier request with the same idempotency key created, if any.
  Result<std::optional<JobRecord>> FindIdempotentJobLocked(const CreateJobParams& params,
                                                           const JobRecord& record);
  Status CheckCapacityLocked(const CreateJobParams& params);
  Result<JobRecord> EnqueueLocked(const CreateJobParams& params, const JobRecord& record);

  JobStore& jobs_;
  BlobStore& blobs_;
  JobRunner& runner_;
  std::shared_ptr<ServerObserver> observer_;
  JobManagerOptions options_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::map<std::string, std::shared_ptr<ActiveJob>> active_;  // queued and running jobs
  int busy_ = 0;
  bool draining_ = false;
  bool started_ = false;
  int64_t next_token_ = 1;
  uint64_t id_counter_ = 0;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  std::unique_ptr<JobQueueStrategy> queue_;

  // Store faults.
  struct PendingFinish {
    JobRecord record;
    JobEventRecord event;
  };
  std::map<std::string, PendingFinish> pending_finishes_;  // job id -> its unstored final state
  std::atomic<bool> store_writable_{true};
  std::thread store_watch_;
  std::condition_variable store_watch_cv_;
  bool stop_store_watch_ = false;
};

}  // namespace graphopt::server
