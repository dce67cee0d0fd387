// End to end: what UploadModel refuses (oversize, corrupt, digest mismatch, bad stream) and that
// the server keeps serving afterwards.
#include "server/e2e_fixture.h"
#include "server/store/sha256.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, OversizeUploadRefusedWithoutReadingItAll) {
  auto server = ServerProcess::Start(DataDir(), {"--max-upload-bytes", "1MB"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();

  // Declared too large: refused on the metadata message, before any chunk.
  {
    grpc::ClientContext context;
    v1::Model model;
    auto writer = stub->UploadModel(&context, &model);
    v1::UploadModelRequest request;
    request.mutable_metadata()->set_file_name("huge.onnx");
    request.mutable_metadata()->set_declared_size(int64_t{5} << 30);
    writer->Write(request);
    writer->WritesDone();
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_NE(st.error_message().find("1048576"), std::string::npos) << st.error_message();
  }
  // Size not declared: the server ends the call as soon as the limit is passed, so the client's
  // writes start failing long before 64 MiB have been sent.
  {
    grpc::ClientContext context;
    v1::Model model;
    auto writer = stub->UploadModel(&context, &model);
    v1::UploadModelRequest request;
    request.mutable_metadata()->set_file_name("stream.onnx");
    ASSERT_TRUE(writer->Write(request));
    const std::string chunk(256 * 1024, 'x');
    int64_t sent = 0;
    const int64_t total = int64_t{64} << 20;
    while (sent < total) {
      request.Clear();
      request.set_chunk(chunk);
      if (!writer->Write(request)) break;
      sent += static_cast<int64_t>(chunk.size());
    }
    grpc::Status st = writer->Finish();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
    EXPECT_LT(sent, total) << "the server read the whole oversize stream";
  }
  // Still serving, and a model under the limit is accepted.
  EXPECT_EQ(HealthStatus(server->channel()), 1);
  v1::Model small;
  EXPECT_TRUE(UploadFile(*stub, WriteTinyModel("small.onnx", 1), &small).ok());
}

TEST_F(ServerE2eTest, CorruptModelIsInvalidArgumentAndServerKeepsServing) {
  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;

  grpc::Status garbage = UploadBytes(*stub, std::string(4096, '\xff'), "garbage.onnx", &model);
  EXPECT_EQ(garbage.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << garbage.error_message();

  const std::string real = ReadFileBytes(SharedModel("squeezenet1_1.raw.onnx"));
  grpc::Status truncated = UploadBytes(*stub, real.substr(0, real.size() / 2), "half.onnx", &model);
  EXPECT_EQ(truncated.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  grpc::Status empty = UploadBytes(*stub, "", "empty.onnx", &model);
  EXPECT_EQ(empty.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string tiny = ReadFileBytes(WriteTinyModel("tiny.onnx", 1));
  grpc::Status mismatch =
      UploadBytes(*stub, tiny, "tiny.onnx", &model, v1::FILE_KIND_ONNX_MODEL, std::string(64, '0'));
  EXPECT_EQ(mismatch.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(mismatch.error_message().find("sha256"), std::string::npos);

  // A chunk before the metadata is a malformed stream.
  {
    grpc::ClientContext context;
    auto writer = stub->UploadModel(&context, &model);
    v1::UploadModelRequest request;
    request.set_chunk("abc");
    writer->Write(request);
    writer->WritesDone();
    EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  }

  // Still serving: health, and the right digest is accepted (with or without the prefix).
  EXPECT_EQ(HealthStatus(server->channel()), 1);
  const std::string hex = graphopt::server::Sha256Hex(tiny);
  grpc::Status ok = UploadBytes(*stub, tiny, "tiny.onnx", &model, v1::FILE_KIND_ONNX_MODEL, hex);
  ASSERT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(model.digest(), "sha256:" + hex);
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest()), &job).ok());
  EXPECT_EQ(WaitForFinish(*stub, job.id()).state(), v1::JOB_STATE_SUCCEEDED);
}

}  // namespace
}  // namespace graphopt::testing
