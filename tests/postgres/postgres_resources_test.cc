// Issue 17 on PostgreSQL: the same store checks as on SQLite
// (tests/server/resource_store_checks.h), plus what only several replicas need: one collector at a
// time.
#include <nlohmann/json.hpp>

#include <regex>
#include <sstream>

#include "clients/client_server_fixture.h"
#include "postgres/postgres_test_fixture.h"
#include "server/resource_store_checks.h"
#include "server/store/postgres_blob_store.h"
#include "server/store/postgres_connection.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

TEST_F(PostgresStoreTest, ResourcesModelNamesLabelsAndListing) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  resources::CheckModelNamesLabelsAndListing(*store);
}

TEST_F(PostgresStoreTest, ResourcesJobListFilters) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  resources::CheckJobListFilters(*store);
}

TEST_F(PostgresStoreTest, ResourcesDeletes) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  resources::CheckDeletes(*store);
}

TEST_F(PostgresStoreTest, ResourcesCollectorSparesTouchedBlobs) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto blobs = server::PostgresBlobStore::Create(store->pool(), TempDir() + "/spool");
  ASSERT_TRUE(blobs.ok());
  resources::CheckCollectorSparesTouchedBlobs(**blobs);
}

TEST_F(PostgresStoreTest, ResourcesCollectorRetentionGarbageAndLimit) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto blobs = server::PostgresBlobStore::Create(store->pool(), TempDir() + "/spool");
  ASSERT_TRUE(blobs.ok());
  resources::CheckCollector(*store, **blobs);
}

TEST_F(PostgresStoreTest, ResourcesConcurrentUploadsSurviveCollector) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  auto blobs = server::PostgresBlobStore::Create(store->pool(), TempDir() + "/spool");
  ASSERT_TRUE(blobs.ok());
  resources::CheckConcurrentUploadsSurviveCollector(*store, **blobs);
}

TEST_F(PostgresStoreTest, OneCollectorAtATimeAcrossReplicas) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  auto got_a = a->TryLockCollector();
  ASSERT_TRUE(got_a.ok());
  EXPECT_TRUE(*got_a);
  auto got_b = b->TryLockCollector();
  ASSERT_TRUE(got_b.ok());
  EXPECT_FALSE(*got_b);
  // The replica that did not get the lock skips its run.
  auto blobs_b = server::PostgresBlobStore::Create(b->pool(), TempDir() + "/spool-b");
  ASSERT_TRUE(blobs_b.ok());
  server::StorageCollector collector_b(*b, **blobs_b, nullptr, {});
  auto skipped = collector_b.RunOnce();
  ASSERT_TRUE(skipped.ok());
  EXPECT_FALSE(skipped->ran);
  a->UnlockCollector();
  auto ran = collector_b.RunOnce();
  ASSERT_TRUE(ran.ok()) << ran.status().ToString();
  EXPECT_TRUE(ran->ran);
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

std::vector<nlohmann::json> CliJsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

// Two replicas on one database with blobs in PostgreSQL: what one uploads, labels and runs, the
// other lists, refuses to delete while it runs, deletes, and reclaims (the blob rows go).
TEST_F(PostgresStoreTest, ResourcesEndToEndAcrossTwoReplicas) {
  if (ServerBinary().empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::smatch dbname;
  ASSERT_TRUE(std::regex_search(dsn_, dbname, std::regex(R"(dbname=(\S+))")));
  const std::string uri =
      "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_->port()) + "/" + dbname[1].str();
  std::string error;
  const std::vector<std::string> args = {
      "--store",    uri,   "--blob-store",          "postgres", "--workers", "1",
      "--gc-grace", "0ms", "--debug-pass-delay-ms", "100"};
  auto a = RunningServer::Start(args, &error);
  ASSERT_TRUE(a) << error;
  auto b = RunningServer::Start(args, &error);
  ASSERT_TRUE(b) << error;
  auto on = [](const RunningServer& s, const std::string& cmd, std::string* out, std::string* err) {
    return RunCommand(CliPath() + " " + cmd + " " + s.ServerFlag(), out, err);
  };
  const std::string model = SharedModel("squeezenet1_1.raw.onnx");
  std::string out, err;
  ASSERT_EQ(on(*a, "upload " + model + " -q --name sq --version 1 --label team=vision", &out, &err),
            0)
      << err;
  const std::string digest = FirstLine(out);
  ASSERT_EQ(on(*b, "models list --label team=vision --json", &out, &err), 0) << err;
  ASSERT_EQ(CliJsonLines(out).size(), 1u) << out;
  EXPECT_EQ(CliJsonLines(out)[0]["name"], "sq");

  // A running job (slow passes) keeps its model; then it finishes and both go.
  ASSERT_EQ(
      on(*a, "submit " + model + " -q --fresh --label exp=x --name sq --version 1", &out, &err), 0)
      << err;
  const std::string job_id = FirstLine(out);
  EXPECT_EQ(on(*b, "models delete " + digest, &out, &err), 2);
  EXPECT_NE(err.find("FAILED_PRECONDITION"), std::string::npos) << err;
  ASSERT_EQ(on(*b, "watch " + job_id + " --json", &out, &err), 0) << err;
  ASSERT_EQ(on(*b, "jobs --label exp=x --model-name sq --json", &out, &err), 0) << err;
  ASSERT_EQ(CliJsonLines(out).size(), 1u) << out;
  ASSERT_EQ(on(*b, "jobs delete " + job_id, &out, &err), 0) << err;
  ASSERT_EQ(on(*b, "models delete " + digest, &out, &err), 0) << err;
  EXPECT_NE(out.find("MiB reclaimed"), std::string::npos) << out;

  auto conn = server::PgConnection::Connect(dsn_);
  ASSERT_TRUE(conn.ok());
  auto blobs = (*conn)->Exec("SELECT COUNT(*) FROM blobs");
  ASSERT_TRUE(blobs.ok());
  EXPECT_EQ(blobs->Int(0, 0), 0);
  auto events = (*conn)->Exec("SELECT COUNT(*) FROM events WHERE job_id = $1",
                              server::PgParams().Text(job_id));
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->Int(0, 0), 0);
}

}  // namespace
}  // namespace graphopt::testing
