// End to end: CreateJob with a `dims` name that is no symbolic dim of the model is refused with
// INVALID_ARGUMENT naming the model's symbolic dims (the same check as `graphopt optimize
// --dim`), before any job exists; a known name is accepted.
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, UnknownDimNameIsRefusedAtCreateJob) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, SharedModel("squeezenet1_1.raw.onnx"), &model).ok());
  v1::CreateJobRequest request = JobRequest(model.digest(), "basic");
  (*request.mutable_options()->mutable_dims())["batchx"] = 1;
  v1::Job job;
  grpc::Status created = CreateJob(*stub, request, &job);
  EXPECT_EQ(created.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << server->Log();
  EXPECT_TRUE(job.id().empty());
  EXPECT_NE(created.error_message().find("batchx"), std::string::npos) << created.error_message();
  EXPECT_NE(created.error_message().find("symbolic dims: batch"), std::string::npos)
      << created.error_message();

  // The model's own dim name is accepted and the job runs to the end.
  v1::CreateJobRequest good = JobRequest(model.digest(), "basic");
  (*good.mutable_options()->mutable_dims())["batch"] = 1;
  ASSERT_TRUE(CreateJob(*stub, good, &job).ok());
  std::vector<v1::JobEvent> events;
  ASSERT_TRUE(WatchJob(*stub, job.id(), &events).ok());
  v1::Job done;
  ASSERT_TRUE(GetJob(*stub, job.id(), &done).ok());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message() << server->Log();
}

}  // namespace
}  // namespace graphopt::testing
