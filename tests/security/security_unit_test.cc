// Units behind issue 14: the tokens file and constant-time lookup, start-up refusals, size
// limits, path redaction, and tenant isolation in the SQLite store (with its migration from the
// schema before tenants).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "server/config/server_config.h"
#include "server/service/authenticator.h"
#include "server/service/request_limits.h"
#include "server/service/status_mapping.h"
#include "server/store/sha256.h"
#include "server/store/sqlite_job_store.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace graphopt::server {
namespace {

using graphopt::testing::TempDir;
using graphopt::testing::WriteFileBytes;

TEST(AuthenticatorTest, ReadsTheTokensFileAndRejectsMalformedLines) {
  const std::string path = TempDir() + "/tokens";
  WriteFileBytes(path, "# comment\n\ntenant-a " + Sha256Hex("secret") + "\nb.c_d " +
                           Sha256Hex("other") + "\n");
  auto auth = Authenticator::Create({path, false});
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_TRUE((*auth)->enabled());
  EXPECT_EQ((*auth)->token_count(), 2u);

  const std::vector<std::string> bad_files = {"tenant-a\n", "tenant-a abc\n",
                                              "bad/name " + Sha256Hex("x"),
                                              "t " + Sha256Hex("x") + " extra\n"};
  for (const std::string& bad : bad_files) {
    WriteFileBytes(path, bad);
    auto refused = Authenticator::Create({path, false});
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("line 1"), std::string::npos);
    // A failed reload keeps the tokens in force.
    EXPECT_FALSE((*auth)->Reload().ok());
    EXPECT_EQ((*auth)->token_count(), 2u);
  }
  EXPECT_FALSE(Authenticator::Create({TempDir() + "/missing", false}).ok());
  auto none = Authenticator::Create({"", false});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)->enabled());
}

TEST(AuthenticatorTest, TenantNames) {
  EXPECT_TRUE(IsValidTenantName("team-a.prod_1"));
  EXPECT_FALSE(IsValidTenantName(""));
  EXPECT_FALSE(IsValidTenantName("a b"));
  EXPECT_FALSE(IsValidTenantName("a/b"));
  EXPECT_FALSE(IsValidTenantName(std::string(65, 'a')));
}

TEST(SecurityConfigTest, NonLoopbackListenersNeedAuthentication) {
  auto parse = [](std::vector<std::string> args) { return *ParseServerConfig(args).config; };
  EXPECT_EQ(SecurityConfigError(parse({})), "");
  EXPECT_EQ(SecurityConfigError(parse({"--listen", "[::1]:5000"})), "");
  EXPECT_NE(SecurityConfigError(parse({"--listen", "0.0.0.0:5000"})), "");
  EXPECT_NE(SecurityConfigError(parse({"--listen", "10.1.2.3:5000"})), "");
  EXPECT_EQ(SecurityConfigError(parse({"--listen", "0.0.0.0:5000", "--auth-tokens", "f"})), "");
  EXPECT_EQ(SecurityConfigError(parse({"--listen", "0.0.0.0:5000", "--allow-unauthenticated"})),
            "");
  EXPECT_EQ(SecurityConfigError(parse({"--listen", "0.0.0.0:5000", "--tls-cert", "c", "--tls-key",
                                       "k", "--tls-client-ca", "ca"})),
            "");
  EXPECT_NE(SecurityConfigError(parse({"--tls-cert", "c"})), "");
  EXPECT_NE(SecurityConfigError(parse({"--tls-client-ca", "ca"})), "");
}

TEST(RequestLimitsTest, BoundsEveryStringAndMap) {
  graphopt::v1::CreateJobRequest request;
  request.set_model_digest("sha256:" + std::string(64, 'a'));
  (*request.mutable_options()->mutable_dims())["batch"] = 1;
  EXPECT_TRUE(CheckCreateJobRequest(request).ok());
  auto refused = [](graphopt::v1::CreateJobRequest r) { return !CheckCreateJobRequest(r).ok(); };
  auto r = request;
  r.mutable_options()->set_target(std::string(300, 't'));
  EXPECT_TRUE(refused(r));
  r = request;
  r.mutable_options()->add_disable_passes(std::string(300, 'p'));
  EXPECT_TRUE(refused(r));
  r = request;
  for (int i = 0; i < 300; ++i) r.mutable_options()->add_enable_passes("p" + std::to_string(i));
  EXPECT_TRUE(refused(r));
  r = request;
  (*r.mutable_options()->mutable_dims())[std::string(300, 'd')] = 1;
  EXPECT_TRUE(refused(r));
  r = request;
  (*r.mutable_external_data())[std::string(2000, 'w')] = "sha256:x";
  EXPECT_TRUE(refused(r));
  r = request;
  r.set_idempotency_key(std::string(257, 'k'));
  EXPECT_TRUE(refused(r));
}

TEST(StatusMappingTest, ClientMessagesNameNoServerPaths) {
  EXPECT_EQ(RedactServerPaths("cannot open /var/lib/graphopt/blobs/ab/cd: No such file"),
            "cannot open <server path>: No such file");
  EXPECT_EQ(RedactServerPaths("move '/tmp/x/y' failed"), "move '<server path>' failed");
  EXPECT_EQ(RedactServerPaths("GET /metrics and 1/2 stay"), "GET /metrics and 1/2 stay");
  EXPECT_EQ(ToGrpcStatus(Internal("cannot fsync /data/dir/file")).error_message(),
            "cannot fsync <server path>");
}

