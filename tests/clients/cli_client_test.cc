// The `graphopt` client subcommands against a real graphopt-server: submit/status/watch/jobs/
// download/cancel, artifacts identical to `graphopt optimize`, and one-line errors with exit 2.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "clients/client_server_fixture.h"
#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

const std::string kModel = "squeezenet1_1.raw.onnx";

class CliClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (ServerBinary().empty()) return;
    std::string error;
    server_ = RunningServer::Start({"--workers", "2"}, &error).release();
    if (!server_) start_error_ = new std::string(error);
    // The reference: the same model and options through the in-process pipeline.
    reference_ = new std::string(TempDir() + "/reference.onnx");
    RunCommand(CliPath() + " optimize " + SharedModel(kModel) + " -o " + *reference_ + " -q");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (ServerBinary().empty()) GTEST_SKIP() << "graphopt-server is not built";
    ASSERT_NE(server_, nullptr) << *start_error_;
    ASSERT_FALSE(ReadBytes(*reference_).empty()) << "graphopt optimize produced no reference";
  }
  // Runs `graphopt ARGS --server ...`; returns the exit code.
  int Graphopt(const std::string& args, std::string* out = nullptr, std::string* err = nullptr) {
    return RunCommand(CliPath() + " " + args + " " + server_->ServerFlag(), out, err);
  }

  static RunningServer* server_;
  static std::string* start_error_;
  static std::string* reference_;
};

RunningServer* CliClientTest::server_ = nullptr;
std::string* CliClientTest::start_error_ = nullptr;
std::string* CliClientTest::reference_ = nullptr;

TEST_F(CliClientTest, SubmitWaitDownloadsTheArtifactOfGraphoptOptimize) {
  const std::string dir = TempDir();
  std::string out, err;
  ASSERT_EQ(Graphopt("submit " + SharedModel(kModel) + " --fresh --wait -o " + dir +
                         "/out.onnx --report " + dir + "/report.json --report-html " + dir +
                         "/report.html",
                     &out, &err),
            0)
      << err << server_->Log();
  const std::string job_id = FirstLine(out);
  EXPECT_EQ(job_id.rfind("job-", 0), 0u) << out;
  // Plain progress lines (stderr is not a terminal here): upload, passes, outcome, downloads.
  EXPECT_NE(err.find("uploaded " + kModel), std::string::npos) << err;
  EXPECT_NE(err.find("pass 1/"), std::string::npos) << err;
  EXPECT_NE(err.find("job " + job_id + " succeeded"), std::string::npos) << err;
  EXPECT_EQ(err.find('\r'), std::string::npos) << "no bar redraws when not a terminal";
  EXPECT_EQ(ReadBytes(dir + "/out.onnx"), ReadBytes(*reference_))
      << "the server's artifact differs from `graphopt optimize` with the same options";
  const auto report = nlohmann::json::parse(ReadBytes(dir + "/report.json"));
  EXPECT_EQ(report["level"], "basic");
  EXPECT_LT(report["model"]["nodes_after"].get<int>(), report["model"]["nodes_before"].get<int>());
  EXPECT_EQ(ReadBytes(dir + "/report.html").rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(err.find("round 1, pass 1/"), std::string::npos) << err;

  // The same job through status, jobs and download.
  ASSERT_EQ(Graphopt("status " + job_id, &out, &err), 0) << err;
  EXPECT_NE(out.find("state     succeeded\n"), std::string::npos) << out;
  EXPECT_NE(out.find("verified  passed\n"), std::string::npos) << out;
  ASSERT_EQ(Graphopt("status " + job_id + " --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["state"], "JOB_STATE_SUCCEEDED");
  ASSERT_EQ(Graphopt("jobs --state succeeded --limit 100", &out, &err), 0) << err;
  EXPECT_NE(out.find(job_id + " "), std::string::npos) << out;
  ASSERT_EQ(Graphopt("jobs --state failed --json", &out, &err), 0) << err;
  EXPECT_EQ(out.find(job_id), std::string::npos) << out;
  ASSERT_EQ(Graphopt("download " + job_id + " -q -o " + dir + "/again.onnx", &out, &err), 0) << err;
  EXPECT_EQ(ReadBytes(dir + "/again.onnx"), ReadBytes(*reference_));
  ASSERT_EQ(Graphopt("watch " + job_id, &out, &err), 0) << err;
  EXPECT_EQ(out, "succeeded\n");
}

// Repeatable options take one value per occurrence, any number of times (CLI11's expected(1)
// used to refuse a second --dim), and the conversion options reach the job.
TEST_F(CliClientTest, SubmitTakesRepeatedOptionsAndConversions) {
  std::string out, err;
  ASSERT_EQ(Graphopt("submit --dim batch=1 --dim seq=16 --enable eliminate_identity --enable "
                     "eliminate_nop --disable fuse_gelu --disable fuse_layer_norm --label a=1 "
                     "--label b=2 --target cpu --quantize dynamic-int8 --min-cosine 0.95 " +
                         SharedModel("text_encoder.raw.onnx") + " --wait",
                     &out, &err),
            0)
      << err << server_->Log();
  const std::string job_id = FirstLine(out);
  ASSERT_EQ(Graphopt("status " + job_id + " --json", &out, &err), 0) << err;
  const auto job = nlohmann::json::parse(out);
  EXPECT_EQ(job["state"], "JOB_STATE_SUCCEEDED");
  EXPECT_EQ(job["options"]["dims"].size(), 2u) << out;
  EXPECT_EQ(job["options"]["enable_passes"].size(), 2u) << out;
  EXPECT_EQ(job["options"]["disable_passes"].size(), 2u) << out;
  EXPECT_EQ(job["options"]["quantize"], "dynamic-int8") << out;
  EXPECT_EQ(job["options"]["min_cosine"], 0.95) << out;
  EXPECT_EQ(job["labels"].size(), 2u) << out;
}

// docs/API.md: a model with external data is uploaded as the model plus one upload per data
// file, named in CreateJob by the location the model uses; submit does that by itself.
TEST_F(CliClientTest, SubmitUploadsExternalDataFiles) {
  const std::string dir = TempDir();
  const std::string model = dir + "/split.onnx";
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + SharedModel(kModel) + " -o " + model +
                       " --level disabled --external-data -q"),
            0);
  ASSERT_FALSE(ReadBytes(model + ".data").empty()) << "the model has no external data file";
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model + " -o " + dir + "/reference.onnx -q"), 0);
  std::string out, err;
  ASSERT_EQ(Graphopt("submit " + model + " --fresh -o " + dir + "/out.onnx", &out, &err), 0) << err;
  EXPECT_NE(err.find("uploaded split.onnx.data"), std::string::npos) << err;
  EXPECT_EQ(ReadBytes(dir + "/out.onnx"), ReadBytes(dir + "/reference.onnx"));
}

