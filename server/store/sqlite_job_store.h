// JobStore in one SQLite database file (WAL journal, synchronous=FULL so an acknowledged write
// survives a crash), the embedded default under --data-dir.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "server/store/job_store.h"

struct sqlite3;

namespace graphopt::server {

class SqliteJobStore : public JobStore {
 public:
  // Opens or creates the database and brings its schema to the current version.
  static Result<std::unique_ptr<SqliteJobStore>> Open(const std::string& path);
  ~SqliteJobStore() override;

  Status PutModel(const ModelRecord& model) override;
  Result<ModelPage> ListModels(const ModelListQuery& query) override;
  Status DeleteModel(const std::string& tenant, const std::string& digest) override;
  Status DeleteJob(const std::string& id) override;
  Result<std::vector<std::string>> ListReferencedDigests() override;
  Result<std::vector<JobRecord>> ListOldestFinishedJobs(int64_t finished_before_ms,
                                                        int limit) override;
  Result<std::vector<ModelRecord>> ListUnusedModels(int limit) override;
  using JobStore::FindJobByIdempotencyKey;
  using JobStore::GetModel;
  Result<ModelRecord> GetModel(const std::string& tenant, const std::string& digest) override;
  Result<JobRecord> InsertJob(const JobRecord& job) override;
  Status UpdateJob(const JobRecord& job) override;
  Result<JobRecord> GetJob(const std::string& id) override;
  Result<std::optional<JobRecord>> FindJobByIdempotencyKey(const std::string& tenant,
                                                           const std::string& key) override;
  Result<std::optional<JobRecord>> FindSucceededJob(const std::string& result_key) override;
  Result<JobPage> ListJobs(const JobListQuery& query) override;
  Result<TenantUsage> GetTenantUsage(const std::string& tenant) override;
  Result<std::vector<JobRecord>> ListUnfinishedJobs() override;
  Status AppendEvent(const JobEventRecord& event) override;
  Result<std::vector<JobEventRecord>> ListEvents(const std::string& job_id) override;
  Status CheckWritable() override;

  static constexpr int kSchemaVersion = 4;

 private:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  Status Migrate();
  Result<std::vector<JobRecord>> QueryJobs(const std::string& where_and_order,
                                           const std::vector<std::string>& text_args,
                                           const std::vector<int64_t>& int_args);
  // Callers hold mu_.
  Result<std::vector<ModelRecord>> QueryModels(const std::string& where_and_order,
                                               const std::vector<std::string>& text_args,
                                               const std::vector<int64_t>& int_args);

  std::mutex mu_;  // one connection, used by one thread at a time
  sqlite3* db_;
};

}  // namespace graphopt::server
