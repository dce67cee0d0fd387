// Artifacts made without --dim keep their dynamic axes: the `cpu` artifact of the extended level
// runs in ONNX Runtime (its optimizer off) at (batch 1, seq 64) and (batch 3, seq 17) and gives
// the original's outputs at both. Needs node and npm (ortbench), else it skips saying so.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::RunCommand;

std::string OrtBench() { return testing::SharedDir() + "/tools/ortbench/ortbench"; }
bool HaveNode() { return RunCommand("command -v node && command -v npm") == 0; }

class OrtDynamicAxes : public ::testing::TestWithParam<std::string> {};

TEST_P(OrtDynamicAxes, ArtifactWithoutDimRunsAtTwoShapesWithTheOriginalsOutputs) {
  if (!HaveNode()) GTEST_SKIP() << "node/npm missing: cannot run ONNX Runtime (ortbench) here";
  const std::string model = testing::SharedModelWithSignal(GetParam());
  const std::string dir = testing::TempDir();
  const std::string artifact = dir + "/cpu.onnx";
  std::string out, err;
  ASSERT_EQ(RunCommand(testing::CliPath() + " optimize " + model + " -o " + artifact +
                           " --level extended --target cpu --quiet --report " + dir + "/r.json",
                       &out, &err),
            0)
      << out << err;
  std::ifstream report_file(dir + "/r.json");
  const auto report = nlohmann::json::parse(report_file);
  EXPECT_EQ(report["verification"]["status"], "passed") << report["verification"].dump();
  EXPECT_EQ(report["verification"]["shapes"].size(), 2u);
  EXPECT_EQ(report["model"]["ops_after"].value("com.microsoft.Attention", 0), 4);
  EXPECT_TRUE(report["dims"]["fixed"].empty());
  const bool text = GetParam().rfind("text_encoder", 0) == 0;
  for (const auto& [batch, seq] : std::vector<std::pair<int, int>>{{1, 64}, {3, 17}}) {
    std::string dims = " --dim batch=" + std::to_string(batch);
    if (text) dims += " --dim seq=" + std::to_string(seq);
    ASSERT_EQ(RunCommand(OrtBench() + " --save-dir " + dir + "/ort-saved " + model + " --candidate " + artifact +
                             " --levels disabled --cand-levels disabled --runs 1 --json" + dims,
                         &out, &err),
              0)
        << out << err;
    const auto rows = nlohmann::json::parse(out.substr(out.find("{\"model\"")))["rows"];
    ASSERT_EQ(rows.size(), 2u) << out;
    const double diff = rows[1]["maxDiff"].get<double>();
    std::cout << GetParam() << " at" << dims << ": artifact nodes " << rows[1]["nodes"]
              << ", max|diff| " << diff << "\n";
    // Within ortbench's own tolerance of |diff| against the outputs (well above float noise of
    // the fused kernels, far below any real difference).
    EXPECT_LE(diff, 1e-3) << "the artifact differs from the original in ONNX Runtime at" << dims;
  }
}

INSTANTIATE_TEST_SUITE_P(Transformers, OrtDynamicAxes,
                         ::testing::Values("text_encoder.raw.onnx", "vit_small.raw.onnx"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::ModelParamName(info.param);
                         });

}  // namespace
}  // namespace graphopt
