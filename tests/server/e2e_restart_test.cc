// End to end: a crash (SIGKILL) or a graceful stop (SIGTERM) with queued and running jobs loses
// none of them; the next start on the same data folder finishes them.
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

}  // namespace
}  // namespace graphopt::testing
