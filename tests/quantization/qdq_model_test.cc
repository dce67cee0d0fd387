// QDQ models built in the test from float ones, the way ONNX Runtime's static quantizer builds
// them: activations read by Conv/MatMul/Gemm get QuantizeLinear -> DequantizeLinear (uint8,
// per-tensor scale and zero point calibrated on a few random batches), weights are stored int8
// (symmetric, per tensor or per output channel) behind a DequantizeLinear. The QDQ model must
// stay close to the float one on the reference executor, and `graphopt optimize` must verify it
// and keep its weights quantized (no folding DequantizeLinear(weight) back into float).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "optimizer/io/model_io.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using ir::Node;
using ir::Value;

struct Range {
  float lo = 0, hi = 0;  // widened to include 0
};

// The graph's first input with symbolic dims set to 1, filled with random values per seed.
std::map<std::string, Tensor> RandomInput(const ir::Model& m, uint64_t seed) {
  const Value* in = m.graph->inputs()[0];
  Shape shape;
  for (const ir::Dim& d : *in->type().shape) shape.push_back(d.known() ? d.value : 1);
  return {{in->name(), RandomFloats(shape, seed)}};
}

// The constant float tensor behind `v`, seen through Identity nodes (PyTorch's exports read
// shared parameters through them), or nullptr.
const Tensor* ConstantWeight(const Value* v) {
  while (v && !v->has_initializer() && v->producer() && v->producer()->Is("Identity")) {
    v = v->producer()->input(0);
  }
  return v && v->has_initializer() && v->initializer()->dtype() == DataType::kFloat
             ? v->initializer()
             : nullptr;
}

// Conv/MatMul/Gemm nodes whose input 1 is a constant float weight: what a static quantizer takes.
std::vector<Node*> QuantizableNodes(const ir::Model& m) {
  std::vector<Node*> out;
  for (Node* n : m.graph->nodes()) {
    if ((n->Is("Conv") || n->Is("MatMul") || n->Is("Gemm")) && ConstantWeight(n->input(1))) {
      out.push_back(n);
    }
  }
  return out;
}

// Min/max of every activation read by a quantizable node over `batches` random inputs, from a
// copy of the model that also outputs those values.
std::map<std::string, Range> Calibrate(const std::string& path, int batches) {
  auto copy = LoadModel(path);
  EXPECT_TRUE(copy.ok());
  ir::Model& m = **copy;
  std::vector<std::string> names;
  for (Node* n : QuantizableNodes(m)) {
    const std::string& name = n->input(0)->name();
    if (std::find(names.begin(), names.end(), name) != names.end()) continue;
    names.push_back(name);
    m.graph->AddOutput(n->input(0));
  }
  std::map<std::string, Range> ranges;
  reference::Executor exec(m);
  const size_t first = m.graph->outputs().size() - names.size();
  for (int b = 0; b < batches; ++b) {
    auto out = exec.Run(RandomInput(m, 100 + static_cast<uint64_t>(b)));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return {};
    for (size_t k = 0; k < names.size(); ++k) {
      const Tensor& t = (*out)[first + k];
      Range& r = ranges[names[k]];
      for (int64_t i = 0; i < t.size(); ++i) {
        r.lo = std::min(r.lo, static_cast<float>(t.GetDouble(i)));
        r.hi = std::max(r.hi, static_cast<float>(t.GetDouble(i)));
      }
    }
  }
  return ranges;
}

// Symmetric int8 quantization of a float weight, one scale for all or one per index of `axis`.
struct QuantizedWeight {
  Tensor q, scale, zero;
};
QuantizedWeight QuantizeWeight(const Tensor& w, int64_t axis, bool per_channel) {
  const int64_t channels = per_channel ? w.shape()[static_cast<size_t>(axis)] : 1;
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < w.shape().size(); ++d) inner *= w.shape()[d];
  auto channel = [&](int64_t i) { return per_channel ? (i / inner) % channels : 0; };
  std::vector<float> max_abs(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < w.size(); ++i) {
    float& m = max_abs[static_cast<size_t>(channel(i))];
    m = std::max(m, std::abs(w.data<float>()[i]));
  }
  std::vector<float> scale(max_abs.size());
  for (size_t c = 0; c < scale.size(); ++c) scale[c] = max_abs[c] > 0 ? max_abs[c] / 127 : 1.0f;
  QuantizedWeight r;
  r.q = Tensor(DataType::kInt8, w.shape());
  for (int64_t i = 0; i < w.size(); ++i) {
    const float v = std::nearbyint(w.data<float>()[i] / scale[static_cast<size_t>(channel(i))]);
    r.q.mutable_data<int8_t>()[i] = static_cast<int8_t>(std::clamp(v, -127.0f, 127.0f));
  }
  const Shape s = per_channel ? Shape{channels} : Shape{};
  r.scale = Tensor::FromVector<float>(DataType::kFloat, s, scale);
  r.zero = Tensor(DataType::kInt8, s);
  return r;
}

