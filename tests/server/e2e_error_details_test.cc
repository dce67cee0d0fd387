// Refusals carry google.rpc details in `grpc-status-details-bin`: ErrorInfo on every error,
// BadRequest naming the field for INVALID_ARGUMENT, RetryInfo when waiting helps. Decoded here
// the way any gRPC client does, from the trailer bytes.
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "optimizer/pipeline.h"
#include "resource_labels.h"
#include "server/e2e_fixture.h"
#include "server/service/error_details.h"
#include "server/service/request_limits.h"
#include "server/service/status_mapping.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

struct Decoded {
  google::rpc::Status status;
  std::optional<google::rpc::ErrorInfo> info;
  std::optional<google::rpc::BadRequest> bad_request;
  std::optional<google::rpc::RetryInfo> retry;
};

Decoded Decode(const grpc::Status& status) {
  Decoded d;
  EXPECT_TRUE(d.status.ParseFromString(status.error_details()))
      << "no google.rpc.Status in the trailer of: " << status.error_message();
  for (const auto& any : d.status.details()) {
    google::rpc::ErrorInfo info;
    google::rpc::BadRequest bad;
    google::rpc::RetryInfo retry;
    if (any.UnpackTo(&info)) d.info = info;
    if (any.UnpackTo(&bad)) d.bad_request = bad;
    if (any.UnpackTo(&retry)) d.retry = retry;
  }
  return d;
}

// The field violation of an INVALID_ARGUMENT, after checking the common parts.
std::string ViolatedField(const grpc::Status& status, const std::string& reason) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  const Decoded d = Decode(status);
  EXPECT_EQ(d.status.code(), static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
  EXPECT_EQ(d.status.message(), status.error_message());
  EXPECT_FALSE(d.retry.has_value()) << "a bad request does not get better by waiting";
  if (!d.info || !d.bad_request || d.bad_request->field_violations_size() != 1) {
    ADD_FAILURE() << "ErrorInfo and one field violation expected: " << d.status.DebugString();
    return "";
  }
  EXPECT_EQ(d.info->domain(), "graphopt.dev");
  EXPECT_EQ(d.info->reason(), reason) << status.error_message();
  const auto& violation = d.bad_request->field_violations(0);
  EXPECT_EQ(violation.description(), status.error_message());
  if (!violation.field().empty()) {
    EXPECT_EQ(d.info->metadata().at("field"), violation.field());
  }
  return violation.field();
}

TEST_F(ServerE2eTest, InvalidArgumentsNameTheFieldInBadRequest) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  v1::Job job;

  auto bad_target = JobRequest(model.digest());
  bad_target.mutable_options()->set_target("ort-cpu");
  grpc::Status st = CreateJob(*stub, bad_target, &job);
  EXPECT_NE(st.error_message().find("unknown target 'ort-cpu'"), std::string::npos);
  EXPECT_EQ(ViolatedField(st, "UNKNOWN_TARGET"), "options.target");

  auto bad_pass = JobRequest(model.digest());
  bad_pass.mutable_options()->add_disable_passes("no_such_pass");
  EXPECT_EQ(ViolatedField(CreateJob(*stub, bad_pass, &job), "UNKNOWN_PASS"),
            "options.disable_passes");
  auto both = JobRequest(model.digest());
  both.mutable_options()->add_enable_passes("fold_constants");
  both.mutable_options()->add_disable_passes("fold_constants");
  st = CreateJob(*stub, both, &job);
  EXPECT_NE(st.error_message().find("both enabled and disabled"), std::string::npos);
  EXPECT_EQ(ViolatedField(st, "CONFLICTING_PASSES"), "options.disable_passes");
  auto bad_atol = JobRequest(model.digest());
  bad_atol.mutable_options()->set_atol(-1);
  EXPECT_EQ(ViolatedField(CreateJob(*stub, bad_atol, &job), "INVALID_TOLERANCE"), "options.atol");
  auto long_target = JobRequest(model.digest());
  long_target.mutable_options()->set_target(std::string(300, 'x'));
  EXPECT_EQ(ViolatedField(CreateJob(*stub, long_target, &job), "FIELD_TOO_LONG"), "options.target");
  EXPECT_EQ(ViolatedField(CreateJob(*stub, JobRequest("not-a-digest"), &job), "INVALID_DIGEST"),
            "model_digest");

  grpc::ClientContext context;
  v1::ListJobsRequest list;
  list.set_page_token("garbage");
  v1::ListJobsResponse page;
  EXPECT_EQ(ViolatedField(stub->ListJobs(&context, list, &page), "INVALID_PAGE_TOKEN"),
            "page_token");

  // A streaming call's refusal carries them too.
  v1::Model refused;
  EXPECT_EQ(ViolatedField(UploadBytes(*stub, "this is not protobuf", "bogus.onnx", &refused),
                          "INVALID_MODEL"),
            "chunk");
}

