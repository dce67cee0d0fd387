// Verification: a model matches itself; a copy with one mutated weight must fail, through the
// Evaluator API and through `graphopt verify`'s exit code. Also input generation and .pb I/O.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/reference/executor.h"
#include "backends/reference/inputs.h"
#include "backends/reference/tensor_compare.h"
#include "cli/command.h"
#include "optimizer/evaluator.h"
#include "optimizer/io/model_io.h"
#include "support/test_support.h"

namespace graphopt::reference {
namespace {

const char* kModel = "squeezenet1_1.raw.onnx";

// The first float initializer feeding a Conv, with `delta` added to its first element.
void MutateFirstConvWeight(ir::Model& model, float delta) {
  for (ir::Node* n : model.graph->nodes()) {
    if (n->op_type() != "Conv") continue;
    ir::Value* w = n->input(1);
    while (w && !w->has_initializer() && w->producer() && w->producer()->op_type() == "Identity") {
      w = w->producer()->input(0);
    }
    ASSERT_TRUE(w && w->has_initializer());
    Tensor t = *w->initializer();
    t.mutable_data<float>()[0] += delta;
    model.graph->SetInitializer(w, t);
    return;
  }
  FAIL() << "no Conv in the model";
}

TEST(Verification, ModelMatchesItself) {
  auto a = LoadModel(testing::SharedModel(kModel));
  auto b = LoadModel(testing::SharedModel(kModel));
  ASSERT_TRUE(a.ok() && b.ok());
  VerifyOptions options;
  options.dims["batch"] = 1;
  auto result = MakeReferenceEvaluator()->Verify(**a, **b, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_TRUE(result->passed) << result->message;
  ASSERT_EQ(result->outputs.size(), 1u);
  EXPECT_EQ(result->outputs[0].max_abs_err, 0.0);
}

TEST(Verification, OneMutatedWeightFailsThroughTheApi) {
  auto a = LoadModel(testing::SharedModel(kModel));
  auto b = LoadModel(testing::SharedModel(kModel));
  ASSERT_TRUE(a.ok() && b.ok());
  MutateFirstConvWeight(**b, 5.0f);
  VerifyOptions options;
  options.dims["batch"] = 1;
  auto result = MakeReferenceEvaluator()->Verify(**a, **b, options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->passed);
  ASSERT_EQ(result->outputs.size(), 1u);
  EXPECT_FALSE(result->outputs[0].match);
  EXPECT_GT(result->outputs[0].max_abs_err, options.atol);
  EXPECT_FALSE(result->outputs[0].detail.empty());
}

TEST(Verification, OneMutatedWeightFailsThroughTheCli) {
  auto b = LoadModel(testing::SharedModel(kModel));
  ASSERT_TRUE(b.ok());
  MutateFirstConvWeight(**b, 5.0f);
  const std::string mutated = testing::TempDir() + "/mutated.onnx";
  ASSERT_TRUE(SaveModel(**b, mutated).ok());
  std::string out, err;
  const std::string original = testing::SharedModel(kModel);
  const int same = testing::RunCommand(
      testing::CliPath() + " verify " + original + " " + original + " --dim batch=1", &out, &err);
  EXPECT_EQ(same, cli::kExitOk) << out << err;
  const int differ = testing::RunCommand(
      testing::CliPath() + " verify " + original + " " + mutated + " --dim batch=1", &out, &err);
  EXPECT_EQ(differ, cli::kExitMismatch) << out << err;
  EXPECT_NE(out.find("MISMATCH"), std::string::npos) << out;
  const int missing = testing::RunCommand(
      testing::CliPath() + " verify " + original + " /nonexistent.onnx", &out, &err);
  EXPECT_EQ(missing, cli::kExitError);
}

TEST(Verification, CompareTensorsTolerancesAndNaNPlacement) {
  const auto f = [](std::vector<float> v) {
    return Tensor::FromVector<float>(DataType::kFloat, {static_cast<int64_t>(v.size())}, v);
  };
  EXPECT_TRUE(CompareTensors("y", f({1.0f, 2.0f}), f({1.0f, 2.0005f}), 1e-4, 1e-3).match);
  EXPECT_FALSE(CompareTensors("y", f({1.0f, 2.0f}), f({1.0f, 2.01f}), 1e-4, 1e-3).match);
  const float nan = std::nanf("");
  EXPECT_TRUE(CompareTensors("y", f({nan, 1}), f({nan, 1}), 0, 0).match);
  auto misplaced = CompareTensors("y", f({nan, 1}), f({1, nan}), 1, 1);
  EXPECT_FALSE(misplaced.match);
  EXPECT_NE(misplaced.detail.find("NaN"), std::string::npos);
  const float inf = INFINITY;
  EXPECT_FALSE(CompareTensors("y", f({inf}), f({-inf}), 1, 1).match);
  EXPECT_FALSE(CompareTensors("y", f({1, 2}), f({1, 2, 3}), 1, 1).match);
  EXPECT_FALSE(CompareTensors("y", Tensor::Int64s({3}), Tensor::Int64s({4}), 10, 10).match);
  auto dtype = CompareTensors("y", Tensor::Int64s({1}), f({1}), 1, 1);
  EXPECT_FALSE(dtype.match);
  EXPECT_NE(dtype.detail.find("dtype"), std::string::npos);
}

TEST(Inputs, GenerationIsDeterministicAndFollowsTheRules) {
  testing::ModelBuilder b(17);
  b.InputSymbolic("pixels", DataType::kFloat, {{-1, "batch"}, {8, ""}});
  b.Input("input_ids", DataType::kInt64, {64});
  b.Input("attention_mask", DataType::kInt64, {4});
  b.Input("flags", DataType::kBool, {3});
  b.Input("half", DataType::kFloat16, {16});
  auto model = b.Build();
  InputOptions options;
  options.dims["batch"] = 2;
  options.int_ranges["input_ids"] = 7;
  auto first = GenerateInputs(*model->graph, options);
  auto second = GenerateInputs(*model->graph, options);
  ASSERT_TRUE(first.ok() && second.ok());
  const Tensor& px = first->at("pixels");
  EXPECT_EQ(px.shape(), (Shape{2, 8}));
  EXPECT_TRUE(px.SameContents(second->at("pixels")));
  bool varied = false;
  for (int64_t i = 0; i < px.size(); ++i) {
    EXPECT_GE(px.data<float>()[i], -1.0f);
    EXPECT_LE(px.data<float>()[i], 1.0f);
    varied = varied || px.data<float>()[i] != px.data<float>()[0];
  }
  EXPECT_TRUE(varied);
  for (int64_t v : first->at("input_ids").ToInt64Vector()) {
    EXPECT_GE(v, 0);
    EXPECT_LT(v, 7);
  }
  EXPECT_EQ(first->at("attention_mask").ToInt64Vector(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(first->at("flags").ToInt64Vector(), (std::vector<int64_t>{1, 1, 1}));
  for (int64_t i = 0; i < 16; ++i) EXPECT_LE(std::fabs(first->at("half").GetDouble(i)), 1.0);
  options.seed = 1;
  auto other = GenerateInputs(*model->graph, options);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(px.SameContents(other->at("pixels")));
}

TEST(Inputs, TensorFilesRoundTrip) {
  const std::string path = testing::TempDir() + "/t.pb";
  const Tensor t = Tensor::FromVector<float>(DataType::kFloat, {2, 2}, {1, -2, 3.5f, 4});
  ASSERT_TRUE(WriteTensorFile(path, t, "t").ok());
  auto back = ReadTensorFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->SameContents(t));
  EXPECT_EQ(ReadTensorFile("/nonexistent.pb").status().code(), StatusCode::kNotFound);
}

TEST(RunCommand, RefusesAbsurdDimsBeforeAllocating) {
  std::string out, err;
  const int code = testing::RunCommand(
      testing::CliPath() + " run " + testing::SharedModel(kModel) + " --dim batch=100000", &out,
      &err);
  EXPECT_EQ(code, cli::kExitError);
  EXPECT_NE(err.find("RESOURCE_EXHAUSTED"), std::string::npos) << err;
  const int verify = testing::RunCommand(testing::CliPath() + " verify " +
                                             testing::SharedModel(kModel) + " " +
                                             testing::SharedModel(kModel) + " --dim batch=100000",
                                         &out, &err);
  EXPECT_EQ(verify, cli::kExitError);
}

TEST(RunCommand, WritesOutputsThatMatchTheExecutor) {
  const std::string dir = testing::TempDir();
  const std::string input = dir + "/x.pb";
  std::vector<float> values(3 * 224 * 224);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
  const Tensor x = Tensor::FromVector<float>(DataType::kFloat, {1, 3, 224, 224}, values);
  ASSERT_TRUE(WriteTensorFile(input, x, "input").ok());
  std::string out, err;
  const int code = testing::RunCommand(testing::CliPath() + " run " + testing::SharedModel(kModel) +
                                           " --input input=" + input + " --output-dir " + dir +
                                           "/out --repeat 2",
                                       &out, &err);
  ASSERT_EQ(code, 0) << out << err;
  EXPECT_NE(out.find("output  float [1,1000]"), std::string::npos) << out;
  EXPECT_NE(out.find("median time"), std::string::npos) << out;
  auto written = ReadTensorFile(dir + "/out/output.pb");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  auto model = LoadModel(testing::SharedModel(kModel));
  ASSERT_TRUE(model.ok());
  Executor executor(**model);
  auto direct = executor.Run({{"input", x}});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  EXPECT_TRUE(written->SameContents((*direct)[0]));
}

}  // namespace
}  // namespace graphopt::reference
