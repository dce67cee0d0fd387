// Model metrics (issue 16 item 5) on graphs small enough to count by hand: parameters, weight
// bytes, FLOPs/MACs of a Conv and a MatMul, symbolic dims evaluated at the sample values, and
// the pipeline's report carrying metrics before/after for every shared model.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "optimizer/analysis/model_metrics.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::ModelBuilder;

// x[1,3,8,8] -> Conv(W[4,3,3,3], B[4], pads 1) -> Relu -> Flatten -> MatMul(W2[256,10]) -> Add(b2)
std::unique_ptr<ir::Model> ConvMatMulModel() {
  ModelBuilder b(13);
  ir::Value* x = b.Input("x", DataType::kFloat, {1, 3, 8, 8});
  ir::Value* w = b.Init("w", testing::RandomFloats({4, 3, 3, 3}, 1));
  ir::Value* bias = b.Init("b", testing::RandomFloats({4}, 2));
  ir::Value* conv = b.Op("Conv", {x, w, bias});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  ir::Value* relu = b.Op("Relu", {conv});
  ir::Value* flat = b.Op("Flatten", {relu});
  ir::Value* w2 = b.Init("w2", testing::RandomFloats({256, 10}, 3));
  ir::Value* mm = b.Op("MatMul", {flat, w2});
  ir::Value* b2 = b.Init("b2", testing::RandomFloats({10}, 4));
  b.Output(b.Op("Add", {mm, b2}));
  auto model = b.Build();
  EXPECT_TRUE(ir::InferShapes(*model).ok());
  return model;
}

TEST(ModelMetrics, ParamsAndFlopsOfConvAndMatMulByHand) {
  auto model = ConvMatMulModel();
  const ModelMetrics m = ComputeModelMetrics(*model, {});
  EXPECT_EQ(m.params, 108 + 4 + 2560 + 10);
  EXPECT_EQ(m.weight_bytes, (108 + 4 + 2560 + 10) * 4);
  // Conv: 4*8*8 outputs, each a dot product over 3*3*3 weights.
  ASSERT_TRUE(m.families.count("conv"));
  EXPECT_EQ(m.families.at("conv").macs, 256 * 27);
  EXPECT_EQ(m.families.at("conv").flops, 2 * 256 * 27);
  // MatMul: [1,256] x [256,10].
  ASSERT_TRUE(m.families.count("matmul"));
  EXPECT_EQ(m.families.at("matmul").macs, 10 * 256);
  EXPECT_EQ(m.families.at("matmul").flops, 2 * 10 * 256);
  // Relu over 256 elements and Add over 10; Flatten costs nothing.
  ASSERT_TRUE(m.families.count("elementwise"));
  EXPECT_EQ(m.families.at("elementwise").flops, 256 + 10);
  EXPECT_EQ(m.families.at("elementwise").nodes, 2);
  EXPECT_EQ(m.macs, 256 * 27 + 2560);
  EXPECT_EQ(m.flops, 2 * 256 * 27 + 2 * 2560 + 266);
  EXPECT_EQ(m.unknown_cost_nodes, 0);
  EXPECT_GT(m.peak_activation_bytes, 0);
  EXPECT_LE(m.peak_activation_bytes, m.naive_activation_bytes);
}

TEST(ModelMetrics, GemmTransposedAndConstantNodesCount) {
  ModelBuilder b(13);
  ir::Value* a = b.Input("a", DataType::kFloat, {6, 2});  // transA: K = 6, M = 2
  ir::Value* w = b.Init("w", testing::RandomFloats({6, 5}, 1));
  ir::Value* c = b.Op("Constant", {});
  b.LastNode()->SetTensor("value", testing::RandomFloats({5}, 2));
  ir::Value* y = b.Op("Gemm", {a, w, c});
  b.LastNode()->SetInt("transA", 1);
  b.Output(y);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  const ModelMetrics m = ComputeModelMetrics(*model, {});
  EXPECT_EQ(m.params, 30 + 5);  // the Constant node's tensor is a weight too
  ASSERT_TRUE(m.families.count("matmul"));
  EXPECT_EQ(m.families.at("matmul").macs, 2 * 5 * 6);
}

