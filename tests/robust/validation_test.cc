// Validation up front (issue 15, item 6): invalid models are refused by the loader with the
// checker's reason (CLI exit 2, server INVALID_ARGUMENT) before any pass; "nesting too deep";
// external data that is not a regular file; numeric options that are not finite or in range.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <limits>

#include "optimizer/io/model_io.h"
#include "optimizer/pipeline.h"
#include "optimizer/util/onnx_check.h"
#include "robust/hostile_models.h"
#include "server/e2e_fixture.h"
#include "server/server_process.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

// The loader's refusal of `bytes`: kInvalidArgument with a message containing `reason`.
void ExpectRefused(const std::string& bytes, const std::string& reason) {
  auto model = LoadModelFromBytes(bytes);
  ASSERT_FALSE(model.ok()) << "the model loaded";
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << model.status().ToString();
  EXPECT_NE(model.status().message().find(reason), std::string::npos) << model.status().message();
}

TEST(Validation, WrongElementTypesAreRefusedWithTheCheckersReason) {
  ExpectRefused(WrongElementTypeModelBytes(), "the ONNX checker refused the model");
  ExpectRefused(WrongElementTypeModelBytes(),
                "(op_type:Add, node name: y_node): B has inconsistent type tensor(int64)");
}

TEST(Validation, ImpossibleReshapeIsRefusedNamingTheNodeAndTheCounts) {
  ExpectRefused(ImpossibleReshapeModelBytes(),
                "Reshape 'y_node' cannot reshape [2,3] (6 elements) to [7] (7 elements)");
}

TEST(Validation, OpsetNewerThanTheExecutorIsRefused) {
  ExpectRefused(ReluModelBytes(99), "opset 99 of domain '' is newer than graphopt supports (27)");
  ExpectRefused(ReluModelBytes(kLatestSupportedOpset + 1),
                "opset 28 of domain '' is newer than graphopt supports (27)");
}

TEST(Validation, OpsetsBeyondTheOnnxLibraryKeepTheStructuralChecks) {
  // ONNX 1.12 knows opsets up to 17; graphopt runs up to 27.
  for (int64_t opset : {17, 18, 22, kLatestSupportedOpset}) {
    auto model = LoadModelFromBytes(ReluModelBytes(opset));
    ASSERT_TRUE(model.ok()) << "opset " << opset << ": " << model.status().ToString();
    EXPECT_EQ(CountOp(**model, "Relu"), 1);
  }
  // ReduceMean-18 takes its axes as an input; checked against ReduceMean-13 it would be refused.
  auto reduce = LoadModelFromBytes(ReduceMeanOpset18ModelBytes());
  ASSERT_TRUE(reduce.ok()) << reduce.status().ToString();
  EXPECT_EQ(CountOp(**reduce, "ReduceMean"), 1);
}

TEST(Validation, NestingUpToTheLimitLoads) {
  auto model = LoadModelFromBytes(NestedIfModelBytes(kMaxSubgraphNesting));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(CountOp(**model, "If"), 1);  // the top level holds one If; the rest nest inside
}

TEST(Validation, NestingTooDeepIsRefusedWithItsDepth) {
  // Just past the limit, well past it (protobuf parses it with the raised recursion limit), and
  // past what protobuf can parse at all (the depth then comes from the wire-format scan).
  for (int depth : {kMaxSubgraphNesting + 1, 40, 100, 1000}) {
    ExpectRefused(NestedIfModelBytes(depth),
                  "nesting too deep: subgraphs (If/Loop/Scan bodies) nest " +
                      std::to_string(depth) + " levels, graphopt accepts at most 16");
  }
}

TEST(Validation, TruncatedBytesAreStillNotOnnx) {
  std::string bytes = NestedIfModelBytes(100);
  bytes.resize(bytes.size() / 2);
  ExpectRefused(bytes, "protobuf parse failed; truncated or not ONNX");
}

class ExternalDataTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  std::string WriteModel(const std::string& location) {
    const std::string path = dir_ + "/model.onnx";
    WriteFileBytes(path, ExternalWeightModelBytes(location));
    return path;
  }
  std::string dir_;
};

