// SQLite JobStore: schema, migrations and the queries behind the JobStore calls.
#include "server/store/sqlite_job_store.h"

#include <sqlite3.h>

#include <nlohmann/json.hpp>

namespace graphopt::server {

namespace {

// A prepared statement that finalizes itself; binds by 1-based index.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Status prepared() const {
    if (rc_ == SQLITE_OK) return Status::Ok();
    return Internal(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindOrNull(int i, const std::string& v) {
    if (v.empty()) {
      sqlite3_bind_null(stmt_, i);
    } else {
      Bind(i, v);
    }
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), sqlite3_column_bytes(stmt_, col))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error ? error : "unknown error";
    sqlite3_free(error);
    return Internal("sqlite: " + message);
  }
  return Status::Ok();
}

Status StepDone(sqlite3* db, Statement& st) {
  int rc = st.Step();
  if (rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  if (rc == SQLITE_CONSTRAINT) return {StatusCode::kAlreadyExists, sqlite3_errmsg(db)};
  if (rc == SQLITE_BUSY || rc == SQLITE_FULL || rc == SQLITE_IOERR) {
    return {StatusCode::kUnavailable, std::string("sqlite: ") + sqlite3_errmsg(db)};
  }
  return Internal(std::string("sqlite: ") + sqlite3_errmsg(db));
}

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE models (
  digest TEXT PRIMARY KEY,
  file_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state INTEGER NOT NULL,
  model_digest TEXT NOT NULL,
  external_data TEXT NOT NULL,
  options TEXT NOT NULL,
  result_key TEXT NOT NULL,
  request_key TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  artifact_digest TEXT NOT NULL,
  artifact_size INTEGER NOT NULL,
  report_digest TEXT NOT NULL,
  report_size INTEGER NOT NULL,
  nodes_before INTEGER NOT NULL,
  nodes_after INTEGER NOT NULL,
  bytes_before INTEGER NOT NULL,
  bytes_after INTEGER NOT NULL,
  verification_status TEXT NOT NULL,
  graphopt_version TEXT NOT NULL,
  cached_from TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  stage TEXT NOT NULL
);
CREATE INDEX jobs_by_state ON jobs(state, seq);
CREATE INDEX jobs_by_result ON jobs(result_key, state, seq);
CREATE TABLE events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id TEXT NOT NULL,
  type INTEGER NOT NULL,
  time INTEGER NOT NULL,
  state INTEGER NOT NULL,
  stage TEXT NOT NULL,
  pass_index INTEGER NOT NULL,
  pass_count INTEGER NOT NULL,
  pass_name TEXT NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL
);
CREATE INDEX events_by_job ON events(job_id, id);
)sql";

// Tenants: every job names its owner, idempotency keys become unique per tenant (SQLite cannot
// drop a column's UNIQUE, so the table is rebuilt), and uploads are recorded per tenant.
constexpr const char* kSchemaV2 = R"sql(
CREATE TABLE jobs_v2 (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  state INTEGER NOT NULL,
  model_digest TEXT NOT NULL,
  external_data TEXT NOT NULL,
  options TEXT NOT NULL,
  result_key TEXT NOT NULL,
  request_key TEXT NOT NULL,
  idempotency_key TEXT,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  artifact_digest TEXT NOT NULL,
  artifact_size INTEGER NOT NULL,
  report_digest TEXT NOT NULL,
  report_size INTEGER NOT NULL,
  nodes_before INTEGER NOT NULL,
  nodes_after INTEGER NOT NULL,
  bytes_before INTEGER NOT NULL,
  bytes_after INTEGER NOT NULL,
  verification_status TEXT NOT NULL,
  graphopt_version TEXT NOT NULL,
  cached_from TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  stage TEXT NOT NULL,
  tenant TEXT NOT NULL DEFAULT 'default'
);
INSERT INTO jobs_v2 SELECT *, 'default' FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v2 RENAME TO jobs;
CREATE INDEX jobs_by_state ON jobs(state, seq);
CREATE INDEX jobs_by_result ON jobs(result_key, state, seq);
CREATE INDEX jobs_by_tenant ON jobs(tenant, state, seq);
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs(tenant, idempotency_key);
CREATE TABLE tenant_models (
  tenant TEXT NOT NULL,
  digest TEXT NOT NULL,
  file_name TEXT NOT NULL,
  size INTEGER NOT NULL,
  kind INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, digest)
);
INSERT INTO tenant_models SELECT 'default', digest, file_name, size, kind, created_at FROM models;
)sql";

