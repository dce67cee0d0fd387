// The Python client (clients/python) against a real graphopt-server: the pipeline example
// produces the same artifact as `graphopt optimize`, and the library's helpers behave.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "clients/client_server_fixture.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

// Debian's python3-grpcio lives in /usr/bin/python3's dist-packages, not in pyenv's python.
const std::string kPython = "/usr/bin/python3";

bool HavePythonGrpc() { return RunCommand(kPython + " -c 'import grpc, google.protobuf'") == 0; }

class PythonClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ServerBinary().empty()) GTEST_SKIP() << "graphopt-server is not built";
    if (!HavePythonGrpc()) GTEST_SKIP() << "python3-grpcio / python3-protobuf not installed";
    std::string error;
    server_ = RunningServer::Start({"--workers", "1"}, &error);
    ASSERT_NE(server_, nullptr) << error;
    // A fresh stub cache, so stub generation from the proto is part of the test.
    env_ = "XDG_CACHE_HOME=" + ShellQuote(TempDir()) + " ";
  }
  std::unique_ptr<RunningServer> server_;
  std::string env_;
};

TEST_F(PythonClientTest, ExampleOptimizesTheSharedModelLikeTheCli) {
  const std::string dir = TempDir();
  const std::string model = SharedModel("squeezenet1_1.raw.onnx");
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model + " -o " + dir + "/reference.onnx -q"), 0);
  std::string out, err;
  const int rc = RunCommand(
      env_ + kPython + " " GRAPHOPT_PYTHON_CLIENT_DIR "/examples/optimize_model.py " + model +
          " --out " + dir + "/py.onnx --report " + dir + "/py.json --server " + server_->address(),
      &out, &err);
  ASSERT_EQ(rc, 0) << err << server_->Log();
  const auto summary = nlohmann::json::parse(out.substr(out.rfind('{')));
  EXPECT_EQ(summary["state"], "succeeded");
  EXPECT_EQ(summary["verification"], "passed");
  EXPECT_LT(summary["nodes_after"].get<int>(), summary["nodes_before"].get<int>());
  EXPECT_NE(err.find("pass 1/"), std::string::npos) << err;
  EXPECT_EQ(ReadBytes(dir + "/py.onnx"), ReadBytes(dir + "/reference.onnx"));
  const auto report = nlohmann::json::parse(ReadBytes(dir + "/py.json"));
  EXPECT_EQ(report["level"], "basic");
}

