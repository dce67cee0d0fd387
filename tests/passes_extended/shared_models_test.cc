// The extended level on the shared real models, for every target profile: every artifact
// verifies on the reference executor and declares its target. cpu: no more nodes than ONNX
// Runtime's own extended level leaves (counts measured with ortbench) and the transformers'
// attention blocks become Attention; cuda fuses the attention blocks and the residual
// normalizations too; generic holds only default-domain operators and passes the full ONNX
// checker.
#include <gtest/gtest.h>

#include <filesystem>
#include <tuple>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pipeline.h"
#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

struct ModelCase {
  const char* file;
  int64_t ort_extended_nodes;
  int64_t attention_blocks;
};

using Case = std::tuple<ModelCase, const char*>;

class SharedModelExtended : public ::testing::TestWithParam<Case> {};

TEST_P(SharedModelExtended, FusesForTheTargetAndVerifies) {
  const auto& [model, target_name] = GetParam();
  const std::string target = target_name;
  const std::string path = testing::SharedModelWithSignal(model.file);
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  PipelineOptions options;
  options.level = Level::kExtended;
  options.target = target;
  options.dims = {{"batch", 1}, {"seq", 64}};
  const std::string out = testing::TempDir() + "/" + target + "." + model.file;
  auto report = OptimizeFile(path, out, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed) << report->verification_message;
  EXPECT_EQ(report->target, target);
  const auto& ops = report->ops_after;
  auto count = [&](const std::string& op) { return ops.count(op) ? ops.at(op) : 0; };

  auto artifact = LoadModel(out);
  ASSERT_TRUE(artifact.ok()) << artifact.status().ToString();
  std::string declared;
  for (const auto& [key, value] : (*artifact)->metadata_props) {
    if (key == "graphopt.target") declared = value;
  }
  EXPECT_EQ(declared, target);

  if (target == "generic") {
    for (const auto& [op, n] : ops) {
      EXPECT_EQ(op.find('.'), std::string::npos) << op << " is not a default-domain operator";
    }
    Status check = ir::CheckModel(**artifact);
    EXPECT_TRUE(check.ok()) << check.ToString();
    return;
  }
  EXPECT_EQ(count("com.microsoft.Attention"), model.attention_blocks);
  if (model.attention_blocks > 0) EXPECT_EQ(count("Softmax"), 0);
  if (model.attention_blocks > 0) {
    // cuda fuses the residual Adds into SkipLayerNormalization; cpu keeps Add + LayerNormalization
    // (its profile does not emit SkipLayerNormalization: slower on that provider).
    const bool skip = target == "cuda";
    EXPECT_EQ(count("com.microsoft.SkipLayerNormalization") > 0, skip);
    EXPECT_GT(count("LayerNormalization") + count("com.microsoft.SkipLayerNormalization"), 0);
  }
  if (target == "cpu") EXPECT_LE(report->nodes_after, model.ort_extended_nodes);
}

INSTANTIATE_TEST_SUITE_P(
    Models, SharedModelExtended,
    ::testing::Combine(::testing::Values(ModelCase{"resnet18.raw.onnx", 40, 0},
                                         ModelCase{"mobilenet_v2.raw.onnx", 65, 0},
                                         ModelCase{"mobilenet_v3_small.raw.onnx", 118, 0},
                                         ModelCase{"efficientnet_b0.raw.onnx", 174, 0},
                                         ModelCase{"squeezenet1_1.raw.onnx", 39, 0},
                                         ModelCase{"vit_small.raw.onnx", 249, 4},
                                         ModelCase{"text_encoder.raw.onnx", 293, 4},
                                         ModelCase{"text_encoder.onnx", 293, 4}),
                       ::testing::Values("cpu", "cuda", "generic")),
    [](const auto& info) {
      std::string name = std::string(std::get<1>(info.param)) + "_" + std::get<0>(info.param).file;
      for (char& c : name) {
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      }
      return name;
    });

}  // namespace
}  // namespace graphopt
