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
}

}  // namespace
}  // namespace graphopt::testing
