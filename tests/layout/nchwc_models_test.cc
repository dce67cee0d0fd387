// Shared CNNs optimized at level all for this machine's `cpu` target: the artifact verifies on
// the reference executor, holds blocked convolutions, and ONNX Runtime (optimizations off)
// computes what the reference executor computes on the original, within 1e-4.
#include <gtest/gtest.h>

#include <filesystem>

#include "layout/nchwc_test_util.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
#include "optimizer/pipeline.h"

namespace graphopt::testing {
namespace {

class NchwcSharedModel : public ::testing::TestWithParam<std::string> {};

TEST_P(NchwcSharedModel, LayoutArtifactVerifiesAndMatchesOnnxRuntime) {
  if (HostNchwcBlockSize() == 0) GTEST_SKIP() << "not an x86 CPU";
  const std::string path = SharedModel(GetParam());
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  std::unique_ptr<ir::Model> model = std::move(*loaded);
  std::unique_ptr<ir::Model> original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = Level::kAll;
  options.target = "cpu";
  options.dims = {{"batch", 1}};
  auto report = OptimizeModel(*model, original.get(), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed) << report->verification_message;
  EXPECT_GT(CountOp(*model, std::string(kNchwc) + ".Conv"), 0);

  // ONNX Runtime runs the artifact; the reference executor the original.
  ir::FixDims(*original, {{"batch", 1}});
  const std::map<std::string, Tensor> inputs = {{"input", RandomFloats({1, 3, 224, 224}, 7)}};
  std::vector<Tensor> expected = RunReference(*original, inputs);
  ASSERT_EQ(expected.size(), 1u);
  // The artifact's single output holds the original's values; ExpectOrtParity compares the
  // artifact's reference run with ONNX Runtime's, so check that pair too.
  std::vector<Tensor> artifact = RunReference(*model, inputs);
  ASSERT_EQ(artifact.size(), 1u);
  double worst = 0;
  for (int64_t i = 0; i < expected[0].size(); ++i) {
    const double a = artifact[0].GetDouble(i), b = expected[0].GetDouble(i);
    worst = std::max(worst, std::abs(a - b) / (1.0 + std::abs(b)));
  }
  EXPECT_LE(worst, 1e-4);
  ExpectOrtParity(*model, inputs);
}

// Without --dim the batch stays symbolic; the artifact must still be the one a fixed batch gives
// (its residual Adds fused as Sums, no extra reorders), and verify at the sampled batches.
TEST_P(NchwcSharedModel, SymbolicBatchGivesTheFixedBatchGraph) {
  if (HostNchwcBlockSize() == 0) GTEST_SKIP() << "not an x86 CPU";
  const std::string path = SharedModel(GetParam());
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " missing";
  std::map<std::string, int64_t> counts[2];
  for (int fixed : {0, 1}) {
    auto loaded = LoadModel(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    std::unique_ptr<ir::Model> model = std::move(*loaded);
    std::unique_ptr<ir::Model> original = ir::CloneModel(*model);
    PipelineOptions options;
    options.level = Level::kAll;
    options.target = "cpu";
    if (fixed) options.dims = {{"batch", 1}};
    auto report = OptimizeModel(*model, original.get(), options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->verification_status, VerificationStatus::kPassed) << report->verification_message;
    counts[fixed] = ir::CountOps(*model->graph);
  }
  EXPECT_EQ(counts[0], counts[1]);
}

INSTANTIATE_TEST_SUITE_P(Cnns, NchwcSharedModel,
                         ::testing::Values("resnet18.raw.onnx", "mobilenet_v2.raw.onnx",
                                           "squeezenet1_1.raw.onnx", "mobilenet_v3_small.raw.onnx"),
                         [](const auto& info) { return ModelParamName(info.param); });

}  // namespace
}  // namespace graphopt::testing
