// End to end against a real graphopt-server: upload -> job -> watch -> download, identical to
// `graphopt optimize`; models with external data; health.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "server/e2e_fixture.h"
#include "server/store/sha256.h"

namespace graphopt::testing {
namespace {

namespace v1 = graphopt::v1;

TEST_F(ServerE2eTest, SqueezenetBasicMatchesCliByteForByte) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "2"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  EXPECT_EQ(HealthStatus(server->channel()), 1);
  EXPECT_EQ(HealthStatus(server->channel(), "graphopt.v1.OptimizerService"), 1);

  const std::string model_path = SharedModel("squeezenet1_1.raw.onnx");
  const std::string model_bytes = ReadFileBytes(model_path);
  v1::Model model;
  grpc::Status upload = UploadFile(*stub, model_path, &model);
  ASSERT_TRUE(upload.ok()) << upload.error_message();
  EXPECT_EQ(model.digest(), "sha256:" + graphopt::server::Sha256Hex(model_bytes));
  EXPECT_EQ(model.size_bytes(), static_cast<int64_t>(model_bytes.size()));

  // Uploading the same bytes again stores them once and names the same model.
  v1::Model again;
  ASSERT_TRUE(UploadFile(*stub, model_path, &again).ok());
  EXPECT_EQ(again.digest(), model.digest());

  v1::Job job;
  grpc::Status created = CreateJob(*stub, JobRequest(model.digest(), "basic"), &job);
  ASSERT_TRUE(created.ok()) << created.error_message();
  EXPECT_FALSE(job.id().empty());
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);

  std::vector<v1::JobEvent> events;
  grpc::Status watched = WatchJob(*stub, job.id(), &events);
  ASSERT_TRUE(watched.ok()) << watched.error_message();
  ASSERT_GE(events.size(), 1u);
  EXPECT_EQ(events.front().type(), v1::JobEvent::TYPE_SNAPSHOT);
  EXPECT_EQ(events.front().job().id(), job.id());
  // The stream ends with the terminal event (or with a terminal snapshot for a late watcher).
  if (events.size() > 1) {
    EXPECT_EQ(events.back().type(), v1::JobEvent::TYPE_SUCCEEDED);
  }
  EXPECT_EQ(events.back().state(), v1::JOB_STATE_SUCCEEDED) << server->Log();
  EXPECT_EQ(events.back().job().state(), v1::JOB_STATE_SUCCEEDED);
  int passes = 0;
  for (const auto& e : events) {
    EXPECT_EQ(e.job_id(), job.id());
    EXPECT_GT(e.time().seconds(), 0);
    if (e.type() == v1::JobEvent::TYPE_PASS) {
      ++passes;
      EXPECT_FALSE(e.progress().pass_name().empty());
      EXPECT_GT(e.progress().pass_count(), 0);
      EXPECT_GE(e.progress().round(), 1);  // the fixed-point round the pass runs in
    }
  }
  // The watch may start after the job did; passes are reported unless it was already over.
  if (events.front().state() != v1::JOB_STATE_SUCCEEDED) {
    EXPECT_GT(passes, 0);
  }

  v1::Job done;
  ASSERT_TRUE(GetJob(*stub, job.id(), &done).ok());
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message();
  EXPECT_EQ(done.report().verification_status(), "passed");
  EXPECT_GT(done.report().nodes_before(), 0);
  EXPECT_LE(done.report().nodes_after(), done.report().nodes_before());
  EXPECT_EQ(done.attempts(), 1);

  std::string artifact;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_MODEL, &artifact).ok());
  EXPECT_EQ(static_cast<int64_t>(artifact.size()), done.artifact_size_bytes());
  EXPECT_EQ("sha256:" + graphopt::server::Sha256Hex(artifact), done.artifact_digest());

  std::string report_text;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_REPORT, &report_text).ok());
  auto report = nlohmann::json::parse(report_text);
  EXPECT_EQ(report["model"]["nodes_before"].get<int64_t>(), done.report().nodes_before());
  EXPECT_EQ(report["model"]["nodes_after"].get<int64_t>(), done.report().nodes_after());
  EXPECT_EQ(report["verification"]["status"], "passed");
  // The same report as one HTML page.
  std::string html;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_REPORT_HTML, &html).ok());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u) << html.substr(0, 100);
  EXPECT_NE(html.find("<title>graphopt report</title>"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // An unknown kind is the caller's error, whatever the job's state.
  std::string unknown;
  EXPECT_EQ(Download(*stub, job.id(), static_cast<v1::ArtifactKind>(9), &unknown).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  // The same pipeline in process, through the CLI.
  const std::string cli_out = root_ + "/cli.onnx";
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model_path + " -o " + cli_out +
                           " --level basic --report " + root_ + "/cli_report.json",
                       &out, &err),
            0)
      << err;
  const std::string cli_bytes = ReadFileBytes(cli_out);
  ASSERT_FALSE(cli_bytes.empty());
  EXPECT_TRUE(artifact == cli_bytes)
      << "server artifact (" << artifact.size() << " bytes) differs from the CLI's ("
      << cli_bytes.size() << " bytes)";
  auto loaded = LoadModelFromBytes(artifact);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
}

