// PostgreSQL going away under a running store and server: pooled connections killed by
// pg_terminate_backend or a restart are replaced before use, so the first call afterwards
// succeeds; the write probe fails while the database is down; and a real graphopt-server turns
// not-ready (/readyz 503, gRPC health NOT_SERVING) during the outage and ready again by itself.
#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <thread>

#include "clients/client_server_fixture.h"
#include "graphopt/v1/optimizer.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "metrics/child_process.h"
#include "metrics/http_test_client.h"
#include "postgres/postgres_test_fixture.h"
#include "server/store/postgres_connection.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using namespace std::chrono_literals;

class StoreOutageTest : public PostgresStoreTest {
 protected:
  void TearDown() override {
    // A test that failed mid-outage must not leave the cluster down for the next one.
    if (cluster_ != nullptr) EXPECT_TRUE(cluster_->StartAgain());
  }

  // Terminates every other backend connected to this test's database; returns how many.
  int TerminateOtherBackends() {
    auto admin = server::PgConnection::Connect(dsn_);
    EXPECT_TRUE(admin.ok()) << admin.status().ToString();
    if (!admin.ok()) return -1;
    auto r = (*admin)->Exec(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? static_cast<int>(r->Int(0, 0)) : -1;
  }
};

TEST_F(StoreOutageTest, PoolReplacesConnectionsTerminatedByTheServer) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InsertJob(NewJob("job-1")).ok());
  ASSERT_TRUE(store->GetJob("job-1").ok());
  ASSERT_GE(TerminateOtherBackends(), 1);
  std::this_thread::sleep_for(200ms);  // the FATAL message and EOF reach the pooled socket

  // The very first call after the kill succeeds on a fresh connection.
  auto job = store->GetJob("job-1");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->id, "job-1");
  EXPECT_EQ(job->options.level, "extended");
  EXPECT_TRUE(store->CheckWritable().ok());
  ASSERT_TRUE(store->InsertJob(NewJob("job-2")).ok());
  EXPECT_TRUE(store->GetJob("job-2").ok());
}

TEST_F(StoreOutageTest, FirstCallAfterPostgresRestartSucceedsAndProbeFailsWhileDown) {
  auto store = OpenStore();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->InsertJob(NewJob("job-1")).ok());
  ASSERT_TRUE(store->CheckWritable().ok());

  ASSERT_TRUE(cluster_->Stop("fast"));
  Status down = store->CheckWritable();
  EXPECT_EQ(down.code(), StatusCode::kUnavailable) << down.ToString();
  EXPECT_EQ(store->GetJob("job-1").status().code(), StatusCode::kUnavailable);

  ASSERT_TRUE(cluster_->StartAgain());
  auto job = store->GetJob("job-1");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  EXPECT_EQ(job->id, "job-1");
  EXPECT_TRUE(store->CheckWritable().ok());

  // A restart while the pool is idle (no failed call in between) is just as invisible.
  ASSERT_TRUE(cluster_->Restart());
  auto again = store->GetJob("job-1");
  EXPECT_TRUE(again.ok()) << again.status().ToString();
}

// grpc.health.v1 Check of graphopt.v1.OptimizerService: 1 SERVING, 2 NOT_SERVING, -1 failed.
int Health(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 2s);
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("graphopt.v1.OptimizerService");
  grpc::health::v1::HealthCheckResponse response;
  return stub->Check(&context, request, &response).ok() ? response.status() : -1;
}

// Polls `ready()` == want every 100 ms for up to `limit`.
template <typename F>
bool WaitUntil(F condition, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return condition();
}

TEST_F(StoreOutageTest, ServerIsNotReadyWhilePostgresIsDownAndRecoversByItself) {
  const std::string binary = ServerBinary();
  if (binary.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::smatch dbname;
  ASSERT_TRUE(std::regex_search(dsn_, dbname, std::regex(R"(dbname=(\S+))")));
  const std::string uri = "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_->port()) +
                          "/" + dbname[1].str() + "?connect_timeout=2";
  const std::string dir = TempDir();
  const std::string address = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const uint16_t metrics_port = FreeLoopbackPort();
  ChildProcess server;
  std::string error;
  ASSERT_TRUE(server.Start(
      {binary, "--listen", address, "--metrics-listen", "127.0.0.1:" + std::to_string(metrics_port),
       "--data-dir", dir + "/data", "--store", uri, "--blob-store", "postgres", "--replica-id",
       "outage", "--workers", "1"},
      dir + "/server.log", &error))
      << error;
  auto readyz = [&] { return HttpRequest(metrics_port, "GET", "/readyz").status; };
  ASSERT_TRUE(WaitUntil([&] { return readyz() == 200; }, 60s))
      << ReadFileOrEmpty(dir + "/server.log");
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  EXPECT_EQ(Health(channel), 1);

  ASSERT_TRUE(cluster_->Stop("fast"));
  EXPECT_TRUE(WaitUntil([&] { return readyz() == 503; }, 15s))
      << ReadFileOrEmpty(dir + "/server.log");
  EXPECT_EQ(Health(channel), 2);
  EXPECT_TRUE(server.Running());

  ASSERT_TRUE(cluster_->StartAgain());
  EXPECT_TRUE(WaitUntil([&] { return readyz() == 200; }, 20s))
      << ReadFileOrEmpty(dir + "/server.log");
  EXPECT_EQ(Health(channel), 1);
  // Calls reach the store again at once: no stale pooled connection fails the first of them.
  auto stub = graphopt::v1::OptimizerService::NewStub(channel);
  for (int i = 0; i < 4; ++i) {
    grpc::ClientContext context;
    graphopt::v1::ListJobsRequest request;
    graphopt::v1::ListJobsResponse response;
    grpc::Status listed = stub->ListJobs(&context, request, &response);
    EXPECT_TRUE(listed.ok()) << i << ": " << listed.error_message();
  }

  const std::string metrics = HttpRequest(metrics_port, "GET", "/metrics").body;
  std::smatch probe_errors;
  ASSERT_TRUE(std::regex_search(
      metrics, probe_errors,
      std::regex(R"re(graphopt_store_errors_total\{operation="write_probe"\} (\d+))re")))
      << metrics;
  EXPECT_GT(std::stoi(probe_errors[1].str()), 0);
  const std::string log = ReadFileOrEmpty(dir + "/server.log");
  EXPECT_NE(log.find("store_unwritable"), std::string::npos) << log;
  EXPECT_NE(log.find("store_writable"), std::string::npos) << log;
  EXPECT_EQ(server.Stop(30), 0) << log;
}

}  // namespace
}  // namespace graphopt::testing
