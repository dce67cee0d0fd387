// PostgreSQL JobStore: queries, lease handling and the LISTEN loop behind postgres_job_store.h.
#include "server/store/postgres_job_store.h"

#include <poll.h>

#include <nlohmann/json.hpp>

#include "server/store/postgres_schema.h"

namespace graphopt::server {
namespace {

constexpr const char* kJobColumns =
    "seq, id, state, model_digest, external_data, options, result_key, request_key, "
    "idempotency_key, created_at, started_at, finished_at, error_code, error_message, "
    "artifact_digest, artifact_size, report_digest, report_size, nodes_before, nodes_after, "
    "bytes_before, bytes_after, verification_status, graphopt_version, cached_from, attempts, "
    "stage, tenant, report_html_digest, labels, model_name, model_version";
constexpr int kJobColumnCount = 32;  // the columns of kJobColumns; ReadJob reads them in order

// Written columns, in the order JobParams binds them ($1 = id).
const std::vector<std::string>& WritableColumns() {
  static const std::vector<std::string> kColumns = {"id",
                                                    "state",
                                                    "priority",
                                                    "model_digest",
                                                    "external_data",
                                                    "options",
                                                    "result_key",
                                                    "request_key",
                                                    "idempotency_key",
                                                    "created_at",
                                                    "started_at",
                                                    "finished_at",
                                                    "error_code",
                                                    "error_message",
                                                    "artifact_digest",
                                                    "artifact_size",
                                                    "report_digest",
                                                    "report_size",
                                                    "nodes_before",
                                                    "nodes_after",
                                                    "bytes_before",
                                                    "bytes_after",
                                                    "verification_status",
                                                    "graphopt_version",
                                                    "cached_from",
                                                    "attempts",
                                                    "stage",
                                                    "tenant",
                                                    "report_html_digest",
                                                    "labels",
                                                    "model_name",
                                                    "model_version"};
  return kColumns;
}

// JobState numbers of succeeded, failed, cancelled.
const std::string kNotTerminal = "state NOT IN (3, 4, 5)";

PgParams JobParams(const JobRecord& j) {
  PgParams p;
  p.Text(j.id)
      .Int(static_cast<int>(j.state))
      .Int(j.options.priority)
      .Text(j.model_digest)
      .Text(nlohmann::json(j.external_data).dump())
      .Text(j.options.ToJson())
      .Text(j.result_key)
      .Text(j.request_key)
      .TextOrNull(j.idempotency_key)
      .Int(j.created_at_ms)
      .Int(j.started_at_ms)
      .Int(j.finished_at_ms)
      .Text(j.error_code)
      .Text(j.error_message)
      .Text(j.artifact_digest)
      .Int(j.artifact_size)
      .Text(j.report_digest)
      .Int(j.report_size)
      .Int(j.nodes_before)
      .Int(j.nodes_after)
      .Int(j.bytes_before)
      .Int(j.bytes_after)
      .Text(j.verification_status)
      .Text(j.graphopt_version)
      .Text(j.cached_from_job_id)
      .Int(j.attempts)
      .Text(j.progress.stage)
      .Text(j.tenant)
      .Text(j.report_html_digest)
      .Text(nlohmann::json(j.labels).dump())
      .Text(j.model_name)
      .Text(j.model_version);
  return p;
}

Result<std::map<std::string, std::string>> StringMapFromJson(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return Internal("stored labels are corrupt");
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) return Internal("stored labels are corrupt");
    out[key] = value.get<std::string>();
  }
  return out;
}

// " AND ..." for each requirement of `selector` on the JSONB column `column`, with its values
// appended to `params` (placeholders numbered after those already there).
std::string SelectorSql(const std::vector<LabelRequirement>& selector, const std::string& column,
                        PgParams* params) {
  std::string sql;
  for (const auto& req : selector) {
    params->Text(req.key);
    const std::string value =
        "(" + column + " ->> $" + std::to_string(params->size()) + "::text)";
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
        params->Text(req.value);
        sql += " AND " + value + " = $" + std::to_string(params->size());
        break;
      case LabelRequirement::Op::kNotEquals:
        params->Text(req.value);
        sql += " AND " + value + " IS DISTINCT FROM $" + std::to_string(params->size());
        break;
      case LabelRequirement::Op::kExists:
        sql += " AND " + value + " IS NOT NULL";
        break;
      case LabelRequirement::Op::kNotExists:
        sql += " AND " + value + " IS NULL";
        break;
    }
  }
  return sql;
}

constexpr const char* kModelColumns =
    "digest, file_name, size, kind, created_at, tenant, name, version, labels, seq";