// The report as an HTML page (DownloadArtifact REPORT_HTML), beside the JSON report.
constexpr const char* kSchemaV3 = R"sql(
ALTER TABLE jobs ADD COLUMN report_html_digest TEXT NOT NULL DEFAULT '';
)sql";

// Names, versions and labels (issue 17). Labels are JSON objects, selected with json_extract;
// (tenant, name, version) names one digest.
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE tenant_models ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE tenant_models ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE tenant_models ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
CREATE UNIQUE INDEX tenant_models_by_name ON tenant_models(tenant, name, version) WHERE name != '';
ALTER TABLE jobs ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_by_model_name ON jobs(tenant, model_name, seq);
CREATE INDEX jobs_by_finish ON jobs(state, finished_at);
)sql";

constexpr const char* kJobColumns =
    "seq, id, state, model_digest, external_data, options, result_key, request_key, "
    "idempotency_key, created_at, started_at, finished_at, error_code, error_message, "
    "artifact_digest, artifact_size, report_digest, report_size, nodes_before, nodes_after, "
    "bytes_before, bytes_after, verification_status, graphopt_version, cached_from, attempts, "
    "stage, tenant, report_html_digest, labels, model_name, model_version";

constexpr const char* kModelColumns =
    "digest, file_name, size, kind, created_at, tenant, name, version, labels, rowid";

std::string LabelsJson(const std::map<std::string, std::string>& labels) {
  return nlohmann::json(labels).dump();
}

Result<std::map<std::string, std::string>> LabelsFromJson(const std::string& text) {
  auto json = nlohmann::json::parse(text, nullptr, false);
  std::map<std::string, std::string> labels;
  if (json.is_discarded() || !json.is_object()) return Internal("stored labels are corrupt");
  for (const auto& [key, value] : json.items()) {
    if (!value.is_string()) return Internal("stored labels are corrupt");
    labels[key] = value.get<std::string>();
  }
  return labels;
}

