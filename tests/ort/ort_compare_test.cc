// The reference executor against ONNX Runtime: every shared model runs in both on the same
// inputs (ortbench dumps ONNX Runtime's inputs and outputs), and the outputs must agree. And the
// `cpu` artifacts of the extended level run in ONNX Runtime with its own optimizer off (so every
// com.microsoft operator graphopt emits is one ONNX Runtime's CPU provider runs as emitted) and
// match the original's outputs there.
// Needs node and npm (ortbench installs onnxruntime-node from the npm registry on first use).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include <onnx/onnx_pb.h>

#include <cmath>

#include "optimizer/ir/onnx_convert.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::RunCommand;

std::string OrtBench() { return testing::SharedDir() + "/tools/ortbench/ortbench"; }
std::string TensorsToPb() { return testing::SharedDir() + "/tools/ortbench/tensors_to_pb.py"; }

Tensor ReadTensor(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  onnx::TensorProto proto;
  EXPECT_TRUE(proto.ParseFromIstream(&in)) << path;
  auto t = ir::TensorFromProto(proto, nullptr);
  EXPECT_TRUE(t.ok()) << path;
  return t.ok() ? *t : Tensor();
}

bool HaveNode() { return RunCommand("command -v node && command -v npm") == 0; }

class OrtCompare : public ::testing::TestWithParam<std::string> {};

TEST_P(OrtCompare, ReferenceExecutorMatchesOnnxRuntime) {
  if (!HaveNode()) GTEST_SKIP() << "node/npm missing: cannot run ONNX Runtime (ortbench) here";
  const std::string model = testing::SharedModelWithSignal(GetParam());
  const bool text = GetParam().rfind("text_encoder", 0) == 0;
  const std::string dims = text ? " --dim batch=1 --dim seq=64" : " --dim batch=1";
  const std::string dir = testing::TempDir();
  std::string out, err;
  ASSERT_EQ(RunCommand(OrtBench() + " --save-dir " + dir + "/ort-saved " + model + " --levels disabled --runs 1" + dims +
                           " --dump " + dir + "/ort",
                       &out, &err),
            0)
      << out << err;
  ASSERT_EQ(RunCommand("/usr/bin/python3 " + TensorsToPb() + " " + dir + "/ort", &out, &err), 0) << err;

  std::ifstream meta_file(dir + "/ort/meta.json");
  auto meta = nlohmann::json::parse(meta_file);
  std::string inputs;
  for (size_t k = 0; k < meta["inputs"].size(); ++k) {
    inputs += " --input " + meta["inputs"][k]["name"].get<std::string>() + "=" + dir +
              "/ort/pb/input_" + std::to_string(k) + ".pb";
  }
  ASSERT_EQ(RunCommand(testing::CliPath() + " run " + model + dims + inputs + " --output-dir " +
                           dir + "/ours",
                       &out, &err),
            0)
      << err;
  // tensors_to_pb.py compares |ours - ort| / (1 + |ort|) against 1e-3 per element.
  const int rc = RunCommand("/usr/bin/python3 " + TensorsToPb() + " " + dir + "/ort --compare " +
                                dir + "/ours",
                            &out, &err);
  EXPECT_EQ(rc, 0) << out << err;
  std::cout << GetParam() << ": " << out;

  // Random-weight models can have tiny outputs (efficientnet_b0's are ~1e-14), where an error
  // measured against 1 says nothing; so also compare against the output's own scale.
  for (size_t k = 0; k < meta["outputs"].size(); ++k) {
    const std::string name = meta["outputs"][k]["name"];
    auto ort = ReadTensor(dir + "/ort/pb/output_" + std::to_string(k) + ".pb");
    // `run` names the file after the output, or output_K.pb when the name has a '/'.
    std::string ours_file = dir + "/ours/" + name + ".pb";
    if (!std::filesystem::exists(ours_file)) {
      ours_file = dir + "/ours/output_" + std::to_string(k) + ".pb";
    }
    auto ours = ReadTensor(ours_file);
    ASSERT_EQ(ort.shape(), ours.shape()) << name;
    double scale = 0, diff = 0;
    for (int64_t i = 0; i < ort.size(); ++i) {
      scale = std::max(scale, std::fabs(ort.GetDouble(i)));
      diff = std::max(diff, std::fabs(ort.GetDouble(i) - ours.GetDouble(i)));
    }
    std::cout << "  " << name << ": max|ort| " << scale << ", max|diff| " << diff << "\n";
    EXPECT_LE(diff, 1e-3 * scale) << name << " differs from ONNX Runtime beyond 1e-3 of its scale";
  }
}