Result<std::vector<ModelRecord>> ReadModels(const PgResult& r) {
  std::vector<ModelRecord> models;
  for (int row = 0; row < r.rows(); ++row) {
    ModelRecord m;
    m.digest = r.Text(row, 0);
    m.file_name = r.Text(row, 1);
    m.size = r.Int(row, 2);
    m.kind = static_cast<int>(r.Int(row, 3));
    m.created_at_ms = r.Int(row, 4);
    m.tenant = r.Text(row, 5);
    m.name = r.Text(row, 6);
    m.version = r.Text(row, 7);
    ASSIGN_OR_RETURN(m.labels, StringMapFromJson(r.Text(row, 8)));
    m.seq = r.Int(row, 9);
    models.push_back(std::move(m));
  }
  return models;
}

// A queued or running job of tenant $1 reads digest $2 (as its model or an external data
// file, whose JSON holds the digest quoted).
constexpr const char* kDigestInUse =
    "EXISTS (SELECT 1 FROM jobs WHERE jobs.tenant = $1 AND jobs.state IN (1, 2) AND "
    "(jobs.model_digest = $2 OR strpos(jobs.external_data, '\"' || $2 || '\"') > 0))";

Result<JobRecord> ReadJob(const PgResult& r, int row) {
  JobRecord j;
  j.seq = r.Int(row, 0);
  j.id = r.Text(row, 1);
  j.state = static_cast<JobState>(r.Int(row, 2));
  j.model_digest = r.Text(row, 3);
  auto ext = nlohmann::json::parse(r.Text(row, 4), nullptr, false);
  if (ext.is_discarded() || !ext.is_object()) {
    return Internal("stored external data of job " + j.id + " is corrupt");
  }
  for (const auto& [location, digest] : ext.items()) {
    if (!digest.is_string()) return Internal("stored external data of job " + j.id + " is corrupt");
    j.external_data[location] = digest.get<std::string>();
  }
  ASSIGN_OR_RETURN(j.options, JobOptionsRecord::FromJson(r.Text(row, 5)));
  j.result_key = r.Text(row, 6);
  j.request_key = r.Text(row, 7);
  j.idempotency_key = r.Text(row, 8);
  j.created_at_ms = r.Int(row, 9);
  j.started_at_ms = r.Int(row, 10);
  j.finished_at_ms = r.Int(row, 11);
  j.error_code = r.Text(row, 12);
  j.error_message = r.Text(row, 13);
  j.artifact_digest = r.Text(row, 14);
  j.artifact_size = r.Int(row, 15);
  j.report_digest = r.Text(row, 16);
  j.report_size = r.Int(row, 17);
  j.nodes_before = r.Int(row, 18);
  j.nodes_after = r.Int(row, 19);
  j.bytes_before = r.Int(row, 20);
  j.bytes_after = r.Int(row, 21);
  j.verification_status = r.Text(row, 22);
  j.graphopt_version = r.Text(row, 23);
  j.cached_from_job_id = r.Text(row, 24);
  j.attempts = static_cast<int>(r.Int(row, 25));
  j.progress.stage = r.Text(row, 26);
  j.tenant = r.Text(row, 27);
  j.report_html_digest = r.Text(row, 28);
  ASSIGN_OR_RETURN(j.labels, StringMapFromJson(r.Text(row, 29)));
  j.model_name = r.Text(row, 30);
  j.model_version = r.Text(row, 31);
  return j;
}

Result<std::vector<JobRecord>> ReadJobs(const PgResult& r) {
  std::vector<JobRecord> jobs;
  for (int row = 0; row < r.rows(); ++row) {
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(r, row));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

// "SET state = $2, ..." for every writable column but the id, with the lease kept only while
// the job stays running.
std::string UpdateAssignments() {
  std::string set;
  const auto& columns = WritableColumns();
  for (size_t i = 1; i < columns.size(); ++i) {
    set += (i > 1 ? ", " : "") + columns[i] + " = $" + std::to_string(i + 1);
  }
  set +=
      ", lease_owner = CASE WHEN $2::smallint = 2 THEN lease_owner END"
      ", lease_expires_at = CASE WHEN $2::smallint = 2 THEN lease_expires_at END";
  return set;
}

// INSERT INTO events of a fixed event for each `id` a CTE named `changed` returns.
std::string EventsFromChanged(JobEventType type, JobState state, const std::string& stage) {
  return "INSERT INTO events (job_id, type, time, state, stage, pass_index, pass_count, "
         "pass_name, error_code, error_message) SELECT id, " +
         std::to_string(static_cast<int>(type)) + ", graphopt_now_ms(), " +
         std::to_string(static_cast<int>(state)) + ", '" + stage +
         "', 0, 0, '', error_code, error_message FROM changed RETURNING job_id";
}

}  // namespace