TEST(ModelMetrics, SymbolicDimsEvaluateAtTheSampleOrCountAsUnknown) {
  ModelBuilder b(13);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "batch"}, ir::Dim{16, ""}});
  ir::Value* w = b.Init("w", testing::RandomFloats({16, 4}, 1));
  b.Output(b.Op("MatMul", {x, w}));
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  const ModelMetrics at3 = ComputeModelMetrics(*model, {{"batch", 3}});
  EXPECT_EQ(at3.macs, 3 * 4 * 16);
  EXPECT_EQ(at3.naive_activation_bytes, 3 * 4 * 4);
  const ModelMetrics unknown = ComputeModelMetrics(*model, {});
  EXPECT_EQ(unknown.macs, 0);
  EXPECT_EQ(unknown.unknown_cost_nodes, 1);
  EXPECT_EQ(unknown.unplanned_values, 1);
}

TEST(ModelMetrics, PipelineReportsMetricsAndLatencyOfBothModels) {
  auto model = ConvMatMulModel();
  auto original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = Level::kExtended;
  auto report = OptimizeModel(*model, original.get(), options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed);
  ASSERT_TRUE(report->has_metrics);
  EXPECT_EQ(report->metrics_before.macs, 256 * 27 + 2560);
  // Fusions move work between families but keep the Conv's and MatMul's MACs.
  EXPECT_EQ(report->metrics_after.macs, report->metrics_before.macs);
  EXPECT_EQ(report->metrics_after.params, report->metrics_before.params);
  EXPECT_GE(report->metrics_before.latency_ms, 0);
  EXPECT_GE(report->metrics_after.latency_ms, 0);
  auto j = nlohmann::json::parse(report->ToJson());
  EXPECT_EQ(j["metrics"]["before"]["flops"], 2 * 256 * 27 + 2 * 2560 + 266);
  EXPECT_TRUE(j["metrics"]["after"].contains("latency_ms"));
  EXPECT_NE(report->ToTable().find("peak activations"), std::string::npos);
}

class SharedModelMetrics : public ::testing::TestWithParam<std::string> {};

TEST_P(SharedModelMetrics, ReportHasParamsFlopsAndPeakActivations) {
  const std::string path = testing::SharedModel(GetParam());
  auto loaded = LoadModel(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  PipelineOptions options;
  options.level = Level::kExtended;
  options.verify = false;  // metrics do not need the executor; the latency test above does
  auto report = OptimizeModel(**loaded, nullptr, options);
  ASSERT_TRUE(report.ok()) << report.status().message();
  auto j = nlohmann::json::parse(report->ToJson());
  ASSERT_TRUE(j.contains("metrics")) << GetParam();
  for (const char* side : {"before", "after"}) {
    const auto& m = j["metrics"][side];
    SCOPED_TRACE(std::string(side));
    EXPECT_GT(m["params"].get<int64_t>(), 0);
    EXPECT_GT(m["weight_bytes"].get<int64_t>(), 0);
    EXPECT_GT(m["flops"].get<int64_t>(), 0);
    EXPECT_GT(m["peak_activation_bytes"].get<int64_t>(), 0);
    EXPECT_LE(m["peak_activation_bytes"].get<int64_t>(),
              m["naive_activation_bytes"].get<int64_t>());
    // Activations whose shape keeps a symbol no input names (an export's "unk__1") have no
    // size at the sample dims: counted, never guessed.
    EXPECT_GE(m["unplanned_values"].get<int64_t>(), 0);
    EXPECT_TRUE(m.contains("flops_by_family"));
  }
  // The passes do not add arithmetic (folding and fusion remove or keep it).
  EXPECT_LE(j["metrics"]["after"]["macs"].get<int64_t>(),
            j["metrics"]["before"]["macs"].get<int64_t>());
}

INSTANTIATE_TEST_SUITE_P(Shared, SharedModelMetrics,
                         ::testing::ValuesIn(testing::SharedModelFiles()),
                         [](const auto& info) { return testing::ModelParamName(info.param); });

}  // namespace
}  // namespace graphopt
