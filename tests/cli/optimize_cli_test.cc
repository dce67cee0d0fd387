// `graphopt optimize` as a user runs it: error paths, the report's keys, and every shared model
// at --level basic (checker, names and types kept, no Identity or no-ops left, outputs equal).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CliPath;
using testing::RunCommand;
using testing::SharedModel;
using testing::TempDir;

size_t Lines(const std::string& s) {
  size_t n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// Each bad input gives a non-zero exit and exactly one line on stderr naming the problem.
void ExpectCleanFailure(const std::string& args, const std::string& needle) {
  std::string out, err;
  const int rc = RunCommand(CliPath() + " " + args, &out, &err);
  EXPECT_NE(rc, 0) << args;
  EXPECT_NE(rc, -1) << "crashed: " << args;
  EXPECT_EQ(Lines(err), 1u) << args << "\n" << err;
  EXPECT_NE(err.find(needle), std::string::npos) << args << "\n" << err;
}

std::string WriteBytes(const std::string& bytes, const std::string& name) {
  const std::string path = TempDir() + "/" + name;
  std::ofstream f(path, std::ios::binary);
  f << bytes;
  return path;
}

TEST(OptimizeCli, BadInputsFailWithOneClearLine) {
  const std::string dir = TempDir();
  const std::string out = dir + "/out.onnx";
  ExpectCleanFailure("optimize " + dir + "/missing.onnx -o " + out, "does not exist");
  {
    std::ofstream f(dir + "/notonnx.onnx");
    f << "hello, I am text";
  }
  ExpectCleanFailure("optimize " + dir + "/notonnx.onnx -o " + out, "not a valid ONNX model");
  {
    std::ifstream in(SharedModel("squeezenet1_1.raw.onnx"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    std::ofstream f(dir + "/truncated.onnx", std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() * 2 / 3));
  }
  ExpectCleanFailure("optimize " + dir + "/truncated.onnx -o " + out, "not a valid ONNX model");
  ExpectCleanFailure("optimize " + WriteBytes(testing::TwoReluModelBytes("b", "a"), "cycle.onnx") + " -o " + out, "cycle");
  ExpectCleanFailure("optimize " + WriteBytes(testing::TwoReluModelBytes("x", "ghost"), "dangling.onnx") + " -o " + out,
                     "'ghost'");
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --level turbo",
                     "unknown level 'turbo'");
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --disable no_such_pass",
                     "unknown pass 'no_such_pass'");
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --target quantum",
                     "unknown target 'quantum'");
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --dim batch=zero",
                     "--dim");
  // Options are checked by the same function the server uses.
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --atol nan",
                     "atol must be a finite number >= 0");
  ExpectCleanFailure("optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " + out +
                         " --enable fold_constants --disable fold_constants",
                     "both enabled and disabled");
  EXPECT_FALSE(std::filesystem::exists(out));
}

