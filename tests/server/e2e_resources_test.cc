// End to end over gRPC (issue 17): model names and labels, listing by label, deletes refused
// while a job runs, deletes that reclaim the blob files, retention, opaque page tokens.
#include <filesystem>
#include <thread>

#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;
namespace fs = std::filesystem;

grpc::Status UploadNamed(v1::OptimizerService::Stub& stub, const std::string& path,
                         const std::string& name, const std::string& version,
                         const std::map<std::string, std::string>& labels, v1::Model* model) {
  const std::string bytes = ReadFileBytes(path);
  grpc::ClientContext context;
  auto writer = stub.UploadModel(&context, model);
  v1::UploadModelRequest first;
  auto* metadata = first.mutable_metadata();
  metadata->set_file_name(fs::path(path).filename().string());
  metadata->set_declared_size(static_cast<int64_t>(bytes.size()));
  metadata->set_name(name);
  metadata->set_version(version);
  metadata->mutable_labels()->insert(labels.begin(), labels.end());
  writer->Write(first);
  v1::UploadModelRequest chunk;
  chunk.set_chunk(bytes);
  writer->Write(chunk);
  writer->WritesDone();
  return writer->Finish();
}

// Bytes and count of the files in the file blob store.
std::pair<int64_t, int> BlobFiles(const std::string& data_dir) {
  int64_t bytes = 0;
  int files = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(data_dir + "/blobs/sha256", ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    bytes += static_cast<int64_t>(it->file_size());
    ++files;
  }
  return {bytes, files};
}

std::vector<std::string> ListJobIds(v1::OptimizerService::Stub& stub, v1::ListJobsRequest request,
                                    grpc::StatusCode* code = nullptr) {
  grpc::ClientContext context;
  v1::ListJobsResponse response;
  grpc::Status st = stub.ListJobs(&context, request, &response);
  if (code) *code = st.error_code();
  std::vector<std::string> ids;
  for (const auto& job : response.jobs()) ids.push_back(job.id());
  return ids;
}

