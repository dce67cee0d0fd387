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
  // keeps its first record.
  virtual Status PutModel(const ModelRecord& model) = 0;
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