// A verification failure is exit 1 (as in watch and verify), not 2, which means bad usage or
// input. With zero tolerances, folding BatchNormalization into Conv changes the rounding.
TEST(OptimizeCli, VerificationFailureExitsOneAndWritesNoModel) {
  const std::string out = TempDir() + "/exact.onnx";
  std::string stdout_text, err;
  const int rc = RunCommand(CliPath() + " optimize " + SharedModel("mobilenet_v2.raw.onnx") +
                                " -o " + out + " --level basic --dim batch=1 --atol 0 --rtol 0 -q",
                            &stdout_text, &err);
  EXPECT_EQ(rc, 1) << err;
  EXPECT_NE(err.find("verification failed"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(OptimizeCli, ReportHasTheDocumentedKeys) {
  const std::string dir = TempDir();
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " +
                           dir + "/o.onnx --level basic --dim batch=1 --report " + dir + "/r.json",
                       &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("Identity"), std::string::npos) << out;  // the table lists op types
  std::ifstream in(dir + "/r.json");
  auto j = nlohmann::json::parse(in);
  for (const char* key : {"level", "target", "model", "passes", "verification", "timing_ms"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  for (const char* key : {"nodes_before", "nodes_after", "ops_before", "ops_after", "bytes_before",
                          "bytes_after"}) {
    EXPECT_TRUE(j["model"].contains(key)) << key;
  }
  ASSERT_FALSE(j["passes"].empty());
  for (const char* key : {"name", "level", "applied", "nodes_before", "nodes_after", "time_ms"}) {
    EXPECT_TRUE(j["passes"][0].contains(key)) << key;
  }
  for (const char* key : {"load", "optimize", "verify", "save"}) {
    EXPECT_TRUE(j["timing_ms"].contains(key)) << key;
  }
  EXPECT_EQ(j["level"], "basic");
  EXPECT_EQ(j["target"], "generic");
  EXPECT_EQ(j["model"]["nodes_before"], 83);
  EXPECT_EQ(j["model"]["ops_before"]["Identity"], 18);
  EXPECT_FALSE(j["model"]["ops_after"].contains("Identity"));
  EXPECT_EQ(j["verification"]["status"], "passed");
  ASSERT_FALSE(j["verification"]["outputs"].empty());
  EXPECT_LE(j["verification"]["outputs"][0]["max_abs_err"].get<double>(), 1e-4);
}

TEST(OptimizeCli, NoVerifyIsReportedAsSkipped) {
  const std::string dir = TempDir();
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " +
                       dir + "/o.onnx --no-verify --quiet --report " + dir + "/r.json"),
            0);
  std::ifstream in(dir + "/r.json");
  EXPECT_EQ(nlohmann::json::parse(in)["verification"]["status"], "skipped");
}

TEST(OptimizeCli, ExternalDataOutputLoadsAndMatches) {
  const std::string dir = TempDir();
  std::string err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " +
                           dir + "/o.onnx --quiet --external-data --dim batch=1",
                       nullptr, &err),
            0)
      << err;
  ASSERT_TRUE(std::filesystem::exists(dir + "/o.onnx.data"));
  EXPECT_LT(std::filesystem::file_size(dir + "/o.onnx"), 64u << 10);
  auto original = LoadModel(SharedModel("squeezenet1_1.raw.onnx"));
  auto split = LoadModel(dir + "/o.onnx");
  ASSERT_TRUE(original.ok() && split.ok()) << split.status().ToString();
  EXPECT_EQ(testing::CompareOutputs(**original, **split, {{"batch", 1}}), "");
}

TEST(OptimizeCli, PassesListsEveryLevelName) {
  std::string out;
  ASSERT_EQ(RunCommand(CliPath() + " passes", &out), 0);
  EXPECT_NE(out.find("eliminate_identity"), std::string::npos);
  EXPECT_NE(out.find("basic"), std::string::npos);
}

class SharedModelBasic : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedModelBasic, OptimizesCheckedVerifiedAndClean) {
  const std::string file = GetParam();
  const std::string model = testing::SharedModelWithSignal(file);
  const std::string dir = TempDir();
  const bool text = file.rfind("text_encoder", 0) == 0;
  const std::string dims = text ? " --dim batch=1 --dim seq=64" : " --dim batch=1";
  std::string out, err;
  const int rc = RunCommand(CliPath() + " optimize " + model + " -o " + dir +
                                "/o.onnx --level basic --quiet" + dims + " --report " + dir + "/r.json",
                            &out, &err);
  ASSERT_EQ(rc, 0) << err;

  auto before = LoadModel(model);
  auto after = LoadModel(dir + "/o.onnx");
  ASSERT_TRUE(before.ok() && after.ok());
  Status check = ir::CheckModel(**after);
  EXPECT_TRUE(check.ok()) << check.ToString();

  const ir::Graph& g0 = *(*before)->graph;
  const ir::Graph& g1 = *(*after)->graph;
  ASSERT_EQ(g0.inputs().size(), g1.inputs().size());
  for (size_t i = 0; i < g0.inputs().size(); ++i) {
    EXPECT_EQ(g0.inputs()[i]->name(), g1.inputs()[i]->name());
    EXPECT_EQ(g0.inputs()[i]->elem_type(), g1.inputs()[i]->elem_type());
  }
  ASSERT_EQ(g0.outputs().size(), g1.outputs().size());
  for (size_t i = 0; i < g0.outputs().size(); ++i) {
    EXPECT_EQ(g0.outputs()[i]->name(), g1.outputs()[i]->name());
    EXPECT_EQ(g0.outputs()[i]->elem_type(), g1.outputs()[i]->elem_type());
  }
  auto ops = ir::CountOps(g1);
  EXPECT_EQ(ops.count("Identity"), 0u) << file;
  EXPECT_EQ(ops.count("Dropout"), 0u) << file;
  EXPECT_LT(g1.num_nodes(), g0.num_nodes());

  std::ifstream in(dir + "/r.json");
  auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["verification"]["status"], "passed") << report["verification"].dump();
}

INSTANTIATE_TEST_SUITE_P(Models, SharedModelBasic,
                         ::testing::ValuesIn(testing::SharedModelFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::ModelParamName(info.param);
                         });

}  // namespace
}  // namespace graphopt
