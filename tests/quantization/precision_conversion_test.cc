// --quantize dynamic-int8 and --precision fp16: what the conversions emit, that both dynamic
// int8 forms compute the same numbers, that the pipeline verifies the passes for equivalence and
// then measures the conversion's accuracy (and fails on limits), and that targets refuse what
// they do not declare. The text_encoder and resnet18 cases read ../shared/models.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <map>
#include <string>

#include "backends/reference/executor.h"
#include "backends/reference/tensor_compare.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/passes/precision/precision_conversion.h"
#include "optimizer/pipeline.h"
#include "optimizer/target.h"
#include "support/ort_parity.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

const TargetProfile& Target(const std::string& name) {
  return *TargetRegistry::Get().Find(name).value();
}

// x [batch, 64] -> MatMul(w [64, 48]) -> Add(bias [48]) -> Relu -> Gemm(transB, w2 [16, 48],
// c [16]) -> y. Weights from a fixed seed; scaled to typical trained magnitudes.
std::unique_ptr<ir::Model> MlpModel() {
  ModelBuilder b(17);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "batch"}, ir::Dim{64, ""}});
  Tensor w = RandomFloats({64, 48}, 3), bias = RandomFloats({48}, 4);
  Tensor w2 = RandomFloats({16, 48}, 5), c = RandomFloats({16}, 6);
  for (Tensor* t : {&w, &w2}) {
    for (int64_t i = 0; i < t->size(); ++i) t->mutable_data<float>()[i] *= 0.2f;
  }
  ir::Value* h = b.Op("MatMul", {x, b.Init("w", w)});
  h = b.Op("Add", {h, b.Init("bias", bias)});
  h = b.Op("Relu", {h});
  ir::Value* y = b.Op("Gemm", {h, b.Init("w2", w2), b.Init("c", c)});
  b.LastNode()->SetInt("transB", 1);
  b.Output(y);
  auto model = b.Build();
  EXPECT_TRUE(ir::InferShapes(*model).ok());  // the conversions read value types, as passes do
  return model;
}

Tensor RunOn(const ir::Model& m, const Tensor& x) {
  reference::Executor exec(m);
  auto out = exec.Run({{"x", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? (*out)[0] : Tensor();
}

TEST(QuantizeDynamicInt8, CpuTargetEmitsDynamicQuantizeMatMulWithTheBiasFoldedIn) {
  auto float_model = MlpModel();
  auto model = ir::CloneModel(*float_model);
  auto stats = ApplyConversions(*model, "dynamic-int8", "", Target("cpu"));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].converted, 2);
  EXPECT_EQ((*stats)[0].weight_bytes_before, (64 * 48 + 16 * 48) * 4);
  // int8 weights plus one float scale per column.
  EXPECT_EQ((*stats)[0].weight_bytes_after, 64 * 48 + 16 * 48 + (48 + 16) * 4);
  EXPECT_EQ(CountOp(*model, "com.microsoft.DynamicQuantizeMatMul"), 2);
  EXPECT_EQ(CountOp(*model, "MatMul") + CountOp(*model, "Gemm") + CountOp(*model, "Add"), 0);
  EXPECT_EQ(model->graph->num_nodes(), 3u);  // two quantized products and the Relu

  const Tensor x = RandomFloats({8, 64}, 11);
  const Tensor expected = RunOn(*float_model, x), actual = RunOn(*model, x);
  OutputComparison c = reference::CompareTensors("y", actual, expected, 1e9, 0);
  ASSERT_TRUE(c.match) << c.detail;
  // Stated bound: uint8 activations and int8 weights over K=64 keep the cosine above 0.999 on
  // these magnitudes; a wrong scale or transposition gives a cosine near 0.
  EXPECT_GT(c.cosine, 0.999);
  EXPECT_LT(c.max_abs_err, 0.05 * 1.0 + 0.05);
}

TEST(QuantizeDynamicInt8, StandardFormComputesWhatTheContribOperatorComputes) {
  auto cpu = ir::CloneModel(*MlpModel());
  auto generic = ir::CloneModel(*MlpModel());
  ASSERT_TRUE(ApplyConversions(*cpu, "dynamic-int8", "", Target("cpu")).ok());
  auto stats = ApplyConversions(*generic, "dynamic-int8", "", Target("generic"));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].converted, 2);
  EXPECT_EQ(CountOp(*generic, "com.microsoft.DynamicQuantizeMatMul"), 0);
  EXPECT_EQ(CountOp(*generic, "DynamicQuantizeLinear"), 2);
  EXPECT_EQ(CountOp(*generic, "MatMulInteger"), 2);
  const Tensor x = RandomFloats({5, 64}, 12);
  OutputComparison c =
      reference::CompareTensors("y", RunOn(*generic, x), RunOn(*cpu, x), 1e-5, 1e-5);
  EXPECT_TRUE(c.match) << c.detail;
}