// What a user of the package does: a fresh virtual environment (grpcio and protobuf from the
// system), `pip install clients/python` offline, and the lifecycle example run as the README
// shows it: upload with name and labels, job with labels, list by label, wait, download,
// delete job and model.
TEST_F(PythonClientTest, PackageInstallsIntoAVenvAndRunsTheLifecycleExample) {
  const std::string dir = TempDir();
  const std::string venv = dir + "/venv";
  std::string out, err;
  ASSERT_EQ(RunCommand(kPython + " -m venv --system-site-packages " + venv, &out, &err), 0)
      << err << " (Debian: python3-venv)";
  // A copy of the package, so the build leaves nothing in the source tree and concurrent runs
  // do not share a build folder; the protos come from the repository.
  ASSERT_EQ(RunCommand("cp -r " GRAPHOPT_PYTHON_CLIENT_DIR " " + dir + "/pkg && rm -rf " + dir +
                       "/pkg/build " + dir + "/pkg/*.egg-info"),
            0);
  ASSERT_EQ(RunCommand("GRAPHOPT_PROTO_DIR=" GRAPHOPT_PYTHON_CLIENT_DIR "/../../proto "
                       "PIP_NO_INDEX=1 " +
                           venv + "/bin/pip install --no-build-isolation --no-deps " + dir + "/pkg",
                       &out, &err),
            0)
      << out << err;
  // The installed copy is the one imported, with stubs generated at build time.
  ASSERT_EQ(RunCommand("cd " + dir + " && " + venv +
                           "/bin/python -c 'import graphopt_client, graphopt_client._stubs as s; "
                           "print(graphopt_client.__file__); print(s._generated_dir())'",
                       &out, &err),
            0)
      << err;
  EXPECT_EQ(out.rfind(venv + "/lib/", 0), 0u) << out;
  EXPECT_NE(out.find("graphopt_client/_gen"), std::string::npos) << out;

  // Its own server without the collector's grace period, so deletes reclaim bytes at once.
  std::string error;
  auto server = RunningServer::Start({"--workers", "1", "--gc-grace", "0s"}, &error);
  ASSERT_NE(server, nullptr) << error;
  const std::string model = SharedModel("squeezenet1_1.raw.onnx");
  const int rc = RunCommand(
      "cd " + dir + " && " + venv +
          "/bin/python " GRAPHOPT_PYTHON_CLIENT_DIR "/examples/model_lifecycle.py " + model +
          " --name squeezenet --version 1.1 --label team=vision --label stage=ci"
          " --target cpu --level basic --out-dir " +
          dir + "/out --server " + server->address(),
      &out, &err);
  ASSERT_EQ(rc, 0) << out << err << server->Log();
  const auto summary = nlohmann::json::parse(out.substr(out.rfind('{')));
  EXPECT_EQ(summary["verification"], "passed");
  EXPECT_EQ(summary["listed_jobs"], 1);
  EXPECT_EQ(summary["listed_models"], 1);
  EXPECT_LT(summary["nodes_after"].get<int>(), summary["nodes_before"].get<int>());
  const std::string artifact = summary["artifact"];
  EXPECT_EQ(ReadBytes(artifact).size(), summary["artifact_bytes"].get<size_t>());
  // The artifact is `graphopt optimize`'s at the same level and target.
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model + " -o " + dir +
                       "/reference.onnx -q --level basic --target cpu"),
            0);
  EXPECT_EQ(ReadBytes(artifact), ReadBytes(dir + "/reference.onnx"));
  // Deleted: the job and the model are gone, and their bytes were reclaimed.
  EXPECT_GT(summary["job_reclaimed_bytes"].get<int64_t>(), 0);
  EXPECT_EQ(summary["model_reclaimed_bytes"].get<int64_t>(), ReadBytes(model).size());
  const std::string job_id = summary["job_id"];
  EXPECT_EQ(
      RunCommand(CliPath() + " status " + job_id + " --server " + server->address(), &out, &err),
      2);
  EXPECT_NE(err.find("NOT_FOUND"), std::string::npos) << err;
  ASSERT_EQ(RunCommand("cd " + dir + " && " + venv +
                           "/bin/python -c 'import sys, graphopt_client as g\n"
                           "try:\n"
                           "  g.Client(sys.argv[1]).get_model(sys.argv[2])\n"
                           "except g.GraphoptError as e:\n"
                           "  print(e.code)' " +
                           server->address() + " " + summary["model_digest"].get<std::string>(),
                       &out, &err),
            0)
      << err;
  EXPECT_EQ(out, "NOT_FOUND\n");
}

TEST_F(PythonClientTest, ExampleReportsServerErrorsWithExitCode2) {
  const std::string bogus = TempDir() + "/bogus.onnx";
  std::ofstream(bogus) << "not a model";
  std::string out, err;
  EXPECT_EQ(
      RunCommand(env_ + kPython + " " GRAPHOPT_PYTHON_CLIENT_DIR "/examples/optimize_model.py " +
                     bogus + " --out " + TempDir() + "/x.onnx --server " + server_->address(),
                 &out, &err),
      2);
  EXPECT_NE(err.find("INVALID_ARGUMENT"), std::string::npos) << err;
}

TEST_F(PythonClientTest, LibraryHelpers) {
  std::string out, err;
  const int rc = RunCommand(
      env_ + kPython + " " GRAPHOPT_CLIENT_TESTS_DIR "/python_client_checks.py " +
          server_->address() + " " + SharedModel("squeezenet1_1.raw.onnx") + " " + TempDir(),
      &out, &err);
  EXPECT_EQ(rc, 0) << out << err << server_->Log();
  EXPECT_NE(out.find("all checks passed"), std::string::npos) << out << err;
  // The x-request-id the client sent is the one the server's audit line carries.
  const size_t at = out.find("request id ");
  ASSERT_NE(at, std::string::npos) << out;
  const std::string id = out.substr(at + 11, out.find('\n', at) - at - 11);
  EXPECT_EQ(id.size(), 16u) << id;
  EXPECT_NE(server_->Log().find(id), std::string::npos) << id << "\n" << server_->Log();
}

// Retries with backoff and RetryInfo, a wait() that survives its stream dying, deadlines and
// request ids on every call: against a scripted in-process server (no graphopt-server needed).
TEST_F(PythonClientTest, RetriesResumesAndDeadlines) {
  std::string out, err;
  const int rc = RunCommand(
      env_ + kPython + " " GRAPHOPT_CLIENT_TESTS_DIR "/python_client_resilience.py", &out, &err);
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_NE(out.find("all resilience checks passed"), std::string::npos) << out << err;
}

}  // namespace
}  // namespace graphopt::testing
