// `graphopt optimize/run/verify --timeout --max-memory`: hostile models end within the limits,
// verification reports "failed" with the reason, and --no-verify still opts out.
#include <gtest/gtest.h>

#include <chrono>

#include "robust/hostile_models.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using Clock = std::chrono::steady_clock;

class CliBoundsTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    WriteFileBytes(path, bytes);
    return path;
  }
  // Runs the CLI; returns the exit code and the seconds it took.
  int Cli(const std::string& args, double* seconds = nullptr) {
    const auto start = Clock::now();
    const int code = RunCommand(CliPath() + " " + args, &out_, &err_);
    if (seconds) *seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return code;
  }

  std::string dir_, out_, err_;
};

TEST_F(CliBoundsTest, EndlessVerificationFailsAtTheTimeout) {
  const std::string loop = Write("loop.onnx", EndlessLoopModelBytes());
  double seconds = 0;
  EXPECT_EQ(Cli("optimize " + loop + " -o " + dir_ + "/out.onnx --timeout 2", &seconds), 1)
      << out_ << err_;
  EXPECT_NE(out_.find("verification: failed (timed out after 2 s, --timeout)"), std::string::npos)
      << out_ << err_;
  EXPECT_LT(seconds, 10.0);

  EXPECT_EQ(Cli("verify " + loop + " " + loop + " --timeout 1", &seconds), 1) << out_ << err_;
  EXPECT_NE(out_.find("verification: failed (timed out after 1 s"), std::string::npos) << out_;
  EXPECT_LT(seconds, 10.0);

  EXPECT_EQ(Cli("run " + loop + " --timeout 1", &seconds), 2);
  EXPECT_NE(err_.find("run stopped: timed out after 1 s"), std::string::npos) << err_;
}

TEST_F(CliBoundsTest, NoVerifyStillOptimizesTheEndlessModel) {
  const std::string loop = Write("loop.onnx", EndlessLoopModelBytes());
  EXPECT_EQ(Cli("optimize " + loop + " -o " + dir_ + "/out.onnx --no-verify --timeout 60"), 0)
      << out_ << err_;
}

TEST_F(CliBoundsTest, MemoryBombFailsWithinMaxMemory) {
  const std::string bomb = Write("bomb.onnx", MemoryBombModelBytes());
  double seconds = 0;
  EXPECT_EQ(Cli("run " + bomb + " --max-memory 1GiB", &seconds), 2) << out_ << err_;
  EXPECT_NE(err_.find("run stopped: exceeded --max-memory 1.0 GiB"), std::string::npos) << err_;
  EXPECT_LT(seconds, 30.0);

  EXPECT_EQ(Cli("verify " + bomb + " " + bomb + " --max-memory 1GiB"), 1) << out_ << err_;
  EXPECT_NE(out_.find("verification: failed (exceeded --max-memory 1.0 GiB)"), std::string::npos)
      << out_ << err_;
}

TEST_F(CliBoundsTest, WithinTheLimitsACommandRunsAsBefore) {
  const std::string loop = Write("short_loop.onnx", EndlessLoopModelBytes(5));
  EXPECT_EQ(Cli("run " + loop + " --timeout 30 --max-memory 2GiB"), 0) << err_;
  EXPECT_EQ(out_.rfind("y  ", 0), 0u) << out_;
  EXPECT_EQ(Cli("optimize " + loop + " -o " + dir_ + "/out.onnx --timeout 0 --max-memory 0"), 0)
      << err_;
  EXPECT_EQ(Cli("run " + loop + " --max-memory lots"), 2);
  EXPECT_NE(err_.find("--max-memory"), std::string::npos) << err_;
}

}  // namespace
}  // namespace graphopt::testing
