// Two real graphopt-server processes sharing one PostgreSQL database (issue 7's acceptance):
// 40 jobs submitted across both all succeed, each run exactly once; downloads from either replica
// are byte-identical; a replica killed with SIGKILL mid-job loses the job to the other once its
// lease expires, and a watcher connected to a third replica follows that run to the end.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <set>
#include <thread>

#include "clients/client_server_fixture.h"
#include "metrics/child_process.h"
#include "metrics/http_test_client.h"
#include "postgres/postgres_test_fixture.h"
#include "server/store/postgres_connection.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using namespace std::chrono_literals;

const char* kModel = "squeezenet1_1.raw.onnx";

// One graphopt-server replica on free loopback ports with its own scratch folder.
class Replica {
 public:
  bool Start(const std::string& store_uri, const std::string& id, int pass_delay_ms,
             std::string* error) {
    const std::string dir = TempDir();
    address_ = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
    metrics_port_ = FreeLoopbackPort();
    log_ = dir + "/server.log";
    std::vector<std::string> argv = {ServerBinary(),
                                     "--listen",
                                     address_,
                                     "--metrics-listen",
                                     "127.0.0.1:" + std::to_string(metrics_port_),
                                     "--data-dir",
                                     dir + "/data",
                                     "--store",
                                     store_uri,
                                     "--blob-store",
                                     "postgres",
                                     "--lease-seconds",
                                     "2",
                                     "--replica-id",
                                     id,
                                     "--workers",
                                     "2",
                                     "--debug-pass-delay-ms",
                                     std::to_string(pass_delay_ms)};
    if (!process_.Start(argv, log_, error)) return false;
    for (int i = 0; i < 600; ++i) {
      if (!process_.Running()) {
        *error = id + " exited at start:\n" + ReadFileOrEmpty(log_);
        return false;
      }
      if (HttpRequest(metrics_port_, "GET", "/readyz").status == 200) return true;
      std::this_thread::sleep_for(100ms);
    }
    *error = id + " not ready after 60 s:\n" + ReadFileOrEmpty(log_);
    return false;
  }
  void Kill() {
    ::kill(process_.pid(), SIGKILL);
    process_.Stop(5);
  }
  std::string Flag() const { return " --server " + address_; }
  std::string Log() const { return ReadFileOrEmpty(log_); }
  std::string Metrics() const { return HttpRequest(metrics_port_, "GET", "/metrics").body; }

 private:
  ChildProcess process_;
  std::string address_, log_;
  uint16_t metrics_port_ = 0;
};

std::string Cli(const std::string& args, int* rc = nullptr) {
  std::string out, err;
  const int code = RunCommand(ShellQuote(CliPath()) + " " + args, &out, &err);
  if (rc) *rc = code;
  return out;
}

class ReplicasTest : public PostgresStoreTest {
 protected:
  void SetUp() override {
    const std::string server = ServerBinary();
    if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
    PostgresStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::smatch dbname;
    ASSERT_TRUE(std::regex_search(dsn_, dbname, std::regex(R"(dbname=(\S+))")));
    uri_ = "postgresql://postgres@127.0.0.1:" + std::to_string(cluster_->port()) + "/" +
           dbname[1].str();
  }

  // One value of one row of a query on the shared database.
  std::string Query(const std::string& sql) {
    auto conn = server::PgConnection::Connect(dsn_);
    if (!conn.ok()) return "error: " + conn.status().ToString();
    auto r = (*conn)->Exec(sql);
    if (!r.ok() || r->rows() == 0) return "";
    return r->Text(0, 0);
  }

  std::string uri_;
};

