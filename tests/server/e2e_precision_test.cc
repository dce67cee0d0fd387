// Conversions as job options: a dynamic-int8 job succeeds with an accuracy report and an int8
// artifact, a max_error it cannot meet fails the job, fp16 for a target without float16 is
// refused at CreateJob, and a conversion changes the result-cache key.
#include <nlohmann/json.hpp>

#include "optimizer/io/model_io.h"
#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

// `request` (an extended job) for the cpu target with dynamic int8 quantization.
v1::CreateJobRequest Int8Request(v1::CreateJobRequest request) {
  request.mutable_options()->set_target("cpu");
  request.mutable_options()->set_quantize("dynamic-int8");
  return request;
}

TEST_F(ServerE2eTest, DynamicInt8JobReportsAccuracyAndStoresInt8Weights) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, SharedModel("text_encoder.raw.onnx"), &model).ok());

  // The float job first: the int8 job must not be served from its cache entry.
  v1::Job float_job;
  v1::CreateJobRequest float_request = Int8Request(JobRequest(model.digest(), "extended"));
  float_request.mutable_options()->clear_quantize();
  ASSERT_TRUE(CreateJob(*stub, float_request, &float_job).ok());
  const v1::Job float_done = WaitForFinish(*stub, float_job.id());
  ASSERT_EQ(float_done.state(), v1::JOB_STATE_SUCCEEDED);

  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, Int8Request(JobRequest(model.digest(), "extended")), &job).ok());
  EXPECT_EQ(job.options().quantize(), "dynamic-int8");
  const v1::Job done = WaitForFinish(*stub, job.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message() << server->Log();
  EXPECT_TRUE(done.cached_from_job_id().empty());
  EXPECT_EQ(done.report().verification_status(), "passed");
  std::string report_text;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_REPORT, &report_text).ok());
  const auto report = nlohmann::json::parse(report_text);
  EXPECT_EQ(report["verification"]["kind"], "accuracy");
  for (const auto& o : report["verification"]["accuracy"]["outputs"]) {
    EXPECT_GE(o["cosine"].get<double>(), 0.99);
  }
  std::string artifact;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_MODEL, &artifact).ok());
  auto loaded = LoadModelFromBytes(artifact);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_GT(CountOp(**loaded, "com.microsoft.DynamicQuantizeMatMul"), 0);
  EXPECT_EQ(CountOp(**loaded, "MatMul"), 0);
  EXPECT_LT(done.artifact_size_bytes(), float_done.artifact_size_bytes());
}

TEST_F(ServerE2eTest, ConversionLimitsAndRefusals) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, SharedModel("text_encoder.raw.onnx"), &model).ok());

  v1::CreateJobRequest strict = Int8Request(JobRequest(model.digest(), "extended"));
  strict.mutable_options()->set_max_error(1e-9);
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, strict, &job).ok());
  const v1::Job done = WaitForFinish(*stub, job.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(done.error().code(), "FAILED_PRECONDITION");
  EXPECT_NE(done.error().message().find("accuracy"), std::string::npos) << done.error().message();
  EXPECT_EQ(done.report().verification_status(), "failed");

  v1::CreateJobRequest fp16 = JobRequest(model.digest(), "basic");
  fp16.mutable_options()->set_target("cpu");
  fp16.mutable_options()->set_precision("fp16");
  v1::Job refused;
  const grpc::Status status = CreateJob(*stub, fp16, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("does not declare float16"), std::string::npos)
      << status.error_message();
}

}  // namespace
}  // namespace graphopt::testing