Result<std::unique_ptr<PostgresJobStore>> PostgresJobStore::Open(
    const PostgresStoreOptions& options) {
  ASSIGN_OR_RETURN(auto pool, PgConnectionPool::Create(options.dsn, options.max_connections));
  {
    ASSIGN_OR_RETURN(auto conn, pool->Acquire());
    RETURN_IF_ERROR(MigratePostgresSchema(*conn));
  }
  auto store = std::unique_ptr<PostgresJobStore>(new PostgresJobStore(pool, options));
  store->listener_ = std::thread([s = store.get()] { s->ListenLoop(); });
  return store;
}

PostgresJobStore::~PostgresJobStore() {
  stopping_ = true;
  event_cv_.notify_all();
  if (listener_.joinable()) listener_.join();
}

Status PostgresJobStore::PutModel(const ModelRecord& m) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  Status status =
      conn->Exec(
              // Also into the table of schema 1, which replicas of the previous release read
              // during a rolling upgrade. The first record stays; a name (with its version) or
              // labels sent again replace the stored ones.
              "WITH legacy AS (INSERT INTO models (digest, file_name, size, kind, created_at) "
              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (digest) DO NOTHING) "
              "INSERT INTO tenant_models (digest, file_name, size, kind, created_at, tenant, "
              "name, version, labels) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb) "
              "ON CONFLICT (tenant, digest) DO UPDATE SET "
              "name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name "
              "ELSE tenant_models.name END, "
              "version = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.version "
              "ELSE tenant_models.version END, "
              "labels = CASE WHEN EXCLUDED.labels <> '{}'::jsonb THEN EXCLUDED.labels "
              "ELSE tenant_models.labels END",
              PgParams()
                  .Text(m.digest)
                  .Text(m.file_name)
                  .Int(m.size)
                  .Int(m.kind)
                  .Int(m.created_at_ms)
                  .Text(m.tenant)
                  .Text(m.name)
                  .Text(m.version)
                  .Text(nlohmann::json(m.labels).dump()))
          .status();
  if (status.code() == StatusCode::kAlreadyExists) {
    return {StatusCode::kAlreadyExists, "model name '" + m.name + "' version '" + m.version +
                                            "' already names another upload"};
  }
  return status;
}

Result<ModelRecord> PostgresJobStore::GetModel(const std::string& tenant,
                                               const std::string& digest) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec(std::string("SELECT ") + kModelColumns +
                                          " FROM tenant_models WHERE tenant = $1 AND digest = $2",
                                      PgParams().Text(tenant).Text(digest)));
  ASSIGN_OR_RETURN(auto models, ReadModels(r));
  if (models.empty()) return NotFound("no uploaded model with digest " + digest);
  return models.front();
}

Result<ModelPage> PostgresJobStore::ListModels(const ModelListQuery& query) {
  PgParams params;
  params.Text(query.tenant).Int(query.before_seq > 0 ? query.before_seq : INT64_MAX);
  std::string where = "WHERE tenant = $1 AND seq < $2";
  if (!query.name.empty()) {
    params.Text(query.name);
    where += " AND name = $" + std::to_string(params.size());
  }
  where += SelectorSql(query.selector, "labels", &params);
  params.Int(query.page_size + 1);
  where += " ORDER BY seq DESC LIMIT $" + std::to_string(params.size());
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec(std::string("SELECT ") + kModelColumns +
                                          " FROM tenant_models " + where,
                                      params));
  ASSIGN_OR_RETURN(auto models, ReadModels(r));
  ModelPage page;
  if (static_cast<int>(models.size()) > query.page_size) {
    models.resize(query.page_size);
    page.next_before_seq = models.back().seq;
  }
  page.models = std::move(models);
  return page;
}

Status PostgresJobStore::DeleteModel(const std::string& tenant, const std::string& digest) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // The check and the delete in one statement. A CreateJob racing with it may still queue a
  // job on the model; the collector keeps every unfinished job's inputs, so that job runs.
  ASSIGN_OR_RETURN(
      auto r, conn->Exec(std::string("WITH gone AS (DELETE FROM tenant_models WHERE tenant = $1 "
                                     "AND digest = $2 AND NOT ") +
                             kDigestInUse +
                             " RETURNING digest), legacy AS (DELETE FROM models WHERE digest = $2 "
                             "AND EXISTS (SELECT 1 FROM gone) AND NOT EXISTS (SELECT 1 FROM "
                             "tenant_models WHERE digest = $2 AND tenant <> $1)) "
                             "SELECT (SELECT COUNT(*) FROM gone), " +
                             kDigestInUse,
                         PgParams().Text(tenant).Text(digest)));
  if (r.Int(0, 0) > 0) return Status::Ok();
  if (r.Text(0, 1) == "t") {
    return FailedPrecondition("model " + digest +
                              " is used by a queued or running job; cancel it or wait");
  }
  return NotFound("no uploaded model with digest " + digest);
}