// A bit-exact verification of resnet18 fails (Conv+BatchNorm folding rounds differently): the
// failed job keeps its report, whose culprit names the first failing rewrite, as the CLI's does.
TEST_F(ServerE2eTest, FailedVerificationKeepsTheReportWithItsCulprit) {
  auto server = ServerProcess::Start(DataDir(), {"--workers", "1"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, SharedModel("resnet18.raw.onnx"), &model).ok());
  v1::CreateJobRequest request = JobRequest(model.digest(), "extended");
  request.mutable_options()->set_target("cpu");
  (*request.mutable_options()->mutable_dims())["batch"] = 1;
  request.mutable_options()->set_atol(0);
  request.mutable_options()->set_rtol(0);
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, request, &job).ok());
  const v1::Job done = WaitForFinish(*stub, job.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_FAILED) << server->Log();
  EXPECT_EQ(done.error().code(), "FAILED_PRECONDITION");
  EXPECT_NE(done.error().message().find("first failing rewrite"), std::string::npos)
      << done.error().message();
  EXPECT_TRUE(done.artifact_digest().empty());
  ASSERT_FALSE(done.report_digest().empty());
  EXPECT_EQ(done.report().verification_status(), "failed");
  EXPECT_GT(done.report().nodes_before(), done.report().nodes_after());

  std::string report_text;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_REPORT, &report_text).ok());
  EXPECT_EQ(static_cast<int64_t>(report_text.size()), done.report_size_bytes());
  const auto report = nlohmann::json::parse(report_text);
  EXPECT_EQ(report["verification"]["status"], "failed");
  ASSERT_TRUE(report["verification"].contains("culprit")) << report["verification"].dump(1);
  const auto& culprit = report["verification"]["culprit"];
  EXPECT_GT(culprit["index"].get<int64_t>(), 0);
  EXPECT_FALSE(culprit["pass"].get<std::string>().empty());
  EXPECT_FALSE(culprit["rule"].get<std::string>().empty());
  EXPECT_FALSE(culprit["nodes"].empty());
  std::string html;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_REPORT_HTML, &html).ok());
  EXPECT_NE(html.find("id=\"culprit\""), std::string::npos);
  // The model itself does not exist.
  std::string artifact;
  const grpc::Status no_model = Download(*stub, job.id(), v1::ARTIFACT_KIND_MODEL, &artifact);
  EXPECT_EQ(no_model.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(ServerE2eTest, ModelWithExternalDataUploadedAsSeparateFiles) {
  // A model whose initializers live in a side file, as exporters write large models.
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {1, 256});
  std::vector<float> weights(256 * 64);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>((i % 17) - 8) / 16;
  auto* w = b.Floats("w", {256, 64}, weights);
  auto* y = b.Op("MatMul", {x, w});
  b.Output(b.Op("Identity", {y}));
  auto built = b.Build();
  ASSERT_TRUE(ir::InferShapes(*built).ok());
  const std::string folder = root_ + "/external";
  std::filesystem::create_directories(folder);
  SaveOptions save;
  save.external_data = true;
  ASSERT_TRUE(SaveModel(*built, folder + "/big.onnx", save).ok());
  const std::string data_path = folder + "/big.onnx.data";
  ASSERT_TRUE(std::filesystem::exists(data_path));

  auto server = ServerProcess::Start(DataDir());
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model, data;
  grpc::Status main_upload = UploadFile(*stub, folder + "/big.onnx", &model);
  ASSERT_TRUE(main_upload.ok()) << main_upload.error_message();
  grpc::Status up = UploadFile(*stub, data_path, &data, v1::FILE_KIND_EXTERNAL_DATA);
  ASSERT_TRUE(up.ok()) << up.error_message();
  EXPECT_EQ(data.kind(), v1::FILE_KIND_EXTERNAL_DATA);

  // Without its data file the job fails (the model cannot be loaded), with a message.
  v1::Job missing;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest()), &missing).ok());
  v1::Job failed = WaitForFinish(*stub, missing.id());
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_FALSE(failed.error().message().empty());

  // Referencing a raw data upload as the model, or a model as data, is refused.
  v1::Job refused;
  EXPECT_EQ(CreateJob(*stub, JobRequest(data.digest()), &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  auto bad_location = JobRequest(model.digest());
  (*bad_location.mutable_external_data())["../big.onnx.data"] = data.digest();
  EXPECT_EQ(CreateJob(*stub, bad_location, &refused).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);

  auto request = JobRequest(model.digest());
  (*request.mutable_external_data())["big.onnx.data"] = data.digest();
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, request, &job).ok());
  v1::Job done = WaitForFinish(*stub, job.id());
  ASSERT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message() << server->Log();
  std::string artifact;
  ASSERT_TRUE(Download(*stub, job.id(), v1::ARTIFACT_KIND_MODEL, &artifact).ok());

  const std::string cli_out = root_ + "/external_cli.onnx";
  std::string err;
  ASSERT_EQ(RunCommand(
                CliPath() + " optimize " + folder + "/big.onnx -o " + cli_out + " --level basic -q",
                nullptr, &err),
            0)
      << err;
  EXPECT_TRUE(artifact == ReadFileBytes(cli_out));
  // The artifact is self-contained: it loads from bytes alone.
  EXPECT_TRUE(LoadModelFromBytes(artifact).ok());
}

}  // namespace
}  // namespace graphopt::testing
