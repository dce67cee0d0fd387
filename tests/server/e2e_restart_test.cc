// End to end: a crash (SIGKILL) or a graceful stop (SIGTERM) with queued and running jobs loses
// none of them; the next start on the same data folder finishes them.
#include <chrono>
#include <thread>

#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, KilledServerRestartsWithQueuedAndRunningJobs) {
  std::vector<std::string> ids;
  std::string model_digest;
  {
    auto server =
        ServerProcess::Start(DataDir(), {"--workers", "1", "--debug-pass-delay-ms", "500"});
    ASSERT_TRUE(server);
    auto stub = server->NewStub();
    v1::Model model;
    ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
    model_digest = model.digest();
    for (int i = 0; i < 3; ++i) {
      v1::Job job;
      ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &job).ok());
      ids.push_back(job.id());
    }
    ASSERT_TRUE(WaitForRunningPass(*stub, ids[0]));
    v1::Job queued;
    ASSERT_TRUE(GetJob(*stub, ids[2], &queued).ok());
    EXPECT_EQ(queued.state(), v1::JOB_STATE_QUEUED);
    server->Kill();
  }
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  for (const auto& id : ids) {
    v1::Job done = WaitForFinish(*stub, id);
    EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << id << ": " << done.error().message();
    EXPECT_EQ(done.model_digest(), model_digest);
  }
  v1::Job first;
  ASSERT_TRUE(GetJob(*stub, ids[0], &first).ok());
  EXPECT_EQ(first.attempts(), 2);  // it was running when the process died: run again
  // The uploaded model survived too.
  v1::Job another;
  EXPECT_TRUE(CreateJob(*stub, JobRequest(model_digest, "disabled"), &another).ok());
}

TEST_F(ServerE2eTest, GracefulShutdownRequeuesWhatDidNotFinish) {
  std::vector<std::string> ids;
  {
    auto server = ServerProcess::Start(
        DataDir(), {"--workers", "1", "--debug-pass-delay-ms", "500", "--grace-period", "0.2"});
    ASSERT_TRUE(server);
    auto stub = server->NewStub();
    v1::Model model;
    ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 2), &model).ok());
    for (int i = 0; i < 2; ++i) {
      v1::Job job;
      ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &job).ok());
      ids.push_back(job.id());
    }
    ASSERT_TRUE(WaitForRunningPass(*stub, ids[0]));
    EXPECT_EQ(server->Terminate(), 0) << server->Log();
    const std::string log = server->Log();
    EXPECT_NE(log.find("shutdown_finished"), std::string::npos) << log;
    EXPECT_NE(log.find("job_requeued"), std::string::npos) << log;
  }
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--log-format", "json"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  for (const auto& id : ids) {
    EXPECT_EQ(WaitForFinish(*stub, id).state(), v1::JOB_STATE_SUCCEEDED) << id;
  }
  // JSON logs: every job line names its job.
  const std::string log = server->Log();
  EXPECT_NE(log.find("{\"time\":"), std::string::npos) << log;
  EXPECT_NE(log.find("\"job_id\":\"" + ids[0] + "\""), std::string::npos) << log;
}


// SIGTERM with a drain delay: readiness turns NOT_SERVING first, and calls made during the
// delay still succeed (a load balancer may route a few more before it notices).
TEST_F(ServerE2eTest, SigtermDrainDelayKeepsServingAfterReadinessFlips) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--drain-delay", "3"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  ASSERT_EQ(HealthStatus(server->channel()), 1);

  const auto signalled = std::chrono::steady_clock::now();
  server->SendTerminate();
  int health = 1;
  for (int i = 0; i < 100 && health == 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    health = HealthStatus(server->channel());
  }
  EXPECT_EQ(health, 2) << "readiness did not flip to NOT_SERVING\n" << server->Log();
  // Still inside the delay: a new job is accepted and runs to the end.
  ASSERT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::milliseconds(2500));
  v1::Job job;
  grpc::Status created = CreateJob(*stub, JobRequest(model.digest(), "basic", true), &job);
  ASSERT_TRUE(created.ok()) << created.error_message() << "\n" << server->Log();
  EXPECT_EQ(WaitForFinish(*stub, job.id(), 30).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(server->WaitForExit(), 0) << server->Log();
  const std::string log = server->Log();
  EXPECT_NE(log.find("drain_started"), std::string::npos) << log;
}

// An idle server with an open health watch stops promptly: the watch does not hold it for the
// whole grace period.
TEST_F(ServerE2eTest, OpenHealthWatchDoesNotHoldShutdown) {
  auto server = ServerProcess::Start(DataDir(), {"--grace-period", "60"});
  ASSERT_TRUE(server);
  HealthWatch watch(server->channel());
  ASSERT_TRUE(watch.Open());
  const auto signalled = std::chrono::steady_clock::now();
  EXPECT_EQ(server->Terminate(30), 0) << server->Log();
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, std::chrono::seconds(10));
}

}  // namespace
}  // namespace graphopt::testing