Status PostgresJobStore::DeleteJob(const std::string& id) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // A finished job is immutable, so deleting it cannot race with its worker.
  ASSIGN_OR_RETURN(auto r, conn->Exec("WITH gone AS (DELETE FROM jobs WHERE id = $1 AND " +
                                          std::string("state IN (3, 4, 5) RETURNING id), ") +
                                          "events_gone AS (DELETE FROM events WHERE job_id IN "
                                          "(SELECT id FROM gone)) "
                                          "SELECT (SELECT COUNT(*) FROM gone), "
                                          "(SELECT state FROM jobs WHERE id = $1)",
                                      PgParams().Text(id)));
  if (r.Int(0, 0) > 0) return Status::Ok();
  if (r.IsNull(0, 1)) return NotFound("no job with id '" + id + "'");
  return FailedPrecondition("job " + id + " is " +
                            JobStateName(static_cast<JobState>(r.Int(0, 1))) +
                            "; cancel it before deleting it");
}

Result<std::vector<std::string>> PostgresJobStore::ListReferencedDigests() {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(
      auto r,
      conn->Exec("SELECT digest FROM tenant_models UNION SELECT digest FROM models "
                 "UNION SELECT model_digest FROM jobs WHERE state IN (1, 2) "
                 "UNION SELECT value FROM jobs, jsonb_each_text(external_data::jsonb) "
                 "WHERE state IN (1, 2) "
                 "UNION SELECT artifact_digest FROM jobs UNION SELECT report_digest FROM jobs "
                 "UNION SELECT report_html_digest FROM jobs"));
  std::vector<std::string> digests;
  for (int row = 0; row < r.rows(); ++row) {
    if (!r.Text(row, 0).empty()) digests.push_back(r.Text(row, 0));
  }
  return digests;
}

Result<std::vector<JobRecord>> PostgresJobStore::ListOldestFinishedJobs(
    int64_t finished_before_ms, int limit) {
  return QueryJobs("WHERE state IN (3, 4, 5) AND finished_at < $1 ORDER BY finished_at, seq "
                   "LIMIT $2",
                   PgParams().Int(finished_before_ms).Int(limit));
}

Result<std::vector<ModelRecord>> PostgresJobStore::ListUnusedModels(int limit) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(
      auto r,
      conn->Exec(std::string("SELECT ") + kModelColumns +
                     " FROM tenant_models m WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE "
                     "jobs.tenant = m.tenant AND jobs.state IN (1, 2) AND "
                     "(jobs.model_digest = m.digest OR "
                     "strpos(jobs.external_data, '\"' || m.digest || '\"') > 0)) "
                     "ORDER BY created_at, seq LIMIT $1",
                 PgParams().Int(limit)));
  return ReadModels(r);
}

Result<bool> PostgresJobStore::TryLockCollector() {
  // A session lock on a connection of its own: held across the collector's many statements,
  // and released by PostgreSQL if this replica dies.
  ASSIGN_OR_RETURN(auto conn, PgConnection::Connect(options_.dsn));
  ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT pg_try_advisory_lock($1)",
                                      PgParams().Int(kCollectorLockKey)));
  if (r.Text(0, 0) != "t") return false;
  std::lock_guard lock(collector_mu_);
  collector_conn_ = std::move(conn);
  return true;
}

void PostgresJobStore::UnlockCollector() {
  std::lock_guard lock(collector_mu_);
  if (collector_conn_) {
    (void)collector_conn_->Exec("SELECT pg_advisory_unlock($1)",
                                PgParams().Int(kCollectorLockKey));
  }
  collector_conn_.reset();
}

Result<JobRecord> PostgresJobStore::InsertJob(const JobRecord& job) {
  return Insert(job, /*queued_event=*/false);
}

Result<JobRecord> PostgresJobStore::EnqueueJob(const JobRecord& job) {
  if (job.state != JobState::kQueued) return InvalidArgument("EnqueueJob needs a queued job");
  return Insert(job, /*queued_event=*/true);
}

Result<JobRecord> PostgresJobStore::Insert(const JobRecord& job, bool queued_event) {
  std::string columns, placeholders;
  const auto& names = WritableColumns();
  for (size_t i = 0; i < names.size(); ++i) {
    columns += (i ? ", " : "") + names[i];
    placeholders += (i ? ", $" : "$") + std::to_string(i + 1);
  }
  std::string sql =
      "INSERT INTO jobs (" + columns + ") VALUES (" + placeholders + ") RETURNING seq";
  if (queued_event) {
    sql = "WITH changed AS (" + sql + ", id, error_code, error_message), events_added AS (" +
          EventsFromChanged(JobEventType::kQueued, JobState::kQueued, "queued") +
          ") SELECT seq FROM changed";
  }
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec(sql, JobParams(job)));
  JobRecord stored = job;
  stored.seq = r.Int(0, 0);
  return stored;
}