TEST_F(ExternalDataTest, RegularFileLoads) {
  const float w[2] = {1.5f, -2.0f};
  WriteFileBytes(dir_ + "/w.bin", std::string(reinterpret_cast<const char*>(w), sizeof(w)));
  auto model = LoadModel(WriteModel("w.bin"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(CountOp(**model, "Add"), 1);
}

TEST_F(ExternalDataTest, FifoAndDirectoryAreRefusedWithoutOpening) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo.bin").c_str(), 0600), 0);
  std::filesystem::create_directory(dir_ + "/folder.bin");
  // Opening the FIFO would block this test until a writer came: reaching the assertions at all
  // shows it was not opened. (A device outside the folder is refused as escaping it.)
  for (const std::string location : {"fifo.bin", "folder.bin"}) {
    auto model = LoadModel(WriteModel(location));
    ASSERT_FALSE(model.ok()) << location;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << model.status().ToString();
    EXPECT_NE(
        model.status().message().find("external data '" + location + "' is not a regular file"),
        std::string::npos)
        << model.status().message();
  }
}

TEST_F(ExternalDataTest, CliRefusesAFifoWithExitTwoInsteadOfHanging) {
  ASSERT_EQ(mkfifo((dir_ + "/fifo.bin").c_str(), 0600), 0);
  const std::string model = WriteModel("fifo.bin");
  std::string out, err;
  // `timeout` ends a hang with 124.
  const int rc = RunCommand(
      "timeout 60 " + CliPath() + " optimize " + model + " -o " + dir_ + "/out.onnx --timeout 0",
      &out, &err);
  EXPECT_EQ(rc, 2) << out << err;
  EXPECT_NE(err.find("external data 'fifo.bin' is not a regular file"), std::string::npos) << err;
}

TEST(Validation, ModelPathThatIsNotARegularFileIsRefused) {
  const std::string dir = TempDir();
  ASSERT_EQ(mkfifo((dir + "/model.onnx").c_str(), 0600), 0);
  auto model = LoadModel(dir + "/model.onnx");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(model.status().message().find("is not a regular file"), std::string::npos)
      << model.status().message();
}

class ValidationCliTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir(); }
  std::string Write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    WriteFileBytes(path, bytes);
    return path;
  }
  int Cli(const std::string& args) { return RunCommand(CliPath() + " " + args, &out_, &err_); }
  std::string dir_, out_, err_;
};

TEST_F(ValidationCliTest, InvalidModelsExitTwoWithTheReasonBeforeAnyPass) {
  const struct {
    std::string name, bytes, reason;
  } cases[] = {
      {"types.onnx", WrongElementTypeModelBytes(), "B has inconsistent type tensor(int64)"},
      {"reshape.onnx", ImpossibleReshapeModelBytes(), "cannot reshape [2,3] (6 elements) to [7]"},
      {"opset99.onnx", ReluModelBytes(99), "opset 99 of domain '' is newer than graphopt supports"},
      {"deep.onnx", NestedIfModelBytes(40), "nesting too deep"},
  };
  for (const auto& c : cases) {
    const std::string model = Write(c.name, c.bytes);
    EXPECT_EQ(Cli("optimize " + model + " -o " + dir_ + "/out.onnx"), 2) << c.name << out_ << err_;
    EXPECT_NE(err_.find(c.reason), std::string::npos) << c.name << ": " << err_;
    EXPECT_EQ(out_.find("verification skipped"), std::string::npos) << c.name << ": " << out_;
    EXPECT_FALSE(std::filesystem::exists(dir_ + "/out.onnx")) << c.name;
    EXPECT_EQ(Cli("run " + model), 2) << c.name << out_ << err_;
    EXPECT_NE(err_.find(c.reason), std::string::npos) << c.name << ": " << err_;
  }
}