TEST_F(CliClientTest, SubmitWithoutWaitPrintsTheIdAndACachedResultComesBackAtOnce) {
  std::string out, err;
  // Make sure a finished identical job exists, then submit without --fresh.
  ASSERT_EQ(Graphopt("submit -q --wait " + SharedModel(kModel), &out, &err), 0) << err;
  ASSERT_EQ(Graphopt("submit " + SharedModel(kModel), &out, &err), 0) << err;
  const std::string job_id = FirstLine(out);
  EXPECT_NE(err.find("result cached from job"), std::string::npos) << err;
  ASSERT_EQ(Graphopt("status " + job_id + " --json", &out, &err), 0) << err;
  const auto job = nlohmann::json::parse(out);
  EXPECT_EQ(job["state"], "JOB_STATE_SUCCEEDED");
  EXPECT_FALSE(job.value("cached_from_job_id", "").empty()) << out;
}

TEST_F(CliClientTest, RpcErrorsAreOneLineWithTheCodeAndDocumentedExitCodes) {
  std::string out, err;
  EXPECT_EQ(Graphopt("status job-does-not-exist", &out, &err), 2);
  EXPECT_EQ(err.rfind("graphopt: NOT_FOUND: ", 0), 0u) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_EQ(Graphopt("download job-does-not-exist -o /dev/null", &out, &err), 2);
  EXPECT_EQ(err.rfind("graphopt: NOT_FOUND: ", 0), 0u) << err;

  // Not an ONNX model: refused by the server with INVALID_ARGUMENT.
  const std::string bogus = TempDir() + "/bogus.onnx";
  std::ofstream(bogus) << "this is not protobuf";
  EXPECT_EQ(Graphopt("submit " + bogus + " --wait", &out, &err), 2);
  EXPECT_NE(err.find("INVALID_ARGUMENT"), std::string::npos) << err;

  // Nobody listening: exit 3, unreachable.
  const uint16_t dead_port = FreeLoopbackPort();
  EXPECT_EQ(
      RunCommand(CliPath() + " jobs --server 127.0.0.1:" + std::to_string(dead_port), &out, &err),
      3);
  EXPECT_EQ(err.rfind("graphopt: UNAVAILABLE: ", 0), 0u) << err;
  // The environment variable is the default server.
  EXPECT_EQ(
      RunCommand("GRAPHOPT_SERVER=" + server_->address() + " " + CliPath() + " jobs", &out, &err),
      0)
      << err;

  // Local mistakes are caught before any RPC.
  EXPECT_EQ(Graphopt("submit " + SharedModel(kModel) + " --level turbo", &out, &err), 2);
  EXPECT_NE(err.find("unknown level 'turbo'"), std::string::npos) << err;
  EXPECT_EQ(Graphopt("submit " + SharedModel(kModel) + " --dim batch=zero", &out, &err), 2);
  EXPECT_NE(err.find("--dim"), std::string::npos) << err;
  // The same check the server makes, so these never reach it.
  EXPECT_EQ(Graphopt("submit " + SharedModel(kModel) +
                         " --enable fold_constants --disable fold_constants",
                     &out, &err),
            2);
  EXPECT_NE(err.find("both enabled and disabled"), std::string::npos) << err;
  EXPECT_EQ(Graphopt("submit " + SharedModel(kModel) + " --atol nan", &out, &err), 2);
  EXPECT_NE(err.find("atol must be a finite number"), std::string::npos) << err;
}