Status PostgresJobStore::UpdateJob(const JobRecord& job) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec("UPDATE jobs SET " + UpdateAssignments() +
                                          " WHERE id = $1 AND " + kNotTerminal,
                                      JobParams(job)));
  if (r.affected() > 0) return Status::Ok();
  ASSIGN_OR_RETURN(auto exists,
                   conn->Exec("SELECT 1 FROM jobs WHERE id = $1", PgParams().Text(job.id)));
  if (exists.rows() == 0) return NotFound("no job " + job.id);
  return Status::Ok();  // terminal: the first result stays
}

Result<std::vector<JobRecord>> PostgresJobStore::QueryJobs(const std::string& where_and_order,
                                                           const PgParams& params) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(
      auto r,
      conn->Exec(std::string("SELECT ") + kJobColumns + " FROM jobs " + where_and_order, params));
  return ReadJobs(r);
}

Result<JobRecord> PostgresJobStore::GetJob(const std::string& id) {
  ASSIGN_OR_RETURN(auto jobs, QueryJobs("WHERE id = $1", PgParams().Text(id)));
  if (jobs.empty()) return NotFound("no job with id '" + id + "'");
  return jobs.front();
}

Result<std::optional<JobRecord>> PostgresJobStore::FindJobByIdempotencyKey(
    const std::string& tenant, const std::string& key) {
  ASSIGN_OR_RETURN(auto jobs, QueryJobs("WHERE tenant = $1 AND idempotency_key = $2",
                                        PgParams().Text(tenant).Text(key)));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<std::optional<JobRecord>> PostgresJobStore::FindSucceededJob(const std::string& result_key) {
  ASSIGN_OR_RETURN(auto jobs, QueryJobs("WHERE result_key = $1 AND state = 3 "
                                        "ORDER BY seq DESC LIMIT 1",
                                        PgParams().Text(result_key)));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<JobPage> PostgresJobStore::ListJobs(const JobListQuery& query) {
  PgParams params;
  params.Int(query.before_seq > 0 ? query.before_seq : INT64_MAX);
  std::string where = "WHERE seq < $1";
  if (query.state) {
    params.Int(static_cast<int>(*query.state));
    where += " AND state = $" + std::to_string(params.size());
  }
  if (query.tenant) {
    params.Text(*query.tenant);
    where += " AND tenant = $" + std::to_string(params.size());
  }
  if (!query.model_name.empty()) {
    params.Text(query.model_name);
    where += " AND model_name = $" + std::to_string(params.size());
  }
  if (query.created_after_ms > 0) {
    params.Int(query.created_after_ms);
    where += " AND created_at >= $" + std::to_string(params.size());
  }
  if (query.created_before_ms > 0) {
    params.Int(query.created_before_ms);
    where += " AND created_at < $" + std::to_string(params.size());
  }
  where += SelectorSql(query.selector, "labels", &params);
  // One extra row tells whether another page follows.
  params.Int(query.page_size + 1);
  where += " ORDER BY seq DESC LIMIT $" + std::to_string(params.size());
  ASSIGN_OR_RETURN(auto jobs, QueryJobs(where, params));
  JobPage page;
  if (static_cast<int>(jobs.size()) > query.page_size) {
    jobs.resize(query.page_size);
    page.next_before_seq = jobs.back().seq;
  }
  page.jobs = std::move(jobs);
  return page;
}

Result<TenantUsage> PostgresJobStore::GetTenantUsage(const std::string& tenant) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(
      auto r, conn->Exec("SELECT (SELECT COUNT(*) FROM jobs WHERE tenant = $1 AND state IN (1, 2)), "
                         "((SELECT COALESCE(SUM(size), 0) FROM tenant_models WHERE tenant = $1) + "
                         "(SELECT COALESCE(SUM(artifact_size + report_size), 0) FROM jobs "
                         "WHERE tenant = $1 AND cached_from = ''))::bigint",
                         PgParams().Text(tenant)));
  return TenantUsage{r.Int(0, 0), r.Int(0, 1)};
}

Result<std::vector<JobRecord>> PostgresJobStore::ListUnfinishedJobs() {
  return QueryJobs(
      "WHERE state = 1 OR (state = 2 AND (lease_owner IS NULL OR "
      "lease_expires_at < graphopt_now_ms())) ORDER BY seq ASC",
      {});
}

namespace {

constexpr const char* kEventColumns =
    "job_id, type, time, state, stage, pass_index, pass_count, pass_name, error_code, "
    "error_message, round";
constexpr int kEventColumnCount = 11;

void BindEvent(const JobEventRecord& e, PgParams* p) {
  p->Text(e.job_id)
      .Int(static_cast<int>(e.type))
      .Int(e.time_ms)
      .Int(static_cast<int>(e.state))
      .Text(e.progress.stage)
      .Int(e.progress.pass_index)
      .Int(e.progress.pass_count)
      .Text(e.progress.pass_name)
      .Text(e.error_code)
      .Text(e.error_message)
      .Int(e.progress.round);
}

// "($1::text,...,$11::integer),($12::text,...)..." for `rows` events: typed, since a VALUES list
// read by a SELECT does not take its types from the inserted columns.
std::string EventRows(size_t rows) {
  static const char* kTypes[kEventColumnCount] = {"text", "smallint", "bigint", "smallint", "text",
                                                  "integer", "integer", "text", "text", "text",
                                                  "integer"};
  std::string values;
  for (size_t r = 0; r < rows; ++r) {
    values += r ? ",(" : "(";
    for (int c = 0; c < kEventColumnCount; ++c) {
      values += (c ? ",$" : "$") + std::to_string(r * kEventColumnCount + c + 1) + "::" + kTypes[c];
    }
    values += ")";
  }
  return values;
}

}  // namespace

Status PostgresJobStore::AppendEvent(const JobEventRecord& e) {
  PgParams params;
  BindEvent(e, &params);
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  return conn
      ->Exec(std::string("INSERT INTO events (") + kEventColumns + ") VALUES " + EventRows(1),
             params)
      .status();
}

Status PostgresJobStore::AppendProgressEvents(const std::vector<JobEventRecord>& events) {
  if (events.empty()) return Status::Ok();
  PgParams params;
  for (const auto& e : events) BindEvent(e, &params);
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // One round trip: the statement is its own transaction, and set_config(..., is_local) lasts
  // until that transaction's commit, which then does not wait for the WAL flush.
  return conn
      ->Exec("WITH async AS (SELECT set_config('synchronous_commit', 'off', true)) "
             "INSERT INTO events (" + std::string(kEventColumns) + ") SELECT v.* FROM (VALUES " +
                 EventRows(events.size()) +
                 ") AS v, async",
             params)
      .status();
}

Result<std::vector<StoredJobEvent>> PostgresJobStore::ListEventsAfter(const std::string& job_id,
                                                                      int64_t after_id) {
  return ListEventsOfJobsAfter({job_id}, after_id);
}

Result<std::vector<StoredJobEvent>> PostgresJobStore::ListEventsOfJobsAfter(
    const std::vector<std::string>& job_ids, int64_t after_id) {
  std::vector<StoredJobEvent> events;
  if (job_ids.empty()) return events;
  // A text[] literal: every element quoted, with " and \ escaped.
  std::string ids = "{";
  for (size_t i = 0; i < job_ids.size(); ++i) {
    ids += i ? ",\"" : "\"";
    for (char c : job_ids[i]) {
      if (c == '"' || c == '\\') ids += '\\';
      ids += c;
    }
    ids += '"';
  }
  ids += "}";
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT id, job_id, type, time, state, stage, pass_index, "
                                      "pass_count, pass_name, error_code, error_message, round "
                                      "FROM events WHERE job_id = ANY($1::text[]) AND id > $2 "
                                      "ORDER BY id",
                                      PgParams().Text(ids).Int(after_id)));
  for (int row = 0; row < r.rows(); ++row) {
    StoredJobEvent s;
    s.id = r.Int(row, 0);
    JobEventRecord& e = s.event;
    e.job_id = r.Text(row, 1);
    e.type = static_cast<JobEventType>(r.Int(row, 2));
    e.time_ms = r.Int(row, 3);
    e.state = static_cast<JobState>(r.Int(row, 4));
    e.progress.stage = r.Text(row, 5);
    e.progress.pass_index = static_cast<int>(r.Int(row, 6));
    e.progress.pass_count = static_cast<int>(r.Int(row, 7));
    e.progress.pass_name = r.Text(row, 8);
    e.error_code = r.Text(row, 9);
    e.error_message = r.Text(row, 10);
    e.progress.round = static_cast<int>(r.Int(row, 11));
    events.push_back(std::move(s));
  }
  return events;
}