TEST(QuantizeDynamicInt8, SmallProductsAndNonConstantWeightsStayFloat) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {2, 8});
  ir::Value* w = b.Input("w", DataType::kFloat, {8, 8});
  ir::Value* h = b.Op("MatMul", {x, w});                              // weights not constant
  h = b.Op("MatMul", {h, b.Init("small", RandomFloats({8, 4}, 1))});  // 32 weights: too few
  b.Output(h);
  auto m = b.Build();
  auto stats = ApplyConversions(*m, "dynamic-int8", "", Target("cpu"));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)[0].converted, 0);
  EXPECT_EQ((*stats)[0].kept, 2);
  EXPECT_EQ(CountOp(*m, "MatMul"), 2);
}

// The MLP with a Softmax on its output, which stays float32.
std::unique_ptr<ir::Model> MlpWithSoftmax() {
  auto model = MlpModel();
  ir::Value* y = model->graph->outputs()[0];
  ir::Node* softmax = model->graph->AddNode("Softmax", {y}, 1, "softmax");
  softmax->output(0)->type() = y->type();
  model->graph->SetOutput(0, softmax->output(0));
  return model;
}

TEST(ConvertFloat16, WeightsAndComputeBecomeHalfBehindFloatInputsAndOutputs) {
  auto float_model = MlpWithSoftmax();
  auto model = ir::CloneModel(*float_model);
  auto stats = ApplyConversions(*model, "", "fp16", Target("cuda"));
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ((*stats)[0].weight_bytes_after * 2, (*stats)[0].weight_bytes_before);
  for (const ir::Value* v : model->graph->initializers()) {
    EXPECT_EQ(v->elem_type(), DataType::kFloat16) << v->name();
  }
  EXPECT_EQ(model->graph->inputs()[0]->elem_type(), DataType::kFloat);
  EXPECT_EQ(model->graph->outputs()[0]->elem_type(), DataType::kFloat);
  EXPECT_EQ(CountOp(*model, "Cast"), 2);  // x to half; the Gemm's result back for the Softmax
  const Tensor x = RandomFloats({4, 64}, 13);
  const Tensor actual = RunOn(*model, x);
  ASSERT_EQ(actual.dtype(), DataType::kFloat);
  // Stated bound: float16 keeps about 3 decimal digits; through two products of K=64 and 48 the
  // probabilities stay within 1e-2 and the cosine above 0.999.
  OutputComparison c = reference::CompareTensors("y", actual, RunOn(*float_model, x), 1e-2, 0);
  EXPECT_TRUE(c.match) << c.detail;
  EXPECT_GT(c.cosine, 0.999);
}