TEST_F(ReplicasTest, FortyJobsAcrossTwoReplicasEachRunOnceAndDownloadIdentically) {
  Replica a, b;
  std::string error;
  ASSERT_TRUE(a.Start(uri_, "replica-a", 0, &error)) << error;
  ASSERT_TRUE(b.Start(uri_, "replica-b", 0, &error)) << error;

  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    int rc = 0;
    const std::string out = Cli("submit " + ShellQuote(SharedModel(kModel)) + " --fresh -q" +
                                    ((i % 2) ? a.Flag() : b.Flag()),
                                &rc);
    ASSERT_EQ(rc, 0) << out << a.Log() << b.Log();
    ids.push_back(FirstLine(out));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    int rc = 0;
    Cli("watch " + ids[i] + ((i % 2) ? b.Flag() : a.Flag()), &rc);  // watch on the other one
    EXPECT_EQ(rc, 0) << ids[i];
  }
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 3 AND attempts = 1"), "40");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM events WHERE type = 3"), "40");  // one start per job
  EXPECT_EQ(Query("SELECT COUNT(DISTINCT artifact_digest) FROM jobs"), "1");

  const std::string dir = TempDir();
  int rc_a = 0, rc_b = 0;
  Cli("download " + ids[0] + " -q -o " + dir + "/from_a.onnx" + a.Flag(), &rc_a);
  Cli("download " + ids[0] + " -q -o " + dir + "/from_b.onnx" + b.Flag(), &rc_b);
  ASSERT_EQ(rc_a, 0);
  ASSERT_EQ(rc_b, 0);
  const std::string bytes = ReadBytes(dir + "/from_a.onnx");
  EXPECT_GT(bytes.size(), 1000u);
  EXPECT_EQ(bytes, ReadBytes(dir + "/from_b.onnx"));
}

TEST_F(ReplicasTest, KilledReplicasJobFinishesElsewhereAndIsWatchedFromAThird) {
  Replica a;
  std::string error;
  // Slow passes, so the job is surely mid-run when the replica is killed.
  ASSERT_TRUE(a.Start(uri_, "replica-a", 300, &error)) << error;
  int rc = 0;
  const std::string id =
      FirstLine(Cli("submit " + ShellQuote(SharedModel(kModel)) + " --fresh -q" + a.Flag(), &rc));
  ASSERT_EQ(rc, 0);
  for (int i = 0;
       i < 600 && Query("SELECT lease_owner FROM jobs WHERE id = '" + id + "'") != "replica-a";
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Query("SELECT lease_owner FROM jobs WHERE id = '" + id + "'"), "replica-a");

  Replica b;
  ASSERT_TRUE(b.Start(uri_, "replica-b", 50, &error)) << error;
  a.Kill();
  // B re-queues the job once A's 2 s lease has lapsed, and runs it (attempt 2).
  for (int i = 0;
       i < 1200 && Query("SELECT lease_owner FROM jobs WHERE id = '" + id + "'") != "replica-b";
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(Query("SELECT lease_owner FROM jobs WHERE id = '" + id + "'"), "replica-b") << b.Log();
  EXPECT_EQ(Query("SELECT attempts FROM jobs WHERE id = '" + id + "'"), "2");
  // The take-over is logged for the job (B was the only replica alive to sweep) and counted.
  const std::string b_log = b.Log();
  EXPECT_TRUE(std::regex_search(
      b_log, std::regex("job_requeued job_id=" + id + " reason=lease_expired by=replica-b")))
      << b_log;
  EXPECT_NE(b.Metrics().find("graphopt_jobs_requeued_total{reason=\"lease_expired\"} 1\n"),
            std::string::npos)
      << b.Metrics();

  // C starts while B holds the job, so C cannot take it: C's watcher sees B's run to the end.
  Replica c;
  ASSERT_TRUE(c.Start(uri_, "replica-c", 0, &error)) << error;
  const std::string events = Cli("watch " + id + " --json" + c.Flag(), &rc);
  EXPECT_EQ(rc, 0) << events << b.Log();
  EXPECT_NE(events.find("TYPE_SUCCEEDED"), std::string::npos) << events;
  EXPECT_EQ(Query("SELECT state FROM jobs WHERE id = '" + id + "'"), "3");
  EXPECT_EQ(Query("SELECT COUNT(*) FROM jobs WHERE state = 3"), "1");
}

}  // namespace
}  // namespace graphopt::testing