// " AND ..." for each requirement of `selector` on the JSON column `column`, appending the
// bound texts. Keys are validated ([A-Za-z0-9._/-]), so quoting them in the path is safe.
std::string SelectorSql(const std::vector<LabelRequirement>& selector, const std::string& column,
                        std::vector<std::string>* args) {
  std::string sql;
  for (const auto& req : selector) {
    const std::string value = "json_extract(" + column + ", ?)";
    args->push_back("$.\"" + req.key + "\"");
    switch (req.op) {
      case LabelRequirement::Op::kEquals:
        sql += " AND " + value + " = ?";
        args->push_back(req.value);
        break;
      case LabelRequirement::Op::kNotEquals:
        sql += " AND " + value + " IS NOT ?";
        args->push_back(req.value);
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

Result<ModelRecord> ReadModel(const Statement& st) {
  ModelRecord m;
  m.digest = st.Text(0);
  m.file_name = st.Text(1);
  m.size = st.Int(2);
  m.kind = static_cast<int>(st.Int(3));
  m.created_at_ms = st.Int(4);
  m.tenant = st.Text(5);
  m.name = st.Text(6);
  m.version = st.Text(7);
  ASSIGN_OR_RETURN(m.labels, LabelsFromJson(st.Text(8)));
  m.seq = st.Int(9);
  return m;
}

std::string ExternalDataJson(const std::map<std::string, std::string>& m) {
  return nlohmann::json(m).dump();
}

Result<JobRecord> ReadJob(const Statement& st) {
  JobRecord j;
  j.seq = st.Int(0);
  j.id = st.Text(1);
  j.state = static_cast<JobState>(st.Int(2));
  j.model_digest = st.Text(3);
  auto ext = nlohmann::json::parse(st.Text(4), nullptr, false);
  if (ext.is_discarded()) return Internal("stored external data of job " + j.id + " is corrupt");
  j.external_data = ext.get<std::map<std::string, std::string>>();
  ASSIGN_OR_RETURN(j.options, JobOptionsRecord::FromJson(st.Text(5)));
  j.result_key = st.Text(6);
  j.request_key = st.Text(7);
  j.idempotency_key = st.Text(8);
  j.created_at_ms = st.Int(9);
  j.started_at_ms = st.Int(10);
  j.finished_at_ms = st.Int(11);
  j.error_code = st.Text(12);
  j.error_message = st.Text(13);
  j.artifact_digest = st.Text(14);
  j.artifact_size = st.Int(15);
  j.report_digest = st.Text(16);
  j.report_size = st.Int(17);
  j.nodes_before = st.Int(18);
  j.nodes_after = st.Int(19);
  j.bytes_before = st.Int(20);
  j.bytes_after = st.Int(21);
  j.verification_status = st.Text(22);
  j.graphopt_version = st.Text(23);
  j.cached_from_job_id = st.Text(24);
  j.attempts = static_cast<int>(st.Int(25));
  j.progress.stage = st.Text(26);
  j.tenant = st.Text(27);
  j.report_html_digest = st.Text(28);
  ASSIGN_OR_RETURN(j.labels, LabelsFromJson(st.Text(29)));
  j.model_name = st.Text(30);
  j.model_version = st.Text(31);
  return j;
}

// Binds every column but seq, starting at index `first`, in kJobColumns order.
void BindJob(Statement& st, const JobRecord& j, int first) {
  int i = first;
  st.Bind(i++, j.id);
  st.Bind(i++, static_cast<int64_t>(j.state));
  st.Bind(i++, j.model_digest);
  st.Bind(i++, ExternalDataJson(j.external_data));
  st.Bind(i++, j.options.ToJson());
  st.Bind(i++, j.result_key);
  st.Bind(i++, j.request_key);
  st.BindOrNull(i++, j.idempotency_key);
  st.Bind(i++, j.created_at_ms);
  st.Bind(i++, j.started_at_ms);
  st.Bind(i++, j.finished_at_ms);
  st.Bind(i++, j.error_code);
  st.Bind(i++, j.error_message);
  st.Bind(i++, j.artifact_digest);
  st.Bind(i++, j.artifact_size);
  st.Bind(i++, j.report_digest);
  st.Bind(i++, j.report_size);
  st.Bind(i++, j.nodes_before);
  st.Bind(i++, j.nodes_after);
  st.Bind(i++, j.bytes_before);
  st.Bind(i++, j.bytes_after);
  st.Bind(i++, j.verification_status);
  st.Bind(i++, j.graphopt_version);
  st.Bind(i++, j.cached_from_job_id);
  st.Bind(i++, static_cast<int64_t>(j.attempts));
  st.Bind(i++, j.progress.stage);
  st.Bind(i++, j.tenant);
  st.Bind(i++, j.report_html_digest);
  st.Bind(i++, LabelsJson(j.labels));
  st.Bind(i++, j.model_name);
  st.Bind(i++, j.model_version);
}

}  // namespace

Result<std::unique_ptr<SqliteJobStore>> SqliteJobStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Status(StatusCode::kUnavailable, "cannot open job database " + path + ": " + message);
  }
  std::unique_ptr<SqliteJobStore> store(new SqliteJobStore(db));
  sqlite3_busy_timeout(db, 5000);
  RETURN_IF_ERROR(Exec(db,
                       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                       "PRAGMA foreign_keys=ON;"));
  RETURN_IF_ERROR(store->Migrate());
  return store;
}

SqliteJobStore::~SqliteJobStore() { sqlite3_close(db_); }

Status SqliteJobStore::CheckWritable() {
  std::lock_guard lock(mu_);
  // Committed, so it reaches the WAL on disk: a rolled-back write would prove nothing. The
  // one-row table is outside the migrated schema on purpose: it holds no data.
  return Exec(db_,
              "CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY, at INTEGER); "
              "INSERT OR REPLACE INTO write_probe (id, at) VALUES (1, " +
                  std::to_string(NowMillis()) + ")");
}