TEST(ConvertFloat16, TargetsWithoutFloat16RefuseWithTheProfilesReason) {
  Status cpu = CheckConversions("", "fp16", Target("cpu"));
  EXPECT_EQ(cpu.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(cpu.message().find("does not declare float16"), std::string::npos) << cpu.message();
  EXPECT_NE(cpu.message().find("Casts"), std::string::npos) << cpu.message();
  EXPECT_EQ(CheckConversions("", "fp16", Target("generic")).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckConversions("", "fp16", Target("cuda")).ok());
  EXPECT_EQ(CheckConversions("int4", "", Target("cpu")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckConversions("dynamic-int8", "fp16", Target("cuda")).code(),
            StatusCode::kInvalidArgument);
  PipelineOptions options;
  options.target = "cpu";
  options.precision = "fp16";
  EXPECT_EQ(ValidatePipelineOptions(options).code(), StatusCode::kInvalidArgument);
  options.precision = "";
  options.max_error = -1;
  EXPECT_EQ(ValidatePipelineOptions(options).code(), StatusCode::kInvalidArgument);
}

nlohmann::json Optimize(const std::string& model, PipelineOptions options, Status* status) {
  const std::string out = TempDir() + "/converted.onnx";
  Report failed;
  auto report = OptimizeFile(model, out, options, &failed);
  *status = report.status();
  return nlohmann::json::parse(report.ok() ? report->ToJson() : failed.ToJson());
}

TEST(PrecisionPipeline, TextEncoderDynamicInt8MeasuresAccuracyAfterVerifyingThePasses) {
  PipelineOptions options;
  options.level = Level::kExtended;
  options.target = "cpu";
  options.quantize = "dynamic-int8";
  Status status;
  nlohmann::json r = Optimize(SharedModel("text_encoder.raw.onnx"), options, &status);
  ASSERT_TRUE(status.ok()) << status.ToString();
  EXPECT_EQ(r["verification"]["status"], "passed");
  EXPECT_EQ(r["verification"]["kind"], "accuracy");
  // The equivalence check of the passes ran first, at the usual tolerances.
  EXPECT_EQ(r["verification"]["atol"], 1e-4);
  ASSERT_FALSE(r["verification"]["accuracy"]["outputs"].empty());
  for (const auto& o : r["verification"]["accuracy"]["outputs"]) {
    EXPECT_GE(o["cosine"].get<double>(), 0.99) << o.dump();
    EXPECT_TRUE(o["ok"].get<bool>());
  }
  ASSERT_EQ(r["conversions"].size(), 1u);
  const auto& c = r["conversions"][0];
  EXPECT_GT(c["converted"].get<int64_t>(), 4);
  EXPECT_LT(c["weight_bytes_after"].get<int64_t>() * 3, c["weight_bytes_before"].get<int64_t>());
}

TEST(PrecisionPipeline, MaxErrorFailsTheJobWithoutBisecting) {
  PipelineOptions options;
  options.level = Level::kBasic;
  options.target = "cpu";
  options.quantize = "dynamic-int8";
  options.max_error = 1e-9;
  Status status;
  nlohmann::json r = Optimize(SharedModel("text_encoder.raw.onnx"), options, &status);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("accuracy is outside the limits"), std::string::npos)
      << status.message();
  EXPECT_EQ(r["verification"]["status"], "failed");
  EXPECT_FALSE(r["verification"].contains("culprit"));
}

TEST(PrecisionPipeline, Resnet18Float16ForCudaHalvesTheWeights) {
  PipelineOptions options;
  options.level = Level::kBasic;
  options.target = "cuda";
  options.precision = "fp16";
  Status status;
  const std::string out = TempDir() + "/resnet18_fp16.onnx";
  Report failed;
  auto report = OptimizeFile(SharedModel("resnet18.raw.onnx"), out, options, &failed);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  nlohmann::json r = nlohmann::json::parse(report->ToJson());
  EXPECT_EQ(r["verification"]["kind"], "accuracy");
  EXPECT_GE(r["verification"]["accuracy"]["outputs"][0]["cosine"].get<double>(), 0.99);
  // Stored weights: half of the float artifact's, within the few float32 constants kept.
  auto float_out = TempDir() + "/resnet18_fp32.onnx";
  options.precision = "";
  auto float_report = OptimizeFile(SharedModel("resnet18.raw.onnx"), float_out, options, nullptr);
  ASSERT_TRUE(float_report.ok());
  EXPECT_NEAR(static_cast<double>(report->bytes_after) / float_report->bytes_after, 0.5, 0.01);
  auto artifact = LoadModel(out);
  ASSERT_TRUE(artifact.ok());
  EXPECT_EQ((*artifact)->graph->inputs()[0]->elem_type(), DataType::kFloat);
  EXPECT_EQ((*artifact)->graph->outputs()[0]->elem_type(), DataType::kFloat);
}

TEST(PrecisionPipeline, DynamicInt8ArtifactRunsInOnnxRuntimeLikeOnTheReference) {
  auto model = MlpModel();
  ASSERT_TRUE(ApplyConversions(*model, "dynamic-int8", "", Target("cpu")).ok());
  // ONNX Runtime's u8s8 kernels and the reference agree up to float rounding of the scales.
  ExpectOrtParity(*model, {{"x", RandomFloats({3, 64}, 21)}}, 1e-4);
}

}  // namespace
}  // namespace graphopt::testing