JobRecord Job(const std::string& id, const std::string& tenant, const std::string& key = "") {
  JobRecord job;
  job.id = id;
  job.tenant = tenant;
  job.model_digest = "sha256:" + std::string(64, 'a');
  job.result_key = "rk";
  job.request_key = "rq";
  job.idempotency_key = key;
  return job;
}

TEST(SqliteTenantsTest, ModelsJobsAndKeysBelongToTheirTenant) {
  auto store = SqliteJobStore::Open(TempDir() + "/jobs.db");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const std::string digest = "sha256:" + std::string(64, 'a');
  ASSERT_TRUE((*store)->PutModel({digest, "a.onnx", 100, 1, 5, "a"}).ok());
  EXPECT_TRUE((*store)->GetModel("a", digest).ok());
  EXPECT_EQ((*store)->GetModel("b", digest).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*store)->GetModel(digest).status().code(), StatusCode::kNotFound);  // default
  ASSERT_TRUE((*store)->PutModel({digest, "b.onnx", 100, 1, 6, "b"}).ok());
  EXPECT_EQ((*store)->GetModel("b", digest)->file_name, "b.onnx");
  EXPECT_EQ((*store)->GetModel("a", digest)->file_name, "a.onnx");

  ASSERT_TRUE((*store)->InsertJob(Job("j1", "a", "key")).ok());
  ASSERT_TRUE((*store)->InsertJob(Job("j2", "b", "key")).ok());  // keys are per tenant
  EXPECT_EQ((*store)->InsertJob(Job("j3", "a", "key")).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ((*(*store)->FindJobByIdempotencyKey("b", "key"))->id, "j2");
  EXPECT_FALSE((*store)->FindJobByIdempotencyKey("c", "key")->has_value());
  EXPECT_EQ((*store)->GetJob("j2")->tenant, "b");

  JobListQuery query;
  query.tenant = "a";
  auto page = (*store)->ListJobs(query);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, "j1");
  query.tenant.reset();
  EXPECT_EQ((*store)->ListJobs(query)->jobs.size(), 2u);

  auto usage = (*store)->GetTenantUsage("a");
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->unfinished_jobs, 1);
  EXPECT_EQ(usage->stored_bytes, 100);
}

TEST(SqliteTenantsTest, MigrationGivesEarlierRowsToTheDefaultTenant) {
  const std::string path = TempDir() + "/v1.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  // The schema of version 1, as servers before tenants wrote it.
  const char* v1 = R"sql(
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (1);
CREATE TABLE models (digest TEXT PRIMARY KEY, file_name TEXT NOT NULL, size INTEGER NOT NULL,
  kind INTEGER NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE jobs (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  state INTEGER NOT NULL, model_digest TEXT NOT NULL, external_data TEXT NOT NULL,
  options TEXT NOT NULL, result_key TEXT NOT NULL, request_key TEXT NOT NULL,
  idempotency_key TEXT UNIQUE, created_at INTEGER NOT NULL, started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL, error_code TEXT NOT NULL, error_message TEXT NOT NULL,
  artifact_digest TEXT NOT NULL, artifact_size INTEGER NOT NULL, report_digest TEXT NOT NULL,
  report_size INTEGER NOT NULL, nodes_before INTEGER NOT NULL, nodes_after INTEGER NOT NULL,
  bytes_before INTEGER NOT NULL, bytes_after INTEGER NOT NULL,
  verification_status TEXT NOT NULL, graphopt_version TEXT NOT NULL, cached_from TEXT NOT NULL,
  attempts INTEGER NOT NULL, stage TEXT NOT NULL);
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL,
  type INTEGER NOT NULL, time INTEGER NOT NULL, state INTEGER NOT NULL, stage TEXT NOT NULL,
  pass_index INTEGER NOT NULL, pass_count INTEGER NOT NULL, pass_name TEXT NOT NULL,
  error_code TEXT NOT NULL, error_message TEXT NOT NULL);
INSERT INTO models VALUES ('sha256:aaaa', 'old.onnx', 7, 1, 1);
INSERT INTO jobs VALUES (1, 'old-job', 3, 'sha256:aaaa', '{}', 'OPTIONS', 'rk', 'rq',
  'old-key', 1, 2, 3, '', '', '', 0, '', 0, 0, 0, 0, 0, 'passed', 'v', '', 1, 'done');
)sql";
  std::string sql = v1;
  sql.replace(sql.find("OPTIONS"), 7, JobOptionsRecord().ToJson());
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  auto store = SqliteJobStore::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto job = (*store)->GetJob("old-job");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->tenant, kDefaultTenant);
  EXPECT_EQ((*(*store)->FindJobByIdempotencyKey("old-key"))->id, "old-job");
  EXPECT_EQ((*store)->GetModel("sha256:aaaa")->file_name, "old.onnx");
  auto next = (*store)->InsertJob(Job("new-job", "t"));
  ASSERT_TRUE(next.ok());
  EXPECT_GT(next->seq, 1);
}

}  // namespace
}  // namespace graphopt::server