Status SqliteJobStore::Migrate() {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(
      Exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  int64_t version = 0;
  {
    Statement st(db_, "SELECT MAX(version) FROM schema_version");
    RETURN_IF_ERROR(st.prepared());
    if (st.Step() == SQLITE_ROW) version = st.Int(0);
  }
  if (version > kSchemaVersion) {
    return FailedPrecondition("job database schema version " + std::to_string(version) +
                              " is newer than this server (" + std::to_string(kSchemaVersion) +
                              "); upgrade graphopt-server");
  }
  const char* migrations[] = {kSchemaV1, kSchemaV2, kSchemaV3, kSchemaV4};
  for (int next = static_cast<int>(version) + 1; next <= kSchemaVersion; ++next) {
    RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
    Status st = Exec(db_, migrations[next - 1]);
    if (st.ok()) {
      st = Exec(db_, "INSERT INTO schema_version (version) VALUES (" + std::to_string(next) + ")");
    }
    if (!st.ok()) {
      (void)Exec(db_, "ROLLBACK");
      return st;
    }
    RETURN_IF_ERROR(Exec(db_, "COMMIT"));
  }
  return Status::Ok();
}

Status SqliteJobStore::PutModel(const ModelRecord& m) {
  std::lock_guard lock(mu_);
  // The first record of an upload stays; a name (with its version) or labels sent again
  // replace the stored ones. The partial unique index refuses a (name, version) taken by
  // another digest: SQLITE_CONSTRAINT, kAlreadyExists.
  Statement st(db_,
               "INSERT INTO tenant_models (tenant, digest, file_name, size, kind, created_at, "
               "name, version, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (tenant, digest) DO UPDATE SET "
               "name = CASE WHEN excluded.name != '' THEN excluded.name ELSE name END, "
               "version = CASE WHEN excluded.name != '' THEN excluded.version ELSE version END, "
               "labels = CASE WHEN excluded.labels != '{}' THEN excluded.labels ELSE labels END");
  RETURN_IF_ERROR(st.prepared());
  st.Bind(1, m.tenant);
  st.Bind(2, m.digest);
  st.Bind(3, m.file_name);
  st.Bind(4, m.size);
  st.Bind(5, static_cast<int64_t>(m.kind));
  st.Bind(6, m.created_at_ms);
  st.Bind(7, m.name);
  st.Bind(8, m.version);
  st.Bind(9, LabelsJson(m.labels));
  Status status = StepDone(db_, st);
  if (status.code() == StatusCode::kAlreadyExists) {
    return {StatusCode::kAlreadyExists, "model name '" + m.name + "' version '" + m.version +
                                            "' already names another upload"};
  }
  return status;
}

Result<std::vector<ModelRecord>> SqliteJobStore::QueryModels(
    const std::string& where_and_order, const std::vector<std::string>& text_args,
    const std::vector<int64_t>& int_args) {
  Statement st(db_, std::string("SELECT ") + kModelColumns + " FROM tenant_models " +
                        where_and_order);
  RETURN_IF_ERROR(st.prepared());
  int i = 1;
  for (const auto& t : text_args) st.Bind(i++, t);
  for (int64_t v : int_args) st.Bind(i++, v);
  std::vector<ModelRecord> models;
  while (true) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
    ASSIGN_OR_RETURN(ModelRecord m, ReadModel(st));
    models.push_back(std::move(m));
  }
  return models;
}

Result<ModelRecord> SqliteJobStore::GetModel(const std::string& tenant,
                                             const std::string& digest) {
  std::lock_guard lock(mu_);
  ASSIGN_OR_RETURN(auto models, QueryModels("WHERE tenant = ? AND digest = ?", {tenant, digest}, {}));
  if (models.empty()) return NotFound("no uploaded model with digest " + digest);
  return models.front();
}

Result<ModelPage> SqliteJobStore::ListModels(const ModelListQuery& query) {
  std::lock_guard lock(mu_);
  std::vector<std::string> texts = {query.tenant};
  std::string where = "WHERE tenant = ?";
  if (!query.name.empty()) {
    where += " AND name = ?";
    texts.push_back(query.name);
  }
  where += SelectorSql(query.selector, "labels", &texts);
  where += " AND rowid < ? ORDER BY rowid DESC LIMIT ?";
  ASSIGN_OR_RETURN(auto models,
                   QueryModels(where, texts,
                               {query.before_seq > 0 ? query.before_seq : INT64_MAX,
                                static_cast<int64_t>(query.page_size) + 1}));
  ModelPage page;
  if (static_cast<int>(models.size()) > query.page_size) {
    models.resize(query.page_size);
    page.next_before_seq = models.back().seq;
  }
  page.models = std::move(models);
  return page;
}