Result<std::vector<JobEventRecord>> PostgresJobStore::ListEvents(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto stored, ListEventsAfter(job_id, 0));
  std::vector<JobEventRecord> events;
  for (auto& s : stored) events.push_back(std::move(s.event));
  return events;
}

Result<std::optional<JobRecord>> PostgresJobStore::ClaimNextJob(const std::string& owner,
                                                                std::chrono::milliseconds lease) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  // SKIP LOCKED: replicas claiming at once each lock a different queued row instead of waiting
  // for (and then losing) the same one. The started event goes with the claim. A job that ran
  // before (its replica stopped) waits behind those of its priority that never ran: it may be
  // what stops replicas.
  ASSIGN_OR_RETURN(
      auto r,
      conn->Exec(std::string("WITH changed AS (UPDATE jobs SET state = 2, lease_owner = $1, "
                             "lease_expires_at = graphopt_now_ms() + $2, "
                             "started_at = graphopt_now_ms(), attempts = attempts + 1, "
                             "stage = 'loading' "
                             "WHERE seq = (SELECT seq FROM jobs WHERE state = 1 "
                             "ORDER BY priority DESC, attempts ASC, seq ASC LIMIT 1 "
                             "FOR UPDATE SKIP LOCKED) "
                             "RETURNING ") +
                     kJobColumns + "), events_added AS (" +
                     EventsFromChanged(JobEventType::kStarted, JobState::kRunning, "loading") +
                     ") SELECT " + kJobColumns + " FROM changed",
                 PgParams().Text(owner).Int(lease.count())));
  if (r.rows() == 0) return std::optional<JobRecord>();
  ASSIGN_OR_RETURN(JobRecord job, ReadJob(r, 0));
  return std::optional<JobRecord>(std::move(job));
}