TEST_F(ServerE2eTest, NotFoundNamesTheJobInErrorInfo) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Job job;
  const grpc::Status st = GetJob(*stub, "job-0123456789abcdef", &job);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  const Decoded d = Decode(st);
  ASSERT_TRUE(d.info);
  EXPECT_EQ(d.info->reason(), "JOB_NOT_FOUND");
  EXPECT_EQ(d.info->domain(), "graphopt.dev");
  EXPECT_EQ(d.info->metadata().at("jobId"), "job-0123456789abcdef");
  EXPECT_FALSE(d.bad_request.has_value());
  EXPECT_FALSE(d.retry.has_value());

  grpc::ClientContext context;
  v1::GetModelRequest request;
  request.set_digest("sha256:" + std::string(64, '0'));
  v1::Model model;
  const grpc::Status missing = stub->GetModel(&context, request, &model);
  ASSERT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND) << missing.error_message();
  const Decoded m = Decode(missing);
  ASSERT_TRUE(m.info);
  EXPECT_EQ(m.info->reason(), "MODEL_NOT_FOUND");
  EXPECT_EQ(m.info->metadata().at("digest"), request.digest());
}

TEST_F(ServerE2eTest, FullQueueSaysWhenToRetry) {
  auto server = ServerProcess::Start(
      DataDir(), {"--workers", "1", "--queue-size", "1", "--debug-pass-delay-ms", "400"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  v1::Job running, waiting, refused;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &running).ok());
  ASSERT_TRUE(WaitForRunningPass(*stub, running.id()));
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest(), "basic", true), &waiting).ok());
  const grpc::Status full = CreateJob(*stub, JobRequest(model.digest(), "basic", true), &refused);
  ASSERT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  const Decoded d = Decode(full);
  EXPECT_EQ(d.status.code(), static_cast<int>(grpc::StatusCode::RESOURCE_EXHAUSTED));
  ASSERT_TRUE(d.info);
  EXPECT_EQ(d.info->reason(), "QUEUE_FULL");
  EXPECT_EQ(d.info->domain(), "graphopt.dev");
  ASSERT_TRUE(d.retry) << d.status.DebugString();
  EXPECT_EQ(d.retry->retry_delay().seconds(), 5);
  EXPECT_FALSE(d.bad_request.has_value());
  CancelJob(*stub, running.id(), &running);
  CancelJob(*stub, waiting.id(), &waiting);
}

