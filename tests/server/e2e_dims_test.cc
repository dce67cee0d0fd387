// End to end: a job whose `dims` name no symbolic dim of the model fails with INVALID_ARGUMENT
// naming the model's symbolic dims (the same check as `graphopt optimize --dim`).
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, UnknownDimNameFailsTheJobWithInvalidArgument) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, SharedModel("squeezenet1_1.raw.onnx"), &model).ok());
  v1::CreateJobRequest request = JobRequest(model.digest(), "basic");
  (*request.mutable_options()->mutable_dims())["batchx"] = 1;
  v1::Job job;
  grpc::Status created = CreateJob(*stub, request, &job);
  ASSERT_TRUE(created.ok()) << created.error_message();
  std::vector<v1::JobEvent> events;
  ASSERT_TRUE(WatchJob(*stub, job.id(), &events).ok());
  v1::Job done;
  ASSERT_TRUE(GetJob(*stub, job.id(), &done).ok());
  EXPECT_EQ(done.state(), v1::JOB_STATE_FAILED) << server->Log();
  EXPECT_EQ(done.error().code(), "INVALID_ARGUMENT");
  EXPECT_NE(done.error().message().find("batchx"), std::string::npos) << done.error().message();
  EXPECT_NE(done.error().message().find("symbolic dims: batch"), std::string::npos)
      << done.error().message();
}

}  // namespace
}  // namespace graphopt::testing
