// `graphopt optimize --quantize/--precision`: refusals are usage errors (exit 2) with the
// profile's reason, an accuracy outside --max-error is a failed verification (exit 1) whose
// report says kind "accuracy", and a passing run prints the accuracy table rows.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "support/test_support.h"

namespace graphopt::testing {
namespace {

int Optimize(const std::string& args, std::string* out, std::string* err) {
  return RunCommand(CliPath() + " optimize " + SharedModel("text_encoder.raw.onnx") + " -o " +
                        TempDir() + "/converted.onnx " + args,
                    out, err);
}

TEST(ConversionCli, Float16OnCpuIsAUsageErrorWithTheReason) {
  std::string out, err;
  EXPECT_EQ(Optimize("--target cpu --precision fp16", &out, &err), 2);
  EXPECT_NE(err.find("does not declare float16"), std::string::npos) << err;
  EXPECT_EQ(Optimize("--target cpu --quantize int3", &out, &err), 2);
  EXPECT_NE(err.find("unknown quantization"), std::string::npos) << err;
}

TEST(ConversionCli, AccuracyOutsideMaxErrorFailsWithExit1AndAnAccuracyReport) {
  const std::string report = TempDir() + "/report.json";
  std::string out, err;
  EXPECT_EQ(Optimize("--target cpu --quantize dynamic-int8 --max-error 1e-9 --report " + report,
                     &out, &err),
            1)
      << err;
  std::ifstream in(report);
  std::stringstream text;
  text << in.rdbuf();
  const auto r = nlohmann::json::parse(text.str());
  EXPECT_EQ(r["verification"]["status"], "failed");
  EXPECT_EQ(r["verification"]["kind"], "accuracy");
  EXPECT_EQ(r["verification"]["accuracy"]["max_error"], 1e-9);
}

TEST(ConversionCli, PassingRunPrintsConversionAndAccuracyRows) {
  std::string out, err;
  ASSERT_EQ(Optimize("--level extended --target cpu --quantize dynamic-int8", &out, &err), 0)
      << err;
  EXPECT_NE(out.find("conversion quantize_dynamic_int8"), std::string::npos) << out;
  EXPECT_NE(out.find("accuracy hidden"), std::string::npos) << out;
}

}  // namespace
}  // namespace graphopt::testing