TEST_F(ServerE2eTest, OversizeUploadIsResourceExhaustedWithoutRetryInfo) {
  auto server = ServerProcess::Start(DataDir(), {"--max-upload-bytes", "1KB"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  const grpc::Status st = UploadBytes(*stub, std::string(4096, 'x'), "big.onnx", &model);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  const Decoded d = Decode(st);
  ASSERT_TRUE(d.info);
  EXPECT_EQ(d.info->reason(), "UPLOAD_TOO_LARGE");
  EXPECT_FALSE(d.retry.has_value()) << "the same upload never fits";
}

// The table against the real producers of the messages, so a reworded message that no longer
// matches its row fails here rather than silently losing its reason.
TEST(ErrorDetails, ClassifiesWhatTheProducersSay) {
  PipelineOptions options;
  options.target = "ort-cpu";
  auto classify = [](const Status& status) {
    grpc::Status g = server::ToGrpcStatus(status);
    return server::ClassifyError(g.error_code(), g.error_message());
  };
  auto d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "UNKNOWN_TARGET");
  EXPECT_EQ(d.field, "options.target");
  options.target = "generic";
  options.enable = {"no_such_pass"};
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "UNKNOWN_PASS");
  EXPECT_EQ(d.field, "options.enable_passes");
  options.enable = {};
  options.dims = {{"batch", 0}};
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "INVALID_DIM");
  EXPECT_EQ(d.field, "options.dims");
  options.dims = {};
  options.verify_options.rtol = -1;
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.field, "options.rtol");
  options.verify_options.rtol = 1e-3;
  options.target = "cpu";
  options.precision = "fp16";
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "PRECISION_NOT_SUPPORTED");
  EXPECT_EQ(d.field, "options.precision");
  options.target = "cuda";
  options.quantize = "dynamic-int8";
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "CONFLICTING_CONVERSIONS");
  options.precision = "";
  options.quantize = "int2";
  d = classify(ValidatePipelineOptions(options));
  EXPECT_EQ(d.reason, "UNKNOWN_QUANTIZATION");
  EXPECT_EQ(d.field, "options.quantize");
  options.quantize = "";

  v1::CreateJobRequest request;
  (*request.mutable_external_data())[std::string(5000, 'w')] = "sha256:x";
  d = classify(server::CheckCreateJobRequest(request));
  EXPECT_EQ(d.reason, "FIELD_TOO_LONG");
  EXPECT_EQ(d.field, "external_data");

  // Names, labels and selectors, in the words of resource_labels.h.
  v1::UploadModelRequest::Metadata metadata;
  (*metadata.mutable_labels())["_bad"] = "x";
  d = classify(server::CheckModelIdentity(metadata));
  EXPECT_EQ(d.reason, "INVALID_LABELS");
  EXPECT_EQ(d.field, "metadata.labels");
  metadata.Clear();
  metadata.set_name("no spaces allowed");
  d = classify(server::CheckModelIdentity(metadata));
  EXPECT_EQ(d.reason, "INVALID_MODEL_NAME");
  EXPECT_EQ(d.field, "metadata.name");
  d = classify(server::SelectorFromProto("team=a=b").status());
  EXPECT_EQ(d.reason, "INVALID_LABEL_SELECTOR");
  EXPECT_EQ(d.field, "label_selector");
  std::map<std::string, std::string> labels = {{"", "x"}};
  d = classify(InvalidArgument(CheckLabels(labels, "labels")));
  EXPECT_EQ(d.reason, "INVALID_LABELS");
  EXPECT_EQ(d.field, "labels");

  // A message starting with a field of a nested request message gets its parent's path.
  d = server::ClassifyError(grpc::StatusCode::INVALID_ARGUMENT,
                            "declared_size must not be negative");
  EXPECT_EQ(d.field, "metadata.declared_size");
  // Not a field: the request as a whole.
  d = server::ClassifyError(grpc::StatusCode::INVALID_ARGUMENT, "the request is odd");
  EXPECT_EQ(d.reason, "INVALID_ARGUMENT");
  EXPECT_EQ(d.field, "");
  d = server::ClassifyError(grpc::StatusCode::UNAVAILABLE,
                            "the server is shutting down; retry elsewhere");
  EXPECT_EQ(d.reason, "SHUTTING_DOWN");
  ASSERT_TRUE(d.retry_delay);
  EXPECT_EQ(d.retry_delay->count(), 1000);
  d = server::ClassifyError(grpc::StatusCode::INTERNAL, "disk on fire");
  EXPECT_EQ(d.reason, "INTERNAL");
  EXPECT_FALSE(d.field || d.retry_delay);
}

}  // namespace
}  // namespace graphopt::testing