bool IsGraphOutput(const ir::Graph& g, const Value* v) {
  return std::find(g.outputs().begin(), g.outputs().end(), v) != g.outputs().end();
}

struct QdqCounts {
  int64_t activations = 0, weights = 0;
};

// Rewrites `m` (loaded from the float model) into its QDQ form with the calibrated ranges.
QdqCounts MakeQdq(ir::Model& m, const std::map<std::string, Range>& ranges, bool per_channel) {
  ir::Graph& g = *m.graph;
  std::map<Value*, Value*> dequantized;  // activation -> its DQ output
  QdqCounts counts;
  for (Node* n : QuantizableNodes(m)) {
    Value* act = n->input(0);
    if (!dequantized.count(act)) {
      const Range r = ranges.at(act->name());
      const float scale = r.hi > r.lo ? (r.hi - r.lo) / 255 : 1.0f;
      const auto zero =
          static_cast<uint8_t>(std::clamp(std::nearbyint(-r.lo / scale), 0.0f, 255.0f));
      Value* s = g.NewInitializer(act->name() + "_scale", Tensor::ScalarFloat(scale));
      Value* z = g.NewInitializer(act->name() + "_zero",
                                  Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {zero}));
      Node* q = g.AddNode("QuantizeLinear", {act, s, z}, 1, act->name() + "_QuantizeLinear");
      Node* dq =
          g.AddNode("DequantizeLinear", {q->output(0), s, z}, 1, act->name() + "_DequantizeLinear");
      dequantized[act] = dq->output(0);
      ++counts.activations;
    }
    n->SetInput(0, dequantized[act]);
    Value* w = n->input(1);
    // Output channels: Conv's axis 0, MatMul's last axis, Gemm's by transB.
    const Tensor& weight = *ConstantWeight(w);
    const int64_t axis = n->Is("Conv")     ? 0
                         : n->Is("MatMul") ? weight.rank() - 1
                                           : (n->GetInt("transB", 0) ? 0 : 1);
    QuantizedWeight qw = QuantizeWeight(weight, axis, per_channel);
    Value* wq = g.NewInitializer(w->name() + "_quantized", std::move(qw.q));
    Value* ws = g.NewInitializer(w->name() + "_scale", std::move(qw.scale));
    Value* wz = g.NewInitializer(w->name() + "_zero", std::move(qw.zero));
    Node* dqw = g.AddNode("DequantizeLinear", {wq, ws, wz}, 1, w->name() + "_DequantizeLinear");
    if (per_channel) dqw->SetInt("axis", axis);
    n->SetInput(1, dqw->output(0));
    ++counts.weights;
  }
  // The float weights (and the Identity nodes that passed them on) are now unread.
  for (bool removed = true; removed;) {
    removed = false;
    for (Node* n : g.nodes()) {
      if (n->Is("Identity") && n->output(0)->uses().empty() && !IsGraphOutput(g, n->output(0))) {
        g.RemoveNode(n);
        removed = true;
      }
    }
  }
  for (Value* v : g.initializers()) {
    const bool is_input = std::find(g.inputs().begin(), g.inputs().end(), v) != g.inputs().end();
    if (v->uses().empty() && !IsGraphOutput(g, v) && !is_input) g.RemoveInitializer(v);
  }
  g.PruneOrphanValues();
  EXPECT_TRUE(g.SortTopologically().ok());
  for (auto& [domain, version] : m.opset_imports) {
    if (domain.empty() || domain == "ai.onnx") version = std::max<int64_t>(version, 13);
  }
  return counts;
}

// DequantizeLinear nodes that read an int8 initializer: weights still stored quantized.
int64_t QuantizedWeightReaders(const ir::Model& m) {
  int64_t n = 0;
  for (const Node* node : m.graph->nodes()) {
    n += node->Is("DequantizeLinear") && node->input(0)->has_initializer() &&
         node->input(0)->initializer()->dtype() == DataType::kInt8;
  }
  return n;
}

struct Closeness {
  double max_abs = 0, max_ref = 0, cosine = 0;
};
Closeness Compare(const Tensor& a, const Tensor& ref) {
  Closeness c;
  double dot = 0, na = 0, nr = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    const double x = a.GetDouble(i), y = ref.GetDouble(i);
    c.max_abs = std::max(c.max_abs, std::abs(x - y));
    c.max_ref = std::max(c.max_ref, std::abs(y));
    dot += x * y;
    na += x * x;
    nr += y * y;
  }
  c.cosine = dot / std::sqrt(na * nr);
  return c;
}

