// JobStore (plus LeasedJobStore) in PostgreSQL, for several graphopt-server replicas sharing one
// database: the queue is claimed with SELECT ... FOR UPDATE SKIP LOCKED under leases, finished
// jobs are immutable (a second finish keeps the first result), and every replica LISTENs for
// event notifications so a watcher on any replica sees events written by any other.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/store/job_store.h"
#include "server/store/leased_job_store.h"
#include "server/store/postgres_connection.h"

namespace graphopt::server {

struct PostgresStoreOptions {
  std::string dsn;          // "postgres://user:pass@host:5432/db" or "host=... dbname=..."
  int max_connections = 8;  // per replica
  // How often the event listener checks for a stop request and reconnects after a failure.
  std::chrono::milliseconds listener_poll{200};
};

class PostgresJobStore : public JobStore, public LeasedJobStore {
 public:
  // Connects, applies migrations (safe with replicas starting at once) and starts listening for
  // events.
  static Result<std::unique_ptr<PostgresJobStore>> Open(const PostgresStoreOptions& options);
  ~PostgresJobStore() override;

  // --- JobStore ---
  Status PutModel(const ModelRecord& model) override;
  Result<ModelPage> ListModels(const ModelListQuery& query) override;
  Status DeleteModel(const std::string& tenant, const std::string& digest) override;
  Status DeleteJob(const std::string& id) override;
  Result<std::vector<std::string>> ListReferencedDigests() override;
  Result<std::vector<JobRecord>> ListOldestFinishedJobs(int64_t finished_before_ms,
                                                        int limit) override;
  Result<std::vector<ModelRecord>> ListUnusedModels(int limit) override;
  // A PostgreSQL advisory lock (session-level, on a connection of its own).
  Result<bool> TryLockCollector() override;
  void UnlockCollector() override;
  using JobStore::FindJobByIdempotencyKey;
  using JobStore::GetModel;
  Result<ModelRecord> GetModel(const std::string& tenant, const std::string& digest) override;
  Result<JobRecord> InsertJob(const JobRecord& job) override;
  // A job already in a terminal state is never changed (OK is returned): finishing twice keeps
  // the first result and a late progress write cannot revive a cancelled job. Leaving the
  // running state drops the lease.
  Status UpdateJob(const JobRecord& job) override;
  Result<JobRecord> GetJob(const std::string& id) override;
  Result<std::optional<JobRecord>> FindJobByIdempotencyKey(const std::string& tenant,
                                                           const std::string& key) override;
  Result<std::optional<JobRecord>> FindSucceededJob(const std::string& result_key) override;
  Result<JobPage> ListJobs(const JobListQuery& query) override;
  Result<TenantUsage> GetTenantUsage(const std::string& tenant) override;
  // Queued jobs, and running jobs nobody holds a live lease on: with several replicas, a job
  // another replica is working on is not this replica's to restart.
  Result<std::vector<JobRecord>> ListUnfinishedJobs() override;
  Status AppendEvent(const JobEventRecord& event) override;
  Result<std::vector<JobEventRecord>> ListEvents(const std::string& job_id) override;

  // --- LeasedJobStore ---
  Result<JobRecord> EnqueueJob(const JobRecord& job) override;
  Status AppendProgressEvents(const std::vector<JobEventRecord>& events) override;
  Result<std::optional<JobRecord>> ClaimNextJob(const std::string& owner,
                                                std::chrono::milliseconds lease) override;
  Status RenewLease(const std::string& job_id, const std::string& owner,
                    std::chrono::milliseconds lease) override;
  Status ReleaseJob(const std::string& job_id, const std::string& owner) override;
  Result<std::vector<std::string>> RequeueExpiredLeases(int max_attempts) override;
  Result<FinishOutcome> FinishJob(const JobRecord& finished) override;
  Result<FinishOutcome> CancelJob(const std::string& job_id) override;
  Result<int64_t> CountQueuedJobs() override;
  Result<std::vector<StoredJobEvent>> ListEventsAfter(const std::string& job_id,
                                                      int64_t after_id) override;
  Result<std::vector<StoredJobEvent>> ListEventsOfJobsAfter(const std::vector<std::string>& job_ids,
                                                            int64_t after_id) override;
  uint64_t EventCounter() override { return event_counter_.load(); }
  void WaitForEvents(uint64_t seen_counter, std::chrono::milliseconds timeout) override;

  // The connection pool, for a PostgresBlobStore in the same database.
  std::shared_ptr<PgConnectionPool> pool() const { return pool_; }

 private:
  PostgresJobStore(std::shared_ptr<PgConnectionPool> pool, PostgresStoreOptions options)
      : pool_(std::move(pool)), options_(std::move(options)) {}
  Result<JobRecord> Insert(const JobRecord& job, bool queued_event);
  Result<std::vector<JobRecord>> QueryJobs(const std::string& where_and_order,
                                           const PgParams& params);
  void ListenLoop();
  void BumpEventCounter();

  std::shared_ptr<PgConnectionPool> pool_;
  PostgresStoreOptions options_;

  std::atomic<uint64_t> event_counter_{0};
  std::mutex event_mu_;
  std::condition_variable event_cv_;
  std::atomic<bool> stopping_{false};
  std::thread listener_;

  // The first 8 bytes of "graphgc!": graphopt's alone, distinct from the migration lock.
  static constexpr int64_t kCollectorLockKey = 0x6772617068676321;
  std::mutex collector_mu_;
  std::unique_ptr<PgConnection> collector_conn_;
};

}  // namespace graphopt::server