TEST_F(ValidationCliTest, NumericOptionsMustBeFiniteAndInRange) {
  const std::string model = Write("relu.onnx", ReluModelBytes(17));
  const std::string optimize = "optimize " + model + " -o " + dir_ + "/out.onnx ";
  const struct {
    std::string args, reason;
  } cases[] = {
      // Tolerances: the check the server makes too (ValidatePipelineOptions), in its words.
      {optimize + "--atol nan", "atol must be a finite number >= 0"},
      {optimize + "--atol inf", "atol must be a finite number >= 0"},
      {optimize + "--rtol=-1", "rtol must be a finite number >= 0"},
      {optimize + "--rtol 1e999", "rtol must be a finite number >= 0"},
      {optimize + "--timeout inf", "--timeout: 'inf' is not a finite number in [0, 1e+07]"},
      {optimize + "--timeout nan", "--timeout: 'nan' is not a finite number in [0, 1e+07]"},
      {optimize + "--timeout=-5", "--timeout: '-5' is not a finite number in [0, 1e+07]"},
      {"verify " + model + " " + model + " --atol nan", "--atol: 'nan' is not a finite number"},
      {"verify " + model + " " + model + " --rtol=-0.5", "--rtol: '-0.5' is not a finite number"},
      {"run " + model + " --repeat 0", "--repeat"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(Cli(c.args), 2) << c.args << "\n" << out_ << err_;
    EXPECT_NE(err_.find(c.reason), std::string::npos) << c.args << ": " << err_;
  }
  // The same options in range are accepted, and the model optimizes and verifies.
  EXPECT_EQ(Cli(optimize + "--atol 0 --rtol 0.5 --timeout 60"), 0) << out_ << err_;
  const size_t at = out_.find("\nverification ");
  ASSERT_NE(at, std::string::npos) << out_;
  const std::string line = out_.substr(at + 1, out_.find('\n', at + 1) - at - 1);
  EXPECT_NE(line.find("passed"), std::string::npos) << line;
}

TEST(Validation, PipelineOptionsRefuseNonFiniteTolerances) {
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    PipelineOptions options;
    options.verify_options.atol = bad;
    Status status = ValidatePipelineOptions(options);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("atol must be a finite number >= 0"), std::string::npos)
        << status.message();
    options.verify_options.atol = 1e-4;
    options.verify_options.rtol = bad;
    status = ValidatePipelineOptions(options);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("rtol must be a finite number >= 0"), std::string::npos)
        << status.message();
  }
}

class ValidationServerTest : public ServerE2eTest {};

TEST_F(ValidationServerTest, UploadsAndJobsAreRefusedWithInvalidArgument) {
  auto server = ServerProcess::Start(DataDir(), {"--isolation", "thread"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  const struct {
    std::string name, bytes, reason;
  } invalid[] = {
      {"types.onnx", WrongElementTypeModelBytes(), "B has inconsistent type tensor(int64)"},
      {"reshape.onnx", ImpossibleReshapeModelBytes(), "cannot reshape [2,3] (6 elements) to [7]"},
      {"opset99.onnx", ReluModelBytes(99),
       "opset 99 of domain '' is newer than graphopt supports (27)"},
      {"deep40.onnx", NestedIfModelBytes(40), "nesting too deep"},
      {"deep1000.onnx", NestedIfModelBytes(1000), "nest 1000 levels, graphopt accepts at most 16"},
  };
  for (const auto& c : invalid) {
    v1::Model model;
    grpc::Status status = UploadBytes(*stub, c.bytes, c.name, &model);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_NE(status.error_message().find(c.reason), std::string::npos)
        << c.name << ": " << status.error_message();
  }

  // A valid model at an opset ONNX 1.12 does not know is accepted; tolerances that are not
  // finite are refused at CreateJob.
  v1::Model model;
  ASSERT_TRUE(UploadBytes(*stub, ReduceMeanOpset18ModelBytes(), "reduce18.onnx", &model).ok());
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -1.0}) {
    v1::CreateJobRequest request = JobRequest(model.digest());
    request.mutable_options()->set_atol(bad);
    v1::Job job;
    grpc::Status status = CreateJob(*stub, request, &job);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << bad;
    EXPECT_NE(status.error_message().find("atol must be a finite number >= 0"), std::string::npos)
        << status.error_message();
  }
  v1::Job job;
  ASSERT_TRUE(CreateJob(*stub, JobRequest(model.digest()), &job).ok());
  const v1::Job done = WaitForFinish(*stub, job.id());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED) << done.error().message();
}

}  // namespace
}  // namespace graphopt::testing
