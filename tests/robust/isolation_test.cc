// Process isolation (--isolation process, the default): hostile jobs end with a clear reason
// while the server lives and its workers take the next jobs.
#include <gtest/gtest.h>

#include <chrono>

#include "robust/hostile_models.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;

class IsolationTest : public ServerE2eTest {
 protected:
  std::string Upload(v1::OptimizerService::Stub& stub, const std::string& bytes,
                     const std::string& name) {
    v1::Model model;
    grpc::Status status = UploadBytes(stub, bytes, name, &model);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return model.digest();
  }
  std::string Create(v1::OptimizerService::Stub& stub, const std::string& digest) {
    v1::Job job;
    grpc::Status status = CreateJob(stub, JobRequest(digest, "basic", /*fresh=*/true), &job);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return job.id();
  }
  // A tiny job that must succeed with its Identity removed, after whatever came before.
  void ExpectTinyJobSucceeds(v1::OptimizerService::Stub& stub, int seed) {
    v1::Model model;
    ASSERT_TRUE(
        UploadFile(stub, WriteTinyModel("tiny" + std::to_string(seed) + ".onnx", seed), &model)
            .ok());
    v1::Job done = WaitForFinish(stub, Create(stub, model.digest()), 120);
    EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message();
    EXPECT_EQ(done.report().nodes_before(), 4);
    EXPECT_EQ(done.report().nodes_after(), 3);
    EXPECT_EQ(done.report().verification_status(), "passed");
  }
  // Waits until the job is RUNNING in `stage`.
  static bool WaitForStage(v1::OptimizerService::Stub& stub, const std::string& id,
                           const std::string& stage, int timeout_seconds = 60) {
    const auto deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
    while (Clock::now() < deadline) {
      v1::Job job;
      if (GetJob(stub, id, &job).ok() && job.state() == v1::JOB_STATE_RUNNING &&
          job.progress().stage() == stage) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
};

TEST_F(IsolationTest, EndlessLoopEndsAtTheJobTimeoutAndTheWorkerTakesTheNextJob) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--job-timeout", "3"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const std::string loop = Create(*stub, Upload(*stub, EndlessLoopModelBytes(), "loop.onnx"));
  const auto started = Clock::now();
  v1::Job failed = WaitForFinish(*stub, loop, 60);
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed.error().code(), "DEADLINE_EXCEEDED");
  EXPECT_NE(failed.error().message().find("timed out after 3 s"), std::string::npos)
      << failed.error().message();
  EXPECT_GE(seconds, 2.5);
  EXPECT_LT(seconds, 15.0);  // killed at the limit, not at a pass boundary that never comes
  ExpectTinyJobSucceeds(*stub, 1);
  EXPECT_EQ(HealthStatus(server->channel()), 1);
}

TEST_F(IsolationTest, CancellingAnEndlessVerificationKillsItsWorker) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const std::string loop = Create(*stub, Upload(*stub, EndlessLoopModelBytes(), "loop.onnx"));
  ASSERT_TRUE(WaitForStage(*stub, loop, "verifying"));
  v1::Job cancelled;
  ASSERT_TRUE(CancelJob(*stub, loop, &cancelled).ok());
  const auto asked = Clock::now();
  v1::Job done = WaitForFinish(*stub, loop, 30);
  EXPECT_EQ(done.state(), v1::JOB_STATE_CANCELLED) << done.error().message();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - asked).count(), 5.0);
  ExpectTinyJobSucceeds(*stub, 2);
}

TEST_F(IsolationTest, ShutdownStopsAnEndlessJobAndRequeuesIt) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--grace-period", "0.5"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const std::string loop = Create(*stub, Upload(*stub, EndlessLoopModelBytes(), "loop.onnx"));
  ASSERT_TRUE(WaitForStage(*stub, loop, "verifying"));
  server->SendTerminate();
  EXPECT_EQ(server->WaitForExit(30), 0);
  EXPECT_NE(server->Log().find("workers_stopped=true"), std::string::npos) << server->Log();
  // Not the job's fault: it waits for the next start, queued.
  auto again = ServerProcess::Start(DataDir(), {"--workers", "1", "--job-timeout", "1"});
  ASSERT_TRUE(again);
  auto stub2 = again->NewStub();
  v1::Job done = WaitForFinish(*stub2, loop, 60);
  EXPECT_EQ(done.error().code(), "DEADLINE_EXCEEDED") << done.error().message();
  EXPECT_EQ(done.attempts(), 2);
}

TEST_F(IsolationTest, MemoryBombFailsWithinTheLimitWhileAnotherJobProceeds) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "2", "--job-max-memory", "1GB"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const std::string bomb = Create(*stub, Upload(*stub, MemoryBombModelBytes(), "bomb.onnx"));
  ExpectTinyJobSucceeds(*stub, 3);
  v1::Job failed = WaitForFinish(*stub, bomb, 120);
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed.error().code(), "RESOURCE_EXHAUSTED") << failed.error().message();
  EXPECT_NE(failed.error().message().find("exceeded --job-max-memory (1.0 GiB)"), std::string::npos)
      << failed.error().message();
  ExpectTinyJobSucceeds(*stub, 4);
}

TEST_F(IsolationTest, AbortingKernelFailsItsJobAloneAndTheServerLives) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--debug-abort-op"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const std::string crash = Create(*stub, Upload(*stub, AbortingModelBytes(), "abort.onnx"));
  v1::Job failed = WaitForFinish(*stub, crash, 60);
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed.error().code(), "INTERNAL");
  EXPECT_NE(failed.error().message().find("killed by SIGABRT"), std::string::npos)
      << failed.error().message();
  EXPECT_TRUE(server->Running());
  EXPECT_EQ(HealthStatus(server->channel()), 1);
  ExpectTinyJobSucceeds(*stub, 5);
}

TEST_F(IsolationTest, WithoutTheDebugFlagTheAbortOpHasNoKernel) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Job done =
      WaitForFinish(*stub, Create(*stub, Upload(*stub, AbortingModelBytes(), "abort.onnx")), 60);
  // Whatever the pipeline makes of an operator it cannot run, no worker died of it.
  EXPECT_EQ(done.error().message().find("killed by"), std::string::npos) << done.error().message();
  EXPECT_TRUE(server->Running());
}

TEST_F(IsolationTest, ThreadIsolationRunsJobsInTheServer) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--isolation", "thread"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  ExpectTinyJobSucceeds(*stub, 6);
  EXPECT_NE(server->Log().find("isolation=thread"), std::string::npos);
}

}  // namespace
}  // namespace graphopt::testing