Status PostgresJobStore::RenewLease(const std::string& job_id, const std::string& owner,
                                    std::chrono::milliseconds lease) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec("UPDATE jobs SET lease_expires_at = graphopt_now_ms() + $3 "
                                      "WHERE id = $1 AND state = 2 AND lease_owner = $2",
                                      PgParams().Text(job_id).Text(owner).Int(lease.count())));
  if (r.affected() == 0) {
    return FailedPrecondition("job " + job_id + " is no longer leased to " + owner +
                              " (cancelled, finished, or re-queued after its lease expired)");
  }
  return Status::Ok();
}

Status PostgresJobStore::ReleaseJob(const std::string& job_id, const std::string& owner) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  return conn
      ->Exec(
          "WITH changed AS (UPDATE jobs SET state = 1, lease_owner = NULL, "
          "lease_expires_at = NULL, stage = 'queued' "
          "WHERE id = $1 AND state = 2 AND lease_owner = $2 "
          "RETURNING id, error_code, error_message) " +
              EventsFromChanged(JobEventType::kRequeued, JobState::kQueued, "queued"),
          PgParams().Text(job_id).Text(owner))
      .status();
}

Result<std::vector<std::string>> PostgresJobStore::RequeueExpiredLeases(int max_attempts) {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  const std::string expired =
      "SELECT seq FROM jobs WHERE state = 2 AND lease_expires_at < graphopt_now_ms() AND ";
  // Each statement is atomic; SKIP LOCKED lets replicas sweep at once without waiting on each
  // other or on a worker renewing the same row.
  RETURN_IF_ERROR(
      conn->Exec("WITH changed AS (UPDATE jobs SET state = 4, finished_at = graphopt_now_ms(), "
                 "error_code = 'INTERNAL', error_message = 'the job''s lease expired ' || "
                 "attempts || ' times (its replica stopped while running it); not retried', "
                 "lease_owner = NULL, lease_expires_at = NULL, stage = 'failed' "
                 "WHERE seq IN (" +
                     expired + "attempts >= $1 FOR UPDATE SKIP LOCKED) " +
                     "RETURNING id, error_code, error_message) " +
                     EventsFromChanged(JobEventType::kFailed, JobState::kFailed, "failed"),
                 PgParams().Int(max_attempts))
          .status());
  ASSIGN_OR_RETURN(
      auto r,
      conn->Exec("WITH changed AS (UPDATE jobs SET state = 1, lease_owner = NULL, "
                 "lease_expires_at = NULL, stage = 'queued' WHERE seq IN (" +
                     expired + "attempts < $1 FOR UPDATE SKIP LOCKED) " +
                     "RETURNING id, error_code, error_message) " +
                     EventsFromChanged(JobEventType::kRequeued, JobState::kQueued, "queued"),
                 PgParams().Int(max_attempts)));
  std::vector<std::string> ids;
  for (int row = 0; row < r.rows(); ++row) ids.push_back(r.Text(row, 0));
  return ids;
}