// Optimizes `path` with the CLI at `level`; returns the report (empty on failure).
nlohmann::json Optimize(const std::string& path, const std::string& level, std::string* artifact) {
  *artifact = TempDir() + "/qdq." + level + ".onnx";
  const std::string report = TempDir() + "/qdq." + level + ".json";
  std::string out, err;
  const int code = RunCommand(CliPath() + " optimize " + path + " -o " + *artifact + " --level " +
                                  level + " --report " + report,
                              &out, &err);
  EXPECT_EQ(code, 0) << out << err;
  std::ifstream in(report);
  return in ? nlohmann::json::parse(in, nullptr, false) : nlohmann::json();
}

class QdqResnet18 : public ::testing::TestWithParam<bool> {};

// Tolerance: QDQ with uint8 activations and int8 weights changes resnet18's logits by a few
// percent of their range; the classifier's direction must survive (cosine >= 0.99) and no logit
// may move by more than 15% of the largest float logit.
TEST_P(QdqResnet18, StaysCloseToFloatAndOptimizesWithWeightsQuantized) {
  const bool per_channel = GetParam();
  const std::string path = SharedModel("resnet18.raw.onnx");
  const auto ranges = Calibrate(path, 3);
  ASSERT_FALSE(ranges.empty());
  auto float_model = LoadModel(path);
  auto qdq = LoadModel(path);
  ASSERT_TRUE(float_model.ok() && qdq.ok());
  const QdqCounts counts = MakeQdq(**qdq, ranges, per_channel);
  EXPECT_EQ(counts.weights, 21);  // 20 Conv + 1 Gemm
  EXPECT_EQ(CountOp(**qdq, "DequantizeLinear"), counts.activations + counts.weights);
  EXPECT_EQ(CountOp(**qdq, "QuantizeLinear"), counts.activations);

  const auto input = RandomInput(**float_model, 7);  // not a calibration batch
  reference::Executor fexec(**float_model), qexec(**qdq);
  auto fy = fexec.Run(input);
  auto qy = qexec.Run(input);
  ASSERT_TRUE(fy.ok() && qy.ok()) << qy.status().ToString();
  const Closeness c = Compare((*qy)[0], (*fy)[0]);
  std::printf("resnet18 %s: max abs err %.4f of max |logit| %.4f, cosine %.5f\n",
              per_channel ? "per-channel" : "per-tensor", c.max_abs, c.max_ref, c.cosine);
  EXPECT_GE(c.cosine, 0.99);
  EXPECT_LE(c.max_abs, 0.15 * c.max_ref);

  const std::string qdq_path = TempDir() + "/resnet18.qdq.onnx";
  ASSERT_TRUE(SaveModel(**qdq, qdq_path).ok());
  for (const std::string level : {"basic", "extended"}) {
    SCOPED_TRACE(level);
    std::string artifact;
    const nlohmann::json report = Optimize(qdq_path, level, &artifact);
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["verification"]["status"], "passed") << report["verification"].dump();
    auto opt = LoadModel(artifact);
    ASSERT_TRUE(opt.ok());
    EXPECT_EQ(QuantizedWeightReaders(**opt), counts.weights);
    EXPECT_EQ(CountOp(**opt, "QuantizeLinear"), counts.activations);
  }
}

INSTANTIATE_TEST_SUITE_P(Quantization, QdqResnet18, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "PerChannel" : "PerTensor"; });

// A two-layer MatMul model built here, quantized per output column.
TEST(QdqMatMul, PerColumnWeightsStayCloseToFloat) {
  ModelBuilder b(17);
  Value* x = b.Input("x", DataType::kFloat, {4, 16});
  Value* h = b.Op("MatMul", {x, b.Init("w1", RandomFloats({16, 32}, 41))});
  h = b.Op("Relu", {b.Op("Add", {h, b.Init("b1", RandomFloats({32}, 42))})});
  b.Output(b.Op("MatMul", {h, b.Init("w2", RandomFloats({32, 8}, 43))}));
  const std::string path = TempDir() + "/mlp.onnx";
  ASSERT_TRUE(SaveModel(b.model(), path).ok());
  const auto ranges = Calibrate(path, 4);
  auto qdq = LoadModel(path);
  ASSERT_TRUE(qdq.ok());
  const QdqCounts counts = MakeQdq(**qdq, ranges, true);
  EXPECT_EQ(counts.activations, 2);
  EXPECT_EQ(counts.weights, 2);
  const auto input = RandomInput(b.model(), 9);
  reference::Executor fexec(b.model()), qexec(**qdq);
  auto fy = fexec.Run(input);
  auto qy = qexec.Run(input);
  ASSERT_TRUE(fy.ok() && qy.ok()) << qy.status().ToString();
  const Closeness c = Compare((*qy)[0], (*fy)[0]);
  std::printf("mlp per-column: max abs err %.4f of max |y| %.4f, cosine %.5f\n", c.max_abs,
              c.max_ref, c.cosine);
  EXPECT_GE(c.cosine, 0.999);
  EXPECT_LE(c.max_abs, 0.05 * c.max_ref);
}

}  // namespace
}  // namespace graphopt::testing
