// Migrations of the PostgreSQL schema. Append new ones; never edit one that has shipped.
#include "server/store/postgres_schema.h"

#include <string>
#include <vector>

namespace graphopt::server {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Any constant works as long as it is graphopt's alone: the first 8 bytes of "graphopt".
constexpr int64_t kMigrationLockKey = 0x67726170686f7074;

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "jobs, events, models, blobs; leases and event notification", R"sql(
CREATE FUNCTION graphopt_now_ms() RETURNS bigint LANGUAGE sql VOLATILE AS
  $$ SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint $$;

CREATE TABLE models (
  digest TEXT PRIMARY KEY,
  file_name TEXT NOT NULL,
  size BIGINT NOT NULL,
  kind INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE jobs (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  state SMALLINT NOT NULL,
  priority INTEGER NOT NULL,
  model_digest TEXT NOT NULL,
  external_data TEXT NOT NULL,
  options TEXT NOT NULL,
  result_key TEXT NOT NULL,
  request_key TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  created_at BIGINT NOT NULL,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL,
  artifact_digest TEXT NOT NULL,
  artifact_size BIGINT NOT NULL,
  report_digest TEXT NOT NULL,
  report_size BIGINT NOT NULL,
  nodes_before BIGINT NOT NULL,
  nodes_after BIGINT NOT NULL,
  bytes_before BIGINT NOT NULL,
  bytes_after BIGINT NOT NULL,
  verification_status TEXT NOT NULL,
  graphopt_version TEXT NOT NULL,
  cached_from TEXT NOT NULL,
  attempts INTEGER NOT NULL,
  stage TEXT NOT NULL,
  lease_owner TEXT,
  lease_expires_at BIGINT
);
-- The queue: what ClaimNextJob scans, in claim order.
CREATE INDEX jobs_queue ON jobs (priority DESC, seq) WHERE state = 1;
CREATE INDEX jobs_leases ON jobs (lease_expires_at) WHERE state = 2;
CREATE INDEX jobs_by_state ON jobs (state, seq);
CREATE INDEX jobs_by_result ON jobs (result_key, state, seq);

CREATE TABLE events (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job_id TEXT NOT NULL,
  type SMALLINT NOT NULL,
  time BIGINT NOT NULL,
  state SMALLINT NOT NULL,
  stage TEXT NOT NULL,
  pass_index INTEGER NOT NULL,
  pass_count INTEGER NOT NULL,
  pass_name TEXT NOT NULL,
  error_code TEXT NOT NULL,
  error_message TEXT NOT NULL
);
CREATE INDEX events_by_job ON events (job_id, id);

-- Every replica LISTENs on graphopt_job_events; the notification is sent when the inserting
-- transaction commits, so a woken watcher always finds the event.
CREATE FUNCTION graphopt_notify_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('graphopt_job_events', NEW.job_id);
  RETURN NULL;
END
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION graphopt_notify_event();

CREATE TABLE blobs (
  digest TEXT PRIMARY KEY,
  size BIGINT NOT NULL,
  chunk_size INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE blob_chunks (
  digest TEXT NOT NULL REFERENCES blobs (digest) ON DELETE CASCADE,
  idx INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (digest, idx)
);
-- Model weights barely compress: store chunks out of line without trying.
ALTER TABLE blob_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
)sql"},
      {2, "tenants: jobs and uploads belong to one; idempotency keys unique per tenant", R"sql(
ALTER TABLE jobs ADD COLUMN tenant TEXT NOT NULL DEFAULT 'default';
ALTER TABLE jobs DROP CONSTRAINT jobs_idempotency_key_key;
CREATE UNIQUE INDEX jobs_by_idempotency_key ON jobs (tenant, idempotency_key);
CREATE INDEX jobs_by_tenant ON jobs (tenant, state, seq);

CREATE TABLE tenant_models (
  tenant TEXT NOT NULL,
  digest TEXT NOT NULL,
  file_name TEXT NOT NULL,
  size BIGINT NOT NULL,
  kind INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (tenant, digest)
);
INSERT INTO tenant_models SELECT 'default', digest, file_name, size, kind, created_at FROM models;
)sql"},
      {3, "progress events carry the fixed-point round of the passes", R"sql(
ALTER TABLE events ADD COLUMN round INTEGER NOT NULL DEFAULT 0;
)sql"},
      {4, "the report as an HTML page beside the JSON report", R"sql(
ALTER TABLE jobs ADD COLUMN report_html_digest TEXT NOT NULL DEFAULT '';
)sql"},
      {5, "model names, versions and labels; job labels and model name", R"sql(
ALTER TABLE tenant_models ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE tenant_models ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE tenant_models ADD COLUMN labels JSONB NOT NULL DEFAULT '{}';
ALTER TABLE tenant_models ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;
CREATE UNIQUE INDEX tenant_models_by_name ON tenant_models (tenant, name, version)
  WHERE name <> '';
CREATE INDEX tenant_models_by_seq ON tenant_models (tenant, seq);
ALTER TABLE jobs ADD COLUMN labels JSONB NOT NULL DEFAULT '{}';
ALTER TABLE jobs ADD COLUMN model_name TEXT NOT NULL DEFAULT '';
ALTER TABLE jobs ADD COLUMN model_version TEXT NOT NULL DEFAULT '';
CREATE INDEX jobs_by_model_name ON jobs (tenant, model_name, seq);
CREATE INDEX jobs_by_finish ON jobs (state, finished_at);
)sql"},
  };
  return kMigrations;
}

}  // namespace

int LatestPostgresSchemaVersion() { return Migrations().back().version; }

Result<int> PostgresSchemaVersion(PgConnection& conn) {
  ASSIGN_OR_RETURN(auto exists, conn.Exec("SELECT to_regclass('graphopt_schema_migrations') "
                                          "IS NOT NULL"));
  if (exists.Text(0, 0) != "t") return 0;
  ASSIGN_OR_RETURN(auto version,
                   conn.Exec("SELECT COALESCE(MAX(version), 0) FROM graphopt_schema_migrations"));
  return static_cast<int>(version.Int(0, 0));
}

Status MigratePostgresSchema(PgConnection& conn) {
  return conn.InTransaction([&]() -> Status {
    // Held until COMMIT: a replica starting at the same moment waits here, then finds the
    // migrations applied. DDL is transactional in PostgreSQL, so a failure leaves nothing.
    RETURN_IF_ERROR(
        conn.Exec("SELECT pg_advisory_xact_lock($1)", PgParams().Int(kMigrationLockKey)).status());
    RETURN_IF_ERROR(
        conn.ExecScript("CREATE TABLE IF NOT EXISTS graphopt_schema_migrations ("
                        " version INTEGER PRIMARY KEY, description TEXT NOT NULL,"
                        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"));
    ASSIGN_OR_RETURN(int current, PostgresSchemaVersion(conn));
    if (current > LatestPostgresSchemaVersion()) {
      return FailedPrecondition("the PostgreSQL schema is at version " + std::to_string(current) +
                                ", newer than this graphopt-server knows (" +
                                std::to_string(LatestPostgresSchemaVersion()) +
                                "); upgrade graphopt-server");
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= current) continue;
      RETURN_IF_ERROR(conn.ExecScript(m.sql));
      RETURN_IF_ERROR(conn.Exec("INSERT INTO graphopt_schema_migrations (version, description) "
                                "VALUES ($1, $2)",
                                PgParams().Int(m.version).Text(m.description))
                          .status());
    }
    return Status::Ok();
  });
}

}  // namespace graphopt::server
