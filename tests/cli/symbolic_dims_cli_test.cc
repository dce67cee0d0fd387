// `graphopt optimize` on a model with symbolic dims and no --dim: verification runs at two
// assignments of the free dims and the report records them; a misspelt --dim is a usage error
// (exit 2) listing the model's symbolic dims; --verify-dim chooses a sample value.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CliPath;
using testing::RunCommand;
using testing::SharedModel;
using testing::TempDir;

nlohmann::json Report(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(SymbolicDimsCli, UnknownDimNameIsAUsageErrorListingTheModelsDims) {
  const std::string dir = TempDir();
  std::string out, err;
  EXPECT_EQ(RunCommand(CliPath() + " optimize " + SharedModel("text_encoder.raw.onnx") + " -o " +
                           dir + "/o.onnx --dim batchx=1",
                       &out, &err),
            2);
  EXPECT_NE(err.find("batchx"), std::string::npos) << err;
  EXPECT_NE(err.find("batch, seq"), std::string::npos) << err;
}

TEST(SymbolicDimsCli, VerifiesAtTwoAssignmentsWithoutDim) {
  const std::string dir = TempDir();
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + SharedModel("squeezenet1_1.raw.onnx") + " -o " +
                           dir + "/o.onnx --quiet --report " + dir + "/r.json",
                       &out, &err),
            0)
      << err;
  auto j = Report(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "passed");
  ASSERT_EQ(j["verification"]["shapes"].size(), 2u);
  EXPECT_NE(j["verification"]["shapes"][0]["batch"], j["verification"]["shapes"][1]["batch"]);
  EXPECT_EQ(j["dims"]["symbolic"], nlohmann::json::array({"batch"}));
  EXPECT_TRUE(j["dims"]["fixed"].empty());
}

TEST(SymbolicDimsCli, FixedDimAndVerifyDimAreRecorded) {
  const std::string dir = TempDir();
  std::string out, err;
  ASSERT_EQ(
      RunCommand(CliPath() + " optimize " + SharedModel("text_encoder.raw.onnx") + " -o " + dir +
                     "/o.onnx --quiet --dim batch=2 --verify-dim seq=5 --report " + dir + "/r.json",
                 &out, &err),
      0)
      << err;
  auto j = Report(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "passed");
  ASSERT_EQ(j["verification"]["shapes"].size(), 1u);  // nothing left free
  EXPECT_EQ(j["verification"]["shapes"][0]["batch"], 2);
  EXPECT_EQ(j["verification"]["shapes"][0]["seq"], 5);
  EXPECT_EQ(j["dims"]["fixed"]["batch"], 2);
  EXPECT_EQ(j["dims"]["symbolic"], nlohmann::json::array({"seq"}));
}

}  // namespace
}  // namespace graphopt