// A queued or running job of `tenant` reads `digest` (as its model or an external data file,
// whose JSON holds the digest quoted).
constexpr const char* kDigestInUse =
    "EXISTS (SELECT 1 FROM jobs WHERE jobs.tenant = ?1 AND jobs.state IN (1, 2) AND "
    "(jobs.model_digest = ?2 OR instr(jobs.external_data, '\"' || ?2 || '\"') > 0))";

Status SqliteJobStore::DeleteModel(const std::string& tenant, const std::string& digest) {
  std::lock_guard lock(mu_);
  // One connection behind mu_: the check and the delete see the same jobs.
  Statement st(db_, std::string("SELECT ") + kDigestInUse +
                        ", EXISTS (SELECT 1 FROM tenant_models WHERE tenant = ?1 AND digest = ?2)");
  RETURN_IF_ERROR(st.prepared());
  st.Bind(1, tenant);
  st.Bind(2, digest);
  if (st.Step() != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  if (st.Int(1) == 0) return NotFound("no uploaded model with digest " + digest);
  if (st.Int(0) != 0) {
    return FailedPrecondition("model " + digest +
                              " is used by a queued or running job; cancel it or wait");
  }
  Statement del(db_, "DELETE FROM tenant_models WHERE tenant = ? AND digest = ?");
  RETURN_IF_ERROR(del.prepared());
  del.Bind(1, tenant);
  del.Bind(2, digest);
  return StepDone(db_, del);
}

Status SqliteJobStore::DeleteJob(const std::string& id) {
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(Exec(db_, "BEGIN IMMEDIATE"));
  auto body = [&]() -> Status {
    Statement del(db_, "DELETE FROM jobs WHERE id = ? AND state IN (3, 4, 5)");
    RETURN_IF_ERROR(del.prepared());
    del.Bind(1, id);
    RETURN_IF_ERROR(StepDone(db_, del));
    if (sqlite3_changes(db_) == 0) {
      Statement find(db_, "SELECT state FROM jobs WHERE id = ?");
      RETURN_IF_ERROR(find.prepared());
      find.Bind(1, id);
      if (find.Step() != SQLITE_ROW) return NotFound("no job with id '" + id + "'");
      return FailedPrecondition("job " + id + " is " +
                                JobStateName(static_cast<JobState>(find.Int(0))) +
                                "; cancel it before deleting it");
    }
    Statement events(db_, "DELETE FROM events WHERE job_id = ?");
    RETURN_IF_ERROR(events.prepared());
    events.Bind(1, id);
    return StepDone(db_, events);
  };
  Status status = body();
  if (!status.ok()) {
    (void)Exec(db_, "ROLLBACK");
    return status;
  }
  return Exec(db_, "COMMIT");
}

Result<std::vector<std::string>> SqliteJobStore::ListReferencedDigests() {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "SELECT digest, '' FROM tenant_models "
               "UNION SELECT model_digest, external_data FROM jobs WHERE state IN (1, 2) "
               "UNION SELECT artifact_digest, '' FROM jobs "
               "UNION SELECT report_digest, '' FROM jobs "
               "UNION SELECT report_html_digest, '' FROM jobs");
  RETURN_IF_ERROR(st.prepared());
  std::vector<std::string> digests;
  while (true) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
    if (!st.Text(0).empty()) digests.push_back(st.Text(0));
    if (!st.Text(1).empty()) {
      ASSIGN_OR_RETURN(auto external, LabelsFromJson(st.Text(1)));  // location -> digest
      for (const auto& [location, digest] : external) digests.push_back(digest);
    }
  }
  return digests;
}

Result<std::vector<JobRecord>> SqliteJobStore::ListOldestFinishedJobs(int64_t finished_before_ms,
                                                                      int limit) {
  return QueryJobs("WHERE state IN (3, 4, 5) AND finished_at < ? ORDER BY finished_at, seq LIMIT ?",
                   {}, {finished_before_ms, static_cast<int64_t>(limit)});
}

