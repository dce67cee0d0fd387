// Store faults: with the data folder on a small tmpfs that fills up while a job runs, the server
// reports not-ready, keeps the job's final state, and stores it once space returns.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;

// Fills the file system at `dir` with one file until a write fails for lack of space.
void FillUp(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::string block(64 * 1024, 'x');
  while (std::fwrite(block.data(), 1, block.size(), f) == block.size() && std::fflush(f) == 0) {
  }
  std::fclose(f);
}

bool WaitForHealth(ServerProcess& server, int status, int timeout_seconds) {
  const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (Clock::now() < deadline) {
    if (HealthStatus(server.channel()) == status) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

class StoreFaultsTest : public ServerE2eTest {
 protected:
  void SetUp() override {
    ServerE2eTest::SetUp();
    mount_ = root_ + "/tmpfs";
    std::filesystem::create_directories(mount_);
    if (::mount("tmpfs", mount_.c_str(), "tmpfs", 0, "size=4m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs here (not root?)";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) ::umount2(mount_.c_str(), MNT_DETACH);
  }

  std::string mount_;
  bool mounted_ = false;
};

TEST_F(StoreFaultsTest, DiskFullJobsReachTheirFinalStateAfterSpaceReturns) {
  const std::string data = mount_ + "/data";
  const std::vector<std::string> args = {"--workers", "1", "--debug-pass-delay-ms", "300"};
  std::string job_id;
  {
    auto server = ServerProcess::Start(data, args);
    ASSERT_TRUE(server);
    auto stub = server->NewStub();
    v1::Model model;
    ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
    v1::Job job;
    ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &job).ok());
    job_id = job.id();
    ASSERT_TRUE(WaitForRunningPass(*stub, job_id));

    const std::string filler = mount_ + "/filler";
    FillUp(filler);
    // Nothing can be written: not-ready, while the job still ends (answered from memory).
    EXPECT_TRUE(WaitForHealth(*server, 2, 20)) << server->Log();
    v1::Job ended = WaitForFinish(*stub, job_id, 60);
    EXPECT_TRUE(ended.state() == v1::JOB_STATE_FAILED || ended.state() == v1::JOB_STATE_SUCCEEDED)
        << ended.DebugString();
    EXPECT_EQ(HealthStatus(server->channel()), 2);

    std::filesystem::remove(filler);
    EXPECT_TRUE(WaitForHealth(*server, 1, 20)) << server->Log();
    v1::Job after;
    ASSERT_TRUE(GetJob(*stub, job_id, &after).ok());
    EXPECT_EQ(after.state(), ended.state());
    // A new job runs to success now that the disk has room again.
    v1::Job next;
    ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &next).ok());
    EXPECT_EQ(WaitForFinish(*stub, next.id(), 60).state(), v1::JOB_STATE_SUCCEEDED);
    server->SendTerminate();
    EXPECT_EQ(server->WaitForExit(30), 0);
  }
  // The final state reached the store: a restart neither re-queues nor re-runs the job.
  auto again = ServerProcess::Start(data, {"--workers", "1"});
  ASSERT_TRUE(again);
  auto stub = again->NewStub();
  v1::Job stored;
  ASSERT_TRUE(GetJob(*stub, job_id, &stored).ok());
  EXPECT_TRUE(stored.state() == v1::JOB_STATE_FAILED || stored.state() == v1::JOB_STATE_SUCCEEDED)
      << stored.DebugString();
  EXPECT_EQ(stored.attempts(), 1);
}

}  // namespace
}  // namespace graphopt::testing
