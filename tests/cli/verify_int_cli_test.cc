// `graphopt optimize` on a model with an If decided by an integer input: the report lists the
// values that ran each branch (verification.int_inputs, verification.ifs); --verify-int pins an
// input, and an unknown name or a malformed value is a usage error (exit 2).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "optimizer/io/model_io.h"
#include "support/test_support.h"
#include "verification/if_models.h"

namespace graphopt {
namespace {

using testing::CliPath;
using testing::ModelBuilder;
using testing::RunCommand;
using testing::TempDir;

// y = If(Cast<bool>(Equal(sr, 16000))) then x * then_c else x + 1, x float[batch]; saved in
// `dir` as `file`.
std::string SaveIfModel(const std::string& dir, float then_c = 2.f,
                        const std::string& file = "if.onnx") {
  ModelBuilder b(17);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "batch"}});
  ir::Value* sr = b.Input("sr", DataType::kInt64, {});
  ir::Value* k = b.Init("k", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {16000}));
  ir::Value* eq = b.Op("Equal", {sr, k});
  ir::Value* cond = b.Op("Cast", {eq});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kBool));
  ir::Value* y = testing::AddIf(b, cond, x, "Mul", then_c, "Add", 1.f);
  y->producer()->set_name("front_end");
  b.Output(y);
  auto model = b.Build();
  const std::string path = dir + "/" + file;
  EXPECT_TRUE(SaveModel(*model, path).ok());
  return path;
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(VerifyIntCli, ReportListsTheValuesOfBothBranches) {
  const std::string dir = TempDir();
  const std::string model = SaveIfModel(dir);
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model + " -o " + dir + "/o.onnx --report " + dir +
                           "/r.json",
                       &out, &err),
            0)
      << err;
  auto j = ReadJson(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "passed");
  // Two batch values, each with sr at 16000 (then) and 16001 (else).
  ASSERT_EQ(j["verification"]["shapes"].size(), 4u);
  ASSERT_EQ(j["verification"]["int_inputs"].size(), 4u);
  EXPECT_EQ(j["verification"]["int_inputs"][0]["sr"], 16000);
  EXPECT_EQ(j["verification"]["int_inputs"][1]["sr"], 16001);
  EXPECT_EQ(j["verification"]["int_inputs"][2]["sr"], 16000);
  EXPECT_EQ(j["verification"]["int_inputs"][3]["sr"], 16001);
  ASSERT_EQ(j["verification"]["ifs"].size(), 1u);
  const auto& c = j["verification"]["ifs"][0];
  EXPECT_EQ(c["node"], "front_end");
  EXPECT_EQ(c["both_branches"], true);
  EXPECT_EQ(c["input"], "sr");
  EXPECT_EQ(c["then"], 16000);
  EXPECT_EQ(c["else"], 16001);
  EXPECT_NE(out.find("If front_end: both branches (sr=16000 then, 16001 else)"), std::string::npos)
      << out;
}

TEST(VerifyIntCli, VerifyIntPinsTheInput) {
  const std::string dir = TempDir();
  const std::string model = SaveIfModel(dir);
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + model + " -o " + dir +
                           "/o.onnx --quiet --verify-int sr=8000 --report " + dir + "/r.json",
                       &out, &err),
            0)
      << err;
  auto j = ReadJson(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "passed");
  ASSERT_EQ(j["verification"]["int_inputs"].size(), 2u);  // the two batch values
  for (const auto& run : j["verification"]["int_inputs"]) EXPECT_EQ(run["sr"], 8000);
  EXPECT_EQ(j["verification"]["ifs"][0]["both_branches"], false);
  EXPECT_NE(j["verification"]["ifs"][0]["reason"].get<std::string>().find("--verify-int"),
            std::string::npos);
}

TEST(VerifyIntCli, UnknownNameOrBadValueIsAUsageError) {
  const std::string dir = TempDir();
  const std::string model = SaveIfModel(dir);
  std::string out, err;
  EXPECT_EQ(
      RunCommand(CliPath() + " optimize " + model + " -o " + dir + "/o.onnx --verify-int rate=8000",
                 &out, &err),
      2);
  EXPECT_NE(err.find("--verify-int rate"), std::string::npos) << err;
  EXPECT_NE(err.find("its integer inputs: sr"), std::string::npos) << err;
  EXPECT_FALSE(std::ifstream(dir + "/o.onnx").good());
  for (const char* bad : {"sr=abc", "sr=", "=3", "sr"}) {
    EXPECT_EQ(
        RunCommand(CliPath() + " optimize " + model + " -o " + dir + "/o.onnx --verify-int " + bad,
                   &out, &err),
        2)
        << bad;
    EXPECT_NE(err.find("--verify-int expects NAME=INTEGER"), std::string::npos) << err;
  }
}

// `graphopt verify` checks with the same samples as optimize: a difference in the branch a
// random sample never takes (sr == 16000) is a mismatch (exit 1), and the run names it.
TEST(VerifyIntCli, VerifyCommandRunsBothBranches) {
  const std::string dir = TempDir();
  const std::string model = SaveIfModel(dir);
  const std::string same = SaveIfModel(dir, 2.f, "same.onnx");
  const std::string wrong = SaveIfModel(dir, 3.f, "wrong.onnx");
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " verify " + model + " " + same, &out, &err), 0) << err;
  EXPECT_NE(out.find("sr=16000"), std::string::npos) << out;
  EXPECT_NE(out.find("sr=16001"), std::string::npos) << out;
  EXPECT_EQ(RunCommand(CliPath() + " verify " + model + " " + wrong, &out, &err), 1) << out << err;
  EXPECT_NE(out.find("MISMATCH "), std::string::npos) << out;
  EXPECT_NE(out.find("not all 1 outputs match (atol 0.0001, rtol 0.001) at batch=1 sr=16000"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace graphopt