Result<std::vector<ModelRecord>> SqliteJobStore::ListUnusedModels(int limit) {
  std::lock_guard lock(mu_);
  return QueryModels(
      "WHERE NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.tenant = tenant_models.tenant AND "
      "jobs.state IN (1, 2) AND (jobs.model_digest = tenant_models.digest OR "
      "instr(jobs.external_data, '\"' || tenant_models.digest || '\"') > 0)) "
      "ORDER BY created_at, rowid LIMIT ?",
      {}, {static_cast<int64_t>(limit)});
}

Result<JobRecord> SqliteJobStore::InsertJob(const JobRecord& job) {
  std::lock_guard lock(mu_);
  Statement st(db_, std::string("INSERT INTO jobs (") + (kJobColumns + 5) +
                        ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  RETURN_IF_ERROR(st.prepared());
  BindJob(st, job, 1);
  RETURN_IF_ERROR(StepDone(db_, st));
  JobRecord stored = job;
  stored.seq = sqlite3_last_insert_rowid(db_);
  return stored;
}

Status SqliteJobStore::UpdateJob(const JobRecord& job) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "UPDATE jobs SET id=?, state=?, model_digest=?, external_data=?, options=?, "
               "result_key=?, request_key=?, idempotency_key=?, created_at=?, started_at=?, "
               "finished_at=?, error_code=?, error_message=?, artifact_digest=?, "
               "artifact_size=?, report_digest=?, report_size=?, nodes_before=?, nodes_after=?, "
               "bytes_before=?, bytes_after=?, verification_status=?, graphopt_version=?, "
               "cached_from=?, attempts=?, stage=?, tenant=?, report_html_digest=?, labels=?, "
               "model_name=?, model_version=? WHERE id=?");
  RETURN_IF_ERROR(st.prepared());
  BindJob(st, job, 1);
  st.Bind(32, job.id);
  RETURN_IF_ERROR(StepDone(db_, st));
  if (sqlite3_changes(db_) == 0) return NotFound("no job " + job.id);
  return Status::Ok();
}

Result<std::vector<JobRecord>> SqliteJobStore::QueryJobs(const std::string& where_and_order,
                                                         const std::vector<std::string>& text_args,
                                                         const std::vector<int64_t>& int_args) {
  std::lock_guard lock(mu_);
  Statement st(db_, std::string("SELECT ") + kJobColumns + " FROM jobs " + where_and_order);
  RETURN_IF_ERROR(st.prepared());
  int i = 1;
  for (const auto& t : text_args) st.Bind(i++, t);
  for (int64_t v : int_args) st.Bind(i++, v);
  std::vector<JobRecord> jobs;
  while (true) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
    ASSIGN_OR_RETURN(JobRecord job, ReadJob(st));
    jobs.push_back(std::move(job));
  }
  return jobs;
}

Result<JobRecord> SqliteJobStore::GetJob(const std::string& id) {
  ASSIGN_OR_RETURN(auto jobs, QueryJobs("WHERE id = ?", {id}, {}));
  if (jobs.empty()) return NotFound("no job with id '" + id + "'");
  return jobs.front();
}