TEST_F(ServerE2eTest, NamesLabelsDeletesAndReclaimedBytes) {
  // One worker with slow passes, so a job is still running when its model's delete is tried;
  // no grace period, so deletes free the bytes at once.
  auto server = ServerProcess::Start(
      DataDir(), {"--workers", "1", "--debug-pass-delay-ms", "150", "--gc-grace", "0ms"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();

  v1::Model model;
  ASSERT_TRUE(UploadNamed(*stub, WriteTinyModel("a.onnx", 1), "vision/tiny", "1.0",
                          {{"team", "vision"}}, &model)
                  .ok());
  EXPECT_EQ(model.name(), "vision/tiny");
  EXPECT_EQ(model.version(), "1.0");
  EXPECT_EQ(model.labels().at("team"), "vision");
  v1::Model other;
  grpc::Status taken =
      UploadNamed(*stub, WriteTinyModel("b.onnx", 2), "vision/tiny", "1.0", {}, &other);
  EXPECT_EQ(taken.error_code(), grpc::StatusCode::ALREADY_EXISTS) << taken.error_message();
  grpc::Status bad_label =
      UploadNamed(*stub, WriteTinyModel("b.onnx", 2), "x", "", {{"team", "a b"}}, &other);
  EXPECT_EQ(bad_label.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_label.error_message().find("metadata.labels"), std::string::npos);
  grpc::Status bad_name =
      UploadNamed(*stub, WriteTinyModel("b.onnx", 2), "bad name", "", {}, &other);
  EXPECT_EQ(bad_name.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(bad_name.error_message().find("metadata.name"), std::string::npos);
  ASSERT_TRUE(
      UploadNamed(*stub, WriteTinyModel("c.onnx", 3), "nlp/tiny", "2", {{"team", "nlp"}}, &other)
          .ok());

  {
    grpc::ClientContext context;
    v1::ListModelsRequest request;
    request.set_label_selector("team=vision");
    v1::ListModelsResponse response;
    ASSERT_TRUE(stub->ListModels(&context, request, &response).ok());
    ASSERT_EQ(response.models_size(), 1);
    EXPECT_EQ(response.models(0).digest(), model.digest());
    EXPECT_EQ(response.models(0).name(), "vision/tiny");
  }
  {
    grpc::ClientContext context;
    v1::GetModelRequest request;
    request.set_digest(other.digest());
    v1::Model got;
    ASSERT_TRUE(stub->GetModel(&context, request, &got).ok());
    EXPECT_EQ(got.name(), "nlp/tiny");
    EXPECT_EQ(got.labels().at("team"), "nlp");
  }

  // Two jobs with labels: one finishes, one is still running when the deletes are tried.
  auto labelled = [&](const std::string& digest, const std::string& exp) {
    v1::CreateJobRequest request = JobRequest(digest, "basic", /*fresh=*/true);
    (*request.mutable_labels())["exp"] = exp;
    return request;
  };
  v1::Job done;
  ASSERT_TRUE(CreateJob(*stub, labelled(other.digest(), "a"), &done).ok());
  EXPECT_EQ(done.labels().at("exp"), "a");
  EXPECT_EQ(done.model_name(), "nlp/tiny");
  EXPECT_EQ(done.model_version(), "2");
  done = WaitForFinish(*stub, done.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message();
  v1::Job running;
  ASSERT_TRUE(CreateJob(*stub, labelled(model.digest(), "b"), &running).ok());
  ASSERT_TRUE(WaitForRunningPass(*stub, running.id()));
  v1::CreateJobRequest bad_labels = labelled(model.digest(), "not ok");
  v1::Job refused;
  EXPECT_EQ(CreateJob(*stub, bad_labels, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  v1::ListJobsRequest by_label;
  by_label.set_label_selector("exp=a");
  EXPECT_EQ(ListJobIds(*stub, by_label), (std::vector<std::string>{done.id()}));
  by_label.set_label_selector("exp!=a");
  EXPECT_EQ(ListJobIds(*stub, by_label), (std::vector<std::string>{running.id()}));
  v1::ListJobsRequest by_model;
  by_model.set_model_name("vision/tiny");
  EXPECT_EQ(ListJobIds(*stub, by_model), (std::vector<std::string>{running.id()}));
  v1::ListJobsRequest bad_selector;
  bad_selector.set_label_selector("exp=a=b");
  grpc::StatusCode code;
  ListJobIds(*stub, bad_selector, &code);
  EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);

  {
    grpc::ClientContext context;
    v1::DeleteModelRequest request;
    request.set_digest(model.digest());
    v1::DeleteModelResponse response;
    EXPECT_EQ(stub->DeleteModel(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  {
    grpc::ClientContext context;
    v1::DeleteJobRequest request;
    request.set_job_id(running.id());
    v1::DeleteJobResponse response;
    EXPECT_EQ(stub->DeleteJob(&context, request, &response).error_code(),
              grpc::StatusCode::FAILED_PRECONDITION);
  }
  v1::Job cancelled;
  ASSERT_TRUE(CancelJob(*stub, running.id(), &cancelled).ok());
  ASSERT_NE(WaitForFinish(*stub, running.id()).state(), v1::JOB_STATE_RUNNING);

  // Every delete now goes through, and the blob files go with it.
  const auto [bytes_before, files_before] = BlobFiles(DataDir());
  ASSERT_GT(files_before, 2);  // two models, the artifact and reports
  int64_t reclaimed = 0;
  for (const std::string& id : {done.id(), running.id()}) {
    grpc::ClientContext context;
    v1::DeleteJobRequest request;
    request.set_job_id(id);
    v1::DeleteJobResponse response;
    grpc::Status st = stub->DeleteJob(&context, request, &response);
    ASSERT_TRUE(st.ok()) << st.error_message();
    reclaimed += response.reclaimed_bytes();
    v1::Job gone;
    EXPECT_EQ(GetJob(*stub, id, &gone).error_code(), grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_GT(reclaimed, 0);  // the succeeded job's artifact and reports
  for (const std::string& digest : {model.digest(), other.digest()}) {
    grpc::ClientContext context;
    v1::DeleteModelRequest request;
    request.set_digest(digest);
    v1::DeleteModelResponse response;
    grpc::Status st = stub->DeleteModel(&context, request, &response);
    ASSERT_TRUE(st.ok()) << st.error_message();
    EXPECT_GT(response.reclaimed_bytes(), 0);
    reclaimed += response.reclaimed_bytes();
  }
  const auto [bytes_after, files_after] = BlobFiles(DataDir());
  EXPECT_EQ(files_after, 0);
  EXPECT_EQ(reclaimed, bytes_before - bytes_after);
  {
    grpc::ClientContext context;
    v1::ListModelsResponse response;
    ASSERT_TRUE(stub->ListModels(&context, v1::ListModelsRequest(), &response).ok());
    EXPECT_EQ(response.models_size(), 0);
  }
  v1::Job after;
  EXPECT_EQ(CreateJob(*stub, JobRequest(model.digest()), &after).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(ServerE2eTest, PageTokensAreOpaqueAndBoundToTheirFilters) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  std::set<std::string> created;
  for (int i = 0; i < 3; ++i) {
    v1::CreateJobRequest request = JobRequest(model.digest(), "basic", /*fresh=*/true);
    (*request.mutable_labels())["batch"] = "b1";
    v1::Job job;
    ASSERT_TRUE(CreateJob(*stub, request, &job).ok());
    created.insert(job.id());
  }
  std::set<std::string> listed;
  std::string token;
  v1::ListJobsRequest request;
  request.set_page_size(1);
  request.set_label_selector("batch=b1");
  for (int pages = 0; pages < 5; ++pages) {
    grpc::ClientContext context;
    request.set_page_token(token);
    v1::ListJobsResponse response;
    ASSERT_TRUE(stub->ListJobs(&context, request, &response).ok());
    for (const auto& job : response.jobs()) listed.insert(job.id());
    token = response.next_page_token();
    if (token.empty()) break;
    // Opaque: not a row number a client could compute.
    EXPECT_EQ(token.find_first_not_of("0123456789") == std::string::npos, false) << token;
    // Bound to the filters it came with, and to its own bytes.
    v1::ListJobsRequest other_filter = request;
    other_filter.set_label_selector("batch=b2");
    other_filter.set_page_token(token);
    grpc::StatusCode code;
    ListJobIds(*stub, other_filter, &code);
    EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
    v1::ListJobsRequest tampered = request;
    std::string edited = token;
    edited[edited.size() / 2] = edited[edited.size() / 2] == 'A' ? 'B' : 'A';
    tampered.set_page_token(edited);
    ListJobIds(*stub, tampered, &code);
    EXPECT_EQ(code, grpc::StatusCode::INVALID_ARGUMENT);
  }
  EXPECT_EQ(listed, created);
}

TEST_F(ServerE2eTest, RetentionDeletesOldFinishedJobsAndTheirArtifacts) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1", "--retention", "1s",
                                                 "--gc-interval", "200ms", "--gc-grace", "0ms"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 1), &model).ok());
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest()), &job).ok());
  job = WaitForFinish(*stub, job.id());
  ASSERT_EQ(job.state(), v1::JOB_STATE_SUCCEEDED);
  v1::Job gone;
  grpc::Status st = grpc::Status::OK;
  for (int i = 0; i < 100 && st.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    st = GetJob(*stub, job.id(), &gone);
  }
  EXPECT_EQ(st.error_code(), grpc::StatusCode::NOT_FOUND);
  // Its artifact and report went with it; the upload stays.
  const std::string artifact = job.artifact_digest().substr(7);
  EXPECT_FALSE(fs::exists(DataDir() + "/blobs/sha256/" + artifact.substr(0, 2) + "/" + artifact));
  EXPECT_EQ(BlobFiles(DataDir()).second, 1);
  grpc::ClientContext context;
  v1::GetModelRequest request;
  request.set_digest(model.digest());
  v1::Model kept;
  EXPECT_TRUE(stub->GetModel(&context, request, &kept).ok());
}

}  // namespace
}  // namespace graphopt::testing