// Exit 3 for an unreachable server from every command that talks to one (docs/API.md).
TEST_F(CliClientTest, EveryClientCommandExitsThreeWhenTheServerIsUnreachable) {
  const std::string dead = " --server 127.0.0.1:" + std::to_string(FreeLoopbackPort());
  for (const std::string command :
       {"submit " + SharedModel(kModel), std::string("watch job-0123456789abcdef"),
        "download job-0123456789abcdef -o " + TempDir() + "/x.onnx",
        std::string("status job-0123456789abcdef"), std::string("cancel job-0123456789abcdef"),
        std::string("jobs"), std::string("jobs delete job-0123456789abcdef"),
        "upload " + SharedModel(kModel), std::string("models list")}) {
    std::string out, err;
    EXPECT_EQ(RunCommand(CliPath() + " " + command + dead, &out, &err), 3)
        << command << ": " << err;
    EXPECT_EQ(err.rfind("graphopt: UNAVAILABLE: ", 0), 0u) << command << ": " << err;
  }
}

// A refusal prints the server's google.rpc details after its message, still on one line.
TEST_F(CliClientTest, RefusalsPrintTheServersErrorDetails) {
  const std::string bogus = TempDir() + "/bogus.onnx";
  std::ofstream(bogus) << "this is not protobuf";
  std::string out, err;
  EXPECT_EQ(Graphopt("submit " + bogus, &out, &err), 2);
  EXPECT_NE(err.find("graphopt: INVALID_ARGUMENT: the upload is not an ONNX model"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(" [INVALID_MODEL, field chunk]\n"), std::string::npos) << err;
  EXPECT_EQ(Graphopt("status job-0123456789abcdef", &out, &err), 2);
  EXPECT_NE(err.find("[JOB_NOT_FOUND]"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

TEST_F(CliClientTest, TheServerCountsWhatTheClientsDid) {
  std::string out, err;
  ASSERT_EQ(Graphopt("submit -q --wait --fresh " + SharedModel(kModel), &out, &err), 0) << err;
  const auto metrics = HttpRequest(server_->metrics_port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("graphopt_jobs_total{state=\"succeeded\",level=\"basic\","
                              "target=\"generic\"} "),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("graphopt_grpc_requests_total{method=\"UploadModel\",grpc_type="
                              "\"client_stream\",code=\"OK\"}"),
            std::string::npos);
  // The live server's exposition passes Prometheus' own linter.
  if (RunCommand("command -v promtool") != 0) {
    GTEST_SKIP() << "promtool not installed (Debian package 'prometheus')";
  }
  const std::string file = TempDir() + "/metrics.txt";
  std::ofstream(file) << metrics.body;
  std::string lint;
  EXPECT_EQ(RunCommand("promtool check metrics < " + file, &lint, &lint), 0) << lint;
  EXPECT_EQ(lint, "");
}

// Cancelling needs slow jobs: a server of its own with one worker and a delay per pass.
TEST(CliCancel, QueuedAndRunningJobsAreCancelled) {
  if (ServerBinary().empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::string error;
  auto server = RunningServer::Start({"--workers", "1", "--debug-pass-delay-ms", "500"}, &error);
  ASSERT_NE(server, nullptr) << error;
  auto graphopt = [&](const std::string& args, std::string* out, std::string* err) {
    return RunCommand(CliPath() + " " + args + " " + server->ServerFlag(), out, err);
  };
  std::string out, err;
  ASSERT_EQ(graphopt("submit -q --fresh " + SharedModel(kModel), &out, &err), 0) << err;
  const std::string running = FirstLine(out);
  ASSERT_EQ(graphopt("submit -q --fresh " + SharedModel(kModel), &out, &err), 0) << err;
  const std::string queued = FirstLine(out);

  ASSERT_EQ(graphopt("cancel " + queued, &out, &err), 0) << err;
  EXPECT_EQ(out, queued + " cancelled\n");
  // Wait until the first job runs a pass, then cancel it: it stops at the next pass boundary.
  for (int i = 0; i < 600; ++i) {
    ASSERT_EQ(graphopt("status " + running, &out, &err), 0) << err;
    if (out.find("pass ") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(graphopt("cancel " + running, &out, &err), 0) << err;
  // watch exits 1 for a job that failed or was cancelled, and says how it ended.
  EXPECT_EQ(graphopt("watch " + running, &out, &err), 1) << err;
  EXPECT_EQ(out, "cancelled\n");
  ASSERT_EQ(graphopt("jobs --state cancelled --json", &out, &err), 0) << err;
  EXPECT_NE(out.find(running), std::string::npos);
  EXPECT_NE(out.find(queued), std::string::npos);
  // A finished job cannot be cancelled.
  EXPECT_EQ(graphopt("cancel " + queued, &out, &err), 2);
  EXPECT_EQ(err.rfind("graphopt: FAILED_PRECONDITION: ", 0), 0u) << err;
}

}  // namespace
}  // namespace graphopt::testing