Result<FinishOutcome> PostgresJobStore::FinishJob(const JobRecord& finished) {
  if (!IsTerminal(finished.state)) {
    return InvalidArgument(std::string("FinishJob needs a terminal state, not ") +
                           JobStateName(finished.state));
  }
  {
    ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
    // The row is locked by the sub-select, so the state it reports is the one replaced; the
    // terminal event is written by the same statement, so no reader sees one without the other.
    ASSIGN_OR_RETURN(
        auto r,
        conn->Exec("WITH changed AS (UPDATE jobs SET " + UpdateAssignments() +
                       " FROM (SELECT seq AS old_seq, state AS old_state FROM jobs WHERE id = $1 "
                       "AND " +
                       kNotTerminal +
                       " FOR UPDATE) old WHERE jobs.seq = old.old_seq RETURNING old.old_state, " +
                       kJobColumns + "), events_added AS (" +
                       EventsFromChanged(TerminalEventType(finished.state), finished.state,
                                         "done") +
                       ") SELECT " + kJobColumns + ", old_state FROM changed",
                   JobParams(finished)));
    if (r.rows() == 1) {
      ASSIGN_OR_RETURN(JobRecord stored, ReadJob(r, 0));
      const auto previous = static_cast<JobState>(r.Int(0, kJobColumnCount));
      return FinishOutcome{std::move(stored), true, previous};
    }
  }
  ASSIGN_OR_RETURN(JobRecord stored, GetJob(finished.id));
  return FinishOutcome{stored, false, stored.state};
}

Result<FinishOutcome> PostgresJobStore::CancelJob(const std::string& job_id) {
  {
    ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
    // The state change and its event in one statement: a watcher never sees one without the
    // other, and the row lock makes a concurrent claim or finish wait, then find it cancelled.
    ASSIGN_OR_RETURN(
        auto r,
        conn->Exec(
            "WITH old AS (SELECT seq AS old_seq, state AS old_state FROM jobs "
            "WHERE id = $1 AND state IN (1, 2) FOR UPDATE), "
            "changed AS (UPDATE jobs SET state = 5, finished_at = graphopt_now_ms(), "
            "error_code = 'CANCELLED', error_message = 'cancelled by request while ' || "
            "CASE WHEN old.old_state = 1 THEN 'queued' ELSE 'running' END, stage = 'done', "
            "lease_owner = NULL, lease_expires_at = NULL FROM old WHERE jobs.seq = old.old_seq "
            "RETURNING old.old_state, " +
                std::string(kJobColumns) + "), events_added AS (" +
                EventsFromChanged(JobEventType::kCancelled, JobState::kCancelled, "done") +
                ") SELECT " + kJobColumns + ", old_state FROM changed",
            PgParams().Text(job_id)));
    if (r.rows() == 1) {
      ASSIGN_OR_RETURN(JobRecord stored, ReadJob(r, 0));
      const auto previous = static_cast<JobState>(r.Int(0, kJobColumnCount));
      return FinishOutcome{std::move(stored), true, previous};
    }
  }
  ASSIGN_OR_RETURN(JobRecord stored, GetJob(job_id));
  return FinishOutcome{stored, false, stored.state};
}

Result<int64_t> PostgresJobStore::CountQueuedJobs() {
  ASSIGN_OR_RETURN(auto conn, pool_->Acquire());
  ASSIGN_OR_RETURN(auto r, conn->Exec("SELECT COUNT(*) FROM jobs WHERE state = 1"));
  return r.Int(0, 0);
}

void PostgresJobStore::BumpEventCounter() {
  {
    std::lock_guard lock(event_mu_);
    ++event_counter_;
  }
  event_cv_.notify_all();
}

void PostgresJobStore::WaitForEvents(uint64_t seen_counter, std::chrono::milliseconds timeout) {
  std::unique_lock lock(event_mu_);
  event_cv_.wait_for(lock, timeout,
                     [&] { return event_counter_.load() > seen_counter || stopping_.load(); });
}

void PostgresJobStore::ListenLoop() {
  while (!stopping_) {
    auto conn = PgConnection::Connect(options_.dsn);
    if (!conn.ok() || !(*conn)->ExecScript("LISTEN graphopt_job_events").ok()) {
      std::this_thread::sleep_for(options_.listener_poll);
      continue;
    }
    // Notifications sent while this replica was not listening are lost: wake every watcher
    // so it re-reads the events table.
    BumpEventCounter();
    PGconn* raw = (*conn)->raw();
    while (!stopping_) {
      pollfd fd{PQsocket(raw), POLLIN, 0};
      if (fd.fd < 0) break;
      ::poll(&fd, 1, static_cast<int>(options_.listener_poll.count()));
      if (PQconsumeInput(raw) == 0) break;  // connection lost: reconnect
      bool any = false;
      while (PGnotify* n = PQnotifies(raw)) {
        any = true;
        PQfreemem(n);
      }
      if (any) BumpEventCounter();
    }
  }
}

}  // namespace graphopt::server
