// JobStore: where job, model and event metadata live. Kept deliberately narrow so that a second
// implementation (PostgreSQL, for several replicas) only has to provide these calls.
//
// Contract for every implementation:
//  - Each call is atomic and durable when it returns OK (an acknowledged write survives a crash).
//  - Calls may come from several threads at once.
//  - InsertJob fails with kAlreadyExists when the idempotency key is taken (a unique constraint,
//    so replicas racing on one key get one job).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "optimizer/util/status.h"
#include "server/store/job_record.h"

namespace graphopt::server {

class JobStore {
 public:
  virtual ~JobStore() = default;

  // Records an uploaded file for `model.tenant`; the same tenant storing the same digest again
  // keeps its first record, except that a non-empty name, version or label set replaces the
  // stored one. kAlreadyExists when (tenant, name, version) already names another digest.
  virtual Status PutModel(const ModelRecord& model) = 0;
  virtual Result<ModelPage> ListModels(const ModelListQuery& query) = 0;
  // Forgets `tenant`'s upload of `digest` (its bytes are left to garbage collection).
  // kFailedPrecondition while a queued or running job of the tenant uses it as its model or as
  // an external data file; kNotFound when there is no such upload.
  virtual Status DeleteModel(const std::string& tenant, const std::string& digest) = 0;
  // Removes a finished job and its events; kFailedPrecondition when it is queued or running.
  virtual Status DeleteJob(const std::string& id) = 0;

  // --- storage collection ---
  // Every digest something still needs: uploads, inputs of unfinished jobs, and the artifacts,
  // reports and HTML reports of every stored job.
  virtual Result<std::vector<std::string>> ListReferencedDigests() = 0;
  // Finished jobs (every tenant) that finished before `finished_before_ms`, oldest first.
  virtual Result<std::vector<JobRecord>> ListOldestFinishedJobs(int64_t finished_before_ms,
                                                                int limit) = 0;
  // Uploads no queued or running job uses, oldest first.
  virtual Result<std::vector<ModelRecord>> ListUnusedModels(int limit) = 0;
  // One collector at a time across every replica sharing the store: false when another holds
  // it. A store used by one process only always grants it.
  virtual Result<bool> TryLockCollector() { return true; }
  virtual void UnlockCollector() {}
  // kNotFound when `tenant` never uploaded `digest` (whoever else did).
  virtual Result<ModelRecord> GetModel(const std::string& tenant, const std::string& digest) = 0;
  Result<ModelRecord> GetModel(const std::string& digest) {
    return GetModel(kDefaultTenant, digest);
  }

  // Inserts a new job and returns it with its `seq` assigned.
  virtual Result<JobRecord> InsertJob(const JobRecord& job) = 0;
  // Replaces the stored fields of job `job.id` (kNotFound when absent).
  virtual Status UpdateJob(const JobRecord& job) = 0;
  virtual Result<JobRecord> GetJob(const std::string& id) = 0;
  // Idempotency keys are unique per tenant.
  virtual Result<std::optional<JobRecord>> FindJobByIdempotencyKey(const std::string& tenant,
                                                                   const std::string& key) = 0;
  Result<std::optional<JobRecord>> FindJobByIdempotencyKey(const std::string& key) {
    return FindJobByIdempotencyKey(kDefaultTenant, key);
  }
  // The most recent succeeded job with this result key, if any.
  virtual Result<std::optional<JobRecord>> FindSucceededJob(const std::string& result_key) = 0;
  virtual Result<JobPage> ListJobs(const JobListQuery& query) = 0;
  // Unfinished jobs and stored bytes of one tenant.
  virtual Result<TenantUsage> GetTenantUsage(const std::string& tenant) = 0;
  // Queued and running jobs, oldest first: what a restarting server must pick up again.
  virtual Result<std::vector<JobRecord>> ListUnfinishedJobs() = 0;

  virtual Status AppendEvent(const JobEventRecord& event) = 0;

  // A small real write (a full disk or a read-only file fails it): readiness asks this.
  virtual Status CheckWritable() { return Status::Ok(); }
  virtual Result<std::vector<JobEventRecord>> ListEvents(const std::string& job_id) = 0;
};

}  // namespace graphopt::server