class OrtCpuArtifact : public ::testing::TestWithParam<std::string> {};

TEST_P(OrtCpuArtifact, RunsWithOnnxRuntimesOptimizerOffAndMatchesTheOriginal) {
  if (!HaveNode()) GTEST_SKIP() << "node/npm missing: cannot run ONNX Runtime (ortbench) here";
  const std::string model = testing::SharedModelWithSignal(GetParam());
  // Only the dims the model has: `optimize` refuses a --dim name the model does not use.
  const bool text = GetParam().rfind("text_encoder", 0) == 0;
  const std::string dims = text ? " --dim batch=1 --dim seq=64" : " --dim batch=1";
  const std::string dir = testing::TempDir();
  const std::string artifact = dir + "/cpu.onnx";
  std::string out, err;
  ASSERT_EQ(RunCommand(testing::CliPath() + " optimize " + model + " -o " + artifact +
                           " --level extended --target cpu" + dims,
                       &out, &err),
            0)
      << out << err;
  ASSERT_EQ(RunCommand(OrtBench() + " --save-dir " + dir + "/ort-saved " + model + " --candidate " + artifact +
                           " --levels disabled --cand-levels disabled --runs 1 --json" + dims +
                           " --dump " + dir + "/ort",
                       &out, &err),
            0)
      << out << err;
  const auto rows = nlohmann::json::parse(out.substr(out.find("{\"model\"")))["rows"];
  ASSERT_EQ(rows.size(), 2u) << out;
  const auto& candidate = rows[1];
  ASSERT_EQ(candidate["model"], "cand");
  ASSERT_EQ(RunCommand("/usr/bin/python3 " + TensorsToPb() + " " + dir + "/ort", &out, &err), 0) << err;
  // The original's outputs under ONNX Runtime's `disabled` level set the scale (see above for
  // why it is the outputs' own scale): the artifact must agree within 1e-3 of it.
  std::ifstream meta_file(dir + "/ort/meta.json");
  const auto meta = nlohmann::json::parse(meta_file);
  double scale = 0;
  for (size_t k = 0; k < meta["outputs"].size(); ++k) {
    auto ort = ReadTensor(dir + "/ort/pb/output_" + std::to_string(k) + ".pb");
    for (int64_t i = 0; i < ort.size(); ++i) scale = std::max(scale, std::fabs(ort.GetDouble(i)));
  }
  const double diff = candidate["maxDiff"].get<double>();
  std::cout << GetParam() << ": artifact nodes " << candidate["nodes"] << ", max|ort| " << scale
            << ", max|diff| " << diff << "\n";
  EXPECT_GT(scale, 0.0);
  EXPECT_LE(diff, 1e-3 * scale) << "the cpu artifact differs from the original in ONNX Runtime";
}

INSTANTIATE_TEST_SUITE_P(Models, OrtCpuArtifact,
                         ::testing::ValuesIn(testing::SharedModelFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::ModelParamName(info.param);
                         });

INSTANTIATE_TEST_SUITE_P(Models, OrtCompare,
                         ::testing::ValuesIn(testing::SharedModelFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return testing::ModelParamName(info.param);
                         });

}  // namespace
}  // namespace graphopt
