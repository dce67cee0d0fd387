// Runs `graphopt conformance` over the ONNX backend test data: the model-level folders must pass
// (or skip for a named reason) entirely; the node tests must pass >= 95% of the runnable cases.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "support/test_support.h"

namespace graphopt {
namespace {

struct Counts {
  int passed = -1, failed = -1, skipped = -1;
  std::string output;
  nlohmann::json report;
};

Counts RunConformance(const std::string& folder) {
  Counts c;
  const std::string report = testing::TempDir() + "/report.json";
  std::string err;
  testing::RunCommand(testing::CliPath() + " conformance " + testing::SharedDir() +
                          "/onnx-backend-tests/" + folder + " --report " + report,
                      &c.output, &err);
  // The last line is exactly "N passed, N failed, N skipped".
  std::string last = c.output;
  while (!last.empty() && last.back() == '\n') last.pop_back();
  last = last.substr(last.rfind('\n') == std::string::npos ? 0 : last.rfind('\n') + 1);
  std::smatch m;
  if (std::regex_match(last, m, std::regex(R"((\d+) passed, (\d+) failed, (\d+) skipped)"))) {
    c.passed = std::stoi(m[1]);
    c.failed = std::stoi(m[2]);
    c.skipped = std::stoi(m[3]);
  }
  std::ifstream in(report);
  if (in) c.report = nlohmann::json::parse(in, nullptr, false);
  return c;
}

class ModelFolders : public ::testing::TestWithParam<const char*> {};

TEST_P(ModelFolders, EveryCasePassesOrIsSkippedForANamedReason) {
  const Counts c = RunConformance(GetParam());
  ASSERT_GE(c.passed, 0) << c.output;
  std::printf("%s: %d passed, %d failed, %d skipped\n", GetParam(), c.passed, c.failed, c.skipped);
  EXPECT_EQ(c.failed, 0) << c.output;
  EXPECT_GT(c.passed, 0);
  ASSERT_TRUE(c.report.is_object());
  EXPECT_EQ(c.report["passed"].get<int>(), c.passed);
  for (const auto& kase : c.report["cases"]) {
    if (kase["status"] == "skipped") {
      EXPECT_FALSE(kase["detail"].get<std::string>().empty()) << kase.dump();
      std::printf("  skipped %s: %s\n", kase["case"].get<std::string>().c_str(),
                  kase["detail"].get<std::string>().c_str());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Conformance, ModelFolders,
                         ::testing::Values("simple", "pytorch-converted", "pytorch-operator"));

TEST(Conformance, NodeTestsPassAtLeast95PercentOfRunnableCases) {
  const Counts c = RunConformance("node");
  ASSERT_GE(c.passed, 0) << c.output;
  const int runnable = c.passed + c.failed;
  const double rate = runnable ? static_cast<double>(c.passed) / runnable : 0.0;
  std::printf("node: %d passed, %d failed, %d skipped; pass rate %.2f%% of %d runnable\n", c.passed,
              c.failed, c.skipped, 100.0 * rate, runnable);
  EXPECT_GE(rate, 0.95) << c.output;
  EXPECT_GT(c.passed, 1000);
}

TEST(Conformance, AFailingCaseIsReportedAndDoesNotStopTheRun) {
  // A copy of two cases, one with its expected output corrupted.
  const std::string dir = testing::TempDir() + "/cases";
  const std::string src = testing::SharedDir() + "/onnx-backend-tests/node/";
  ASSERT_EQ(testing::RunCommand("mkdir -p " + dir + " && cp -r " + src + "test_transpose_default " +
                                src + "test_concat_1d_axis_0 " + dir),
            0);
  // Overwrite the expected output of one case with its input (same size, different order).
  ASSERT_EQ(
      testing::RunCommand("cp " + dir + "/test_transpose_default/test_data_set_0/input_0.pb " +
                          dir + "/test_transpose_default/test_data_set_0/output_0.pb"),
      0);
  std::string out, err;
  const int code = testing::RunCommand(testing::CliPath() + " conformance " + dir, &out, &err);
  EXPECT_EQ(code, 1) << out << err;
  EXPECT_NE(out.find("FAIL test_transpose_default"), std::string::npos) << out;
  EXPECT_NE(out.find("1 passed, 1 failed, 0 skipped"), std::string::npos) << out;
}

}  // namespace
}  // namespace graphopt
