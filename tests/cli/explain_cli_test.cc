// `graphopt optimize` explaining itself (issue 16): a bit-exact verification of resnet18 fails,
// bisection names the first failing rewrite, and --bisect-limit one below it verifies; --explain
// prints near misses with their reasons and the passes and rules a target drops.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "optimizer/io/model_io.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CliPath;
using testing::RunCommand;
using testing::SharedModel;
using testing::TempDir;

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(ExplainCli, BitExactResnet18FailsNamesTheCulpritAndVerifiesBelowIt) {
  const std::string model = SharedModel("resnet18.raw.onnx");
  if (!std::filesystem::exists(model)) GTEST_SKIP() << model << " missing";
  const std::string dir = TempDir();
  const std::string base = CliPath() + " optimize " + model + " -o " + dir +
                           "/o.onnx --level extended --target cpu --dim batch=1 --atol 0 "
                           "--rtol 0 --report " + dir + "/r.json";
  std::string out, err;
  ASSERT_EQ(RunCommand(base, &out, &err), 1) << err;  // verification failed
  EXPECT_NE(err.find("first failing rewrite"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/o.onnx"));
  auto j = ReadJson(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "failed");
  ASSERT_TRUE(j["verification"].contains("culprit")) << j["verification"].dump(1);
  const auto& culprit = j["verification"]["culprit"];
  const int64_t index = culprit["index"];
  ASSERT_GT(index, 0);
  EXPECT_LE(index, j["rewrites_total"].get<int64_t>());
  EXPECT_FALSE(culprit["nodes"].empty());
  // The culprit is in the rewrite log of the pass it names, at its index.
  bool logged = false;
  for (const auto& p : j["passes"]) {
    if (p["name"] != culprit["pass"]) continue;
    for (const auto& r : p["rewrites"]) {
      logged |= r["index"] == index && r["rule"] == culprit["rule"] && r["from"] == culprit["nodes"];
    }
  }
  EXPECT_TRUE(logged) << culprit.dump();

  // Stopping one rewrite before it verifies bit for bit; stopping right after it does not.
  ASSERT_EQ(RunCommand(base + " --bisect-limit " + std::to_string(index - 1), &out, &err), 0)
      << err;
  auto below = ReadJson(dir + "/r.json");
  EXPECT_EQ(below["verification"]["status"], "passed");
  EXPECT_EQ(below["rewrites_total"], index - 1);
  EXPECT_EQ(below["bisect_limit"], index - 1);
  EXPECT_EQ(RunCommand(base + " --no-bisect --bisect-limit " + std::to_string(index), &out, &err),
            1)
      << err;
}

// Conv -> BatchNormalization whose scale is a graph input: the fold is a near miss.
std::string WriteNearMissModel(const std::string& dir) {
  testing::ModelBuilder b(13);
  ir::Value* x = b.Input("x", DataType::kFloat, {1, 2, 4, 4});
  ir::Value* v = b.Op("Conv", {x, b.Floats("w", {2, 2, 1, 1}, {1, 2, 3, 4})});
  v = b.Op("BatchNormalization", {v, b.Input("scale", DataType::kFloat, {2}),
                                  b.Floats("bias", {2}, {0.3f, -0.2f}),
                                  b.Floats("mean", {2}, {0.5f, 1.0f}),
                                  b.Floats("var", {2}, {2.0f, 0.25f})});
  b.LastNode()->set_name("/enc/bn1");
  b.Output(v);
  auto model = b.Build();
  const std::string path = dir + "/near_miss.onnx";
  EXPECT_TRUE(SaveModel(*model, path).ok());
  return path;
}

TEST(ExplainCli, ExplainListsNearMissesAndDroppedPasses) {
  const std::string dir = TempDir();
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + WriteNearMissModel(dir) + " -o " + dir +
                           "/o.onnx --explain --report " + dir + "/r.json",
                       &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("conv_batchnorm: BatchNormalization is not in inference mode with constant "
                     "parameters"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("/enc/bn1"), std::string::npos) << out;
  auto j = ReadJson(dir + "/r.json");
  EXPECT_EQ(j["verification"]["status"], "passed");
  EXPECT_EQ(j["model"]["ops_after"]["BatchNormalization"], 1);

  // text_encoder at opset 14 on `generic`: LayerNormalization needs opset 17, and the
  // contrib fusions are not in the profile; both are listed with the reason.
  const std::string te = SharedModel("text_encoder.raw.onnx");
  if (!std::filesystem::exists(te)) GTEST_SKIP() << te << " missing";
  ASSERT_EQ(RunCommand(CliPath() + " optimize " + te + " -o " + dir +
                           "/te.onnx --level extended --explain -q",
                       &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("fuse_layer_norm/layer_norm: LayerNormalization needs opset 17"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fuse_attention: com.microsoft.Attention is not among the operators"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace graphopt