Result<std::optional<JobRecord>> SqliteJobStore::FindJobByIdempotencyKey(
    const std::string& tenant, const std::string& key) {
  ASSIGN_OR_RETURN(auto jobs,
                   QueryJobs("WHERE tenant = ? AND idempotency_key = ?", {tenant, key}, {}));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<std::optional<JobRecord>> SqliteJobStore::FindSucceededJob(const std::string& result_key) {
  ASSIGN_OR_RETURN(auto jobs,
                   QueryJobs("WHERE result_key = ? AND state = ? ORDER BY seq DESC LIMIT 1",
                             {result_key}, {static_cast<int64_t>(JobState::kSucceeded)}));
  if (jobs.empty()) return std::optional<JobRecord>();
  return std::optional<JobRecord>(jobs.front());
}

Result<JobPage> SqliteJobStore::ListJobs(const JobListQuery& query) {
  // Texts are bound before integers: every text condition comes first.
  std::vector<std::string> texts;
  if (query.tenant) texts.push_back(*query.tenant);
  std::string text_where;
  if (!query.model_name.empty()) {
    text_where += " AND model_name = ?";
    texts.push_back(query.model_name);
  }
  text_where += SelectorSql(query.selector, "labels", &texts);
  std::string where =
      std::string(query.tenant ? "WHERE tenant = ?" : "WHERE 1") + text_where + " AND seq < ?";
  std::vector<int64_t> ints = {query.before_seq > 0 ? query.before_seq : INT64_MAX};
  if (query.state) {
    where += " AND state = ?";
    ints.push_back(static_cast<int64_t>(*query.state));
  }
  if (query.created_after_ms > 0) {
    where += " AND created_at >= ?";
    ints.push_back(query.created_after_ms);
  }
  if (query.created_before_ms > 0) {
    where += " AND created_at < ?";
    ints.push_back(query.created_before_ms);
  }
  // One extra row tells whether another page follows.
  ints.push_back(query.page_size + 1);
  ASSIGN_OR_RETURN(auto jobs, QueryJobs(where + " ORDER BY seq DESC LIMIT ?", texts, ints));
  JobPage page;
  if (static_cast<int>(jobs.size()) > query.page_size) {
    jobs.resize(query.page_size);
    page.next_before_seq = jobs.back().seq;
  }
  page.jobs = std::move(jobs);
  return page;
}

Result<TenantUsage> SqliteJobStore::GetTenantUsage(const std::string& tenant) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "SELECT (SELECT COUNT(*) FROM jobs WHERE tenant = ?1 AND state IN (1, 2)), "
               "(SELECT COALESCE(SUM(size), 0) FROM tenant_models WHERE tenant = ?1) + "
               "(SELECT COALESCE(SUM(artifact_size + report_size), 0) FROM jobs "
               "WHERE tenant = ?1 AND cached_from = '')");
  RETURN_IF_ERROR(st.prepared());
  st.Bind(1, tenant);
  if (st.Step() != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
  return TenantUsage{st.Int(0), st.Int(1)};
}

Result<std::vector<JobRecord>> SqliteJobStore::ListUnfinishedJobs() {
  return QueryJobs(
      "WHERE state IN (?, ?) ORDER BY seq ASC", {},
      {static_cast<int64_t>(JobState::kQueued), static_cast<int64_t>(JobState::kRunning)});
}

Status SqliteJobStore::AppendEvent(const JobEventRecord& e) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "INSERT INTO events (job_id, type, time, state, stage, pass_index, pass_count, "
               "pass_name, error_code, error_message) VALUES (?,?,?,?,?,?,?,?,?,?)");
  RETURN_IF_ERROR(st.prepared());
  st.Bind(1, e.job_id);
  st.Bind(2, static_cast<int64_t>(e.type));
  st.Bind(3, e.time_ms);
  st.Bind(4, static_cast<int64_t>(e.state));
  st.Bind(5, e.progress.stage);
  st.Bind(6, static_cast<int64_t>(e.progress.pass_index));
  st.Bind(7, static_cast<int64_t>(e.progress.pass_count));
  st.Bind(8, e.progress.pass_name);
  st.Bind(9, e.error_code);
  st.Bind(10, e.error_message);
  return StepDone(db_, st);
}

Result<std::vector<JobEventRecord>> SqliteJobStore::ListEvents(const std::string& job_id) {
  std::lock_guard lock(mu_);
  Statement st(db_,
               "SELECT type, time, state, stage, pass_index, pass_count, pass_name, error_code, "
               "error_message FROM events WHERE job_id = ? ORDER BY id");
  RETURN_IF_ERROR(st.prepared());
  st.Bind(1, job_id);
  std::vector<JobEventRecord> events;
  while (true) {
    int rc = st.Step();
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Internal(std::string("sqlite: ") + sqlite3_errmsg(db_));
    JobEventRecord e;
    e.job_id = job_id;
    e.type = static_cast<JobEventType>(st.Int(0));
    e.time_ms = st.Int(1);
    e.state = static_cast<JobState>(st.Int(2));
    e.progress.stage = st.Text(3);
    e.progress.pass_index = static_cast<int>(st.Int(4));
    e.progress.pass_count = static_cast<int>(st.Int(5));
    e.progress.pass_name = st.Text(6);
    e.error_code = st.Text(7);
    e.error_message = st.Text(8);
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace graphopt::server
