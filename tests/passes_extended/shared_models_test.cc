// The extended level on the shared real models for the cpu target: every artifact verifies on
// the reference executor, has no more nodes than ONNX Runtime's own extended level leaves
// (counts measured with ortbench), and the transformers' attention blocks become Attention.
#include <gtest/gtest.h>

#include <filesystem>

#include "optimizer/pipeline.h"
#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

struct ModelCase {
  const char* file;
  int64_t ort_extended_nodes;
  int64_t attention_blocks;
};

class SharedModelExtended : public ::testing::TestWithParam<ModelCase> {};

TEST_P(SharedModelExtended, FusesBelowOnnxRuntimeAndVerifies) {
  const std::string path = testing::SharedModel(GetParam().file);
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "missing " << path;
  PipelineOptions options;
  options.level = Level::kExtended;
  options.target = "cpu";
  options.dims = {{"batch", 1}, {"seq", 64}};
  const std::string out = testing::TempDir() + "/" + GetParam().file;
  auto report = OptimizeFile(path, out, options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, "passed") << report->verification_message;
  EXPECT_LE(report->nodes_after, GetParam().ort_extended_nodes);
  const auto& ops = report->ops_after;
  auto count = [&](const std::string& op) { return ops.count(op) ? ops.at(op) : 0; };
  EXPECT_EQ(count("com.microsoft.Attention"), GetParam().attention_blocks);
  if (GetParam().attention_blocks > 0) {
    EXPECT_EQ(count("Softmax"), 0);
    EXPECT_GT(count("com.microsoft.SkipLayerNormalization"), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, SharedModelExtended,
                         ::testing::Values(ModelCase{"resnet18.raw.onnx", 40, 0},
                                           ModelCase{"mobilenet_v2.raw.onnx", 65, 0},
                                           ModelCase{"mobilenet_v3_small.raw.onnx", 118, 0},
                                           ModelCase{"efficientnet_b0.raw.onnx", 174, 0},
                                           ModelCase{"vit_small.raw.onnx", 249, 4},
                                           ModelCase{"text_encoder.raw.onnx", 293, 4},
                                           ModelCase{"text_encoder.onnx", 293, 4}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace graphopt
