#include "optimizer/passes/precision/quantize_dynamic_int8.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// Below this many weights a quantized MatMul saves nothing: the run-time quantization of the
// activations costs more than the smaller weights win.
constexpr int64_t kMinWeights = 256;

struct QuantizedWeights {
  Tensor q;      // int8 [K, N]
  Tensor scale;  // float [N]
  Tensor zero;   // int8 [N], all 0 (symmetric)
};

// Symmetric per-column int8 in [-127, 127] (zero point 0), so that -w quantizes to -q. ONNX
// Runtime's u8s8 kernels on AVX2 without VNNI can saturate int16 pair sums near the range's
// ends; with VNNI (and the reference executor) the products are exact.
QuantizedWeights QuantizePerColumn(const Tensor& w, bool transposed) {
  const int64_t rows = w.shape()[0], cols = w.shape()[1];
  const int64_t k = transposed ? cols : rows, n = transposed ? rows : cols;
  const float* src = w.data<float>();
  auto at = [&](int64_t i, int64_t j) {
    return transposed ? src[j * cols + i] : src[i * cols + j];
  };
  std::vector<float> scale(static_cast<size_t>(n), 1.0f);
  for (int64_t j = 0; j < n; ++j) {
    float max_abs = 0;
    for (int64_t i = 0; i < k; ++i) max_abs = std::max(max_abs, std::fabs(at(i, j)));
    if (max_abs > 0 && std::isfinite(max_abs)) scale[static_cast<size_t>(j)] = max_abs / 127.0f;
  }
  QuantizedWeights out{Tensor(DataType::kInt8, {k, n}),
                       Tensor::FromVector<float>(DataType::kFloat, {n}, scale),
                       Tensor(DataType::kInt8, {n})};
  int8_t* q = out.q.mutable_data<int8_t>();
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const double v = std::nearbyint(at(i, j) / scale[static_cast<size_t>(j)]);
      q[i * n + j] = static_cast<int8_t>(std::clamp(v, -127.0, 127.0));
    }
  }
  return out;
}

// What one MatMul/Gemm becomes: activations, weights (float, maybe transposed) and an optional
// float bias [N], plus the node whose output the quantized result replaces.
struct Candidate {
  ir::Node* node = nullptr;
  ir::Value* a = nullptr;
  const Tensor* w = nullptr;
  bool w_transposed = false;
  ir::Value* bias = nullptr;     // float [N] constant
  ir::Node* bias_add = nullptr;  // the Add folded in, if any
  ir::Value* result = nullptr;
};

bool IsFloatVectorOf(const ir::Value* v, int64_t n) {
  const Tensor* t = ConstantValue(v);
  return t && t->dtype() == DataType::kFloat && t->rank() == 1 && t->shape()[0] == n;
}

std::optional<Candidate> Match(ir::Node* n) {
  if (!n->Is("MatMul") && !n->Is("Gemm")) return std::nullopt;
  Candidate c;
  c.node = n;
  c.a = n->input(0);
  c.w = ConstantValue(n->input(1));
  if (!c.a || c.a->elem_type() != DataType::kFloat || !c.w || c.w->dtype() != DataType::kFloat ||
      c.w->rank() != 2 || c.w->size() < kMinWeights) {
    return std::nullopt;
  }
  int64_t cols = c.w->shape()[1];
  if (n->Is("Gemm")) {
    if (n->GetInt("transA", 0) != 0 || n->GetFloat("alpha", 1.0f) != 1.0f) return std::nullopt;
    c.w_transposed = n->GetInt("transB", 0) != 0;
    if (c.w_transposed) cols = c.w->shape()[0];
    if (ir::Value* bias = n->input(2)) {
      if (n->GetFloat("beta", 1.0f) != 1.0f || !IsFloatVectorOf(bias, cols)) return std::nullopt;
      c.bias = bias;
    }
  }
  c.result = n->output(0);
  // MatMul + Add(constant [N]): the bias rides along into the quantized node.
  if (n->Is("MatMul") && HasSingleUse(c.result)) {
    ir::Node* add = c.result->uses().front().node;
    if (add->Is("Add") && add->inputs().size() == 2) {
      ir::Value* other = add->input(add->input(0) == c.result ? 1 : 0);
      if (IsFloatVectorOf(other, cols)) {
        c.bias = other;
        c.bias_add = add;
        c.result = add->output(0);
      }
    }
  }
  return c;
}

// DynamicQuantizeLinear(A) -> MatMulInteger(A_q, W_q, a_zp, w_zp) -> Cast -> Mul(a_scale) ->
// Mul(w_scale) [-> Add(bias)]: the same arithmetic in operators every runtime has.
ir::Value* EmitStandard(ir::Graph& g, const Candidate& c, ir::Value* wq, ir::Value* wscale,
                        ir::Value* wzero) {
  const std::string hint = c.node->name().empty() ? "matmul" : c.node->name();
  ir::Node* dq = g.AddNode("DynamicQuantizeLinear", {c.a}, 3, hint + "_quant_a");
  ir::Node* mm =
      g.AddNode("MatMulInteger", {dq->output(0), wq, dq->output(2), wzero}, 1, hint + "_int8");
  ir::Node* cast = g.AddNode("Cast", {mm->output(0)}, 1, hint + "_to_float");
  cast->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  ir::Node* by_a = g.AddNode("Mul", {cast->output(0), dq->output(1)}, 1, hint + "_a_scale");
  ir::Node* by_w = g.AddNode("Mul", {by_a->output(0), wscale}, 1, hint + "_w_scale");
  ir::Value* y = by_w->output(0);
  if (c.bias) y = g.AddNode("Add", {y, c.bias}, 1, hint + "_bias")->output(0);
  return y;
}

}  // namespace

ConversionStats QuantizeDynamicInt8(ir::Model& model, const TargetProfile& target) {
  ConversionStats stats;
  stats.name = "quantize_dynamic_int8";
  ir::Graph& g = *model.graph;
  const bool contrib = target.Allows("com.microsoft", "DynamicQuantizeMatMul");
  stats.notes.push_back(contrib ? "MatMul/Gemm -> com.microsoft.DynamicQuantizeMatMul"
                                : "MatMul/Gemm -> DynamicQuantizeLinear + MatMulInteger (standard "
                                  "ONNX; the target does not list DynamicQuantizeMatMul)");
  std::set<const ir::Node*> removed;  // bias Adds folded into an earlier candidate
  // Weights shared by several products (tied layers) are quantized once and stay shared.
  struct Quantized {
    ir::Value *q, *scale, *zero;
  };
  std::map<std::pair<const ir::Value*, bool>, Quantized> quantized;
  for (ir::Node* n : g.nodes()) {
    if (removed.count(n)) continue;
    std::optional<Candidate> c = Match(n);
    if (!c) {
      if (n->Is("MatMul") || n->Is("Gemm")) ++stats.kept;
      continue;
    }
    const std::string hint = n->name().empty() ? "matmul" : n->name();
    auto key = std::make_pair(static_cast<const ir::Value*>(n->input(1)), c->w_transposed);
    auto cached = quantized.find(key);
    if (cached == quantized.end()) {
      QuantizedWeights qw = QuantizePerColumn(*c->w, c->w_transposed);
      stats.weight_bytes_before += static_cast<int64_t>(c->w->nbytes());
      stats.weight_bytes_after += static_cast<int64_t>(qw.q.nbytes() + qw.scale.nbytes());
      Quantized values{g.NewInitializer(hint + "_w_int8", std::move(qw.q)),
                       g.NewInitializer(hint + "_w_scale", std::move(qw.scale)),
                       g.NewInitializer(hint + "_w_zero_point", std::move(qw.zero))};
      cached = quantized.emplace(key, values).first;
    }
    ir::Value* wq = cached->second.q;
    ir::Value* wscale = cached->second.scale;
    ir::Value* wzero = cached->second.zero;
    ir::Value* y;
    if (contrib) {
      std::vector<ir::Value*> inputs = {c->a, wq, wscale, wzero};
      if (c->bias) inputs.push_back(c->bias);
      y = g.AddNode("DynamicQuantizeMatMul", inputs, 1, hint + "_dynamic_int8", "com.microsoft")
              ->output(0);
    } else {
      y = EmitStandard(g, *c, wq, wscale, wzero);
    }
    y->type() = c->result->type();
    if (!ReplaceValue(g, c->result, y)) {
      // The result is a graph output that cannot take the new value's name: leave this one.
      RemoveIfDead(g, y->producer());
      ++stats.kept;
      continue;
    }
    if (c->bias_add) {
      removed.insert(c->bias_add);
      g.RemoveNode(c->bias_add);
    }
    ir::Value* float_weights = n->input(1);
    RemoveIfDead(g, n);
    // The float weights go with the node unless something else reads them.
    if (float_weights->has_initializer() && float_weights->uses().empty() &&
        !float_weights->is_graph_input() && !float_weights->is_graph_output()) {
      g.RemoveInitializer(float_weights);
    }
    ++stats.converted;
  }
  if (contrib && stats.converted > 0 && model.OpsetVersion("com.microsoft") <= 0) {
    model.SetOpsetVersion("com.microsoft", 1);
  }
  g.PruneOrphanValues();
  (void)g.SortTopologically();
  return stats;
}

}  // namespace graphopt
