#include "optimizer/analysis/model_metrics.h"

#include <algorithm>
#include <optional>
#include <set>

#include "optimizer/analysis/memory_plan.h"
#include "optimizer/ir/graph.h"
#include "optimizer/ir/nchwc_layout.h"
#include "optimizer/ir/symbolic_dim.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

using Dims = std::map<std::string, int64_t>;

// The shape of `v` at `dims`; nullopt when unknown.
std::optional<Shape> ShapeAt(const ir::Value* v, const Dims& dims) {
  if (v == nullptr || !v->type().shape) return std::nullopt;
  Shape shape;
  for (const ir::Dim& d : *v->type().shape) {
    if (d.known()) {
      shape.push_back(d.value);
    } else if (d.param.empty()) {
      return std::nullopt;
    } else {
      std::optional<int64_t> value = ir::SymbolicDim::Parse(d.param).Evaluate(dims);
      if (!value || *value < 0) return std::nullopt;
      shape.push_back(*value);
    }
  }
  return shape;
}

// Element count, nullopt when it does not fit (never wraps).
std::optional<int64_t> Count(const Shape& shape) {
  if (!ElementCountFits(shape, 1)) return std::nullopt;
  return NumElements(shape);
}

// Products below are of counts that fit; a product that would not is reported unknown.
std::optional<int64_t> Mul(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a || !b) return std::nullopt;
  int64_t out = 0;
  if (__builtin_mul_overflow(*a, *b, &out)) return std::nullopt;
  return out;
}

std::optional<int64_t> TailProduct(const Shape& s, size_t from) {
  return Count(Shape(s.begin() + std::min(from, s.size()), s.end()));
}

bool IsConv(const ir::Node& n) {
  if (n.is_onnx_domain()) {
    return n.op_type() == "Conv" || n.op_type() == "ConvTranspose" ||
           n.op_type() == "ConvInteger" || n.op_type() == "QLinearConv";
  }
  return (n.domain() == kMs && n.op_type() == "FusedConv") ||
         (n.domain() == ir::kNchwcDomain && n.op_type() == "Conv");
}

bool IsMatMul(const ir::Node& n) {
  if (n.is_onnx_domain()) {
    return n.op_type() == "MatMul" || n.op_type() == "Gemm" || n.op_type() == "MatMulInteger" ||
           n.op_type() == "QLinearMatMul";
  }
  return n.domain() == kMs &&
         (n.op_type() == "FusedMatMul" || n.op_type() == "FusedGemm" ||
          n.op_type() == "DynamicQuantizeMatMul" || n.op_type() == "MatMulIntegerToFloat");
}

bool IsAttention(const ir::Node& n) {
  return n.domain() == kMs && (n.op_type() == "Attention" || n.op_type() == "MultiHeadAttention");
}

// Operators that move or view data, or only read shapes: no arithmetic.
bool IsDataMovement(const ir::Node& n) {
  static const std::set<std::string> ops = {
      "Reshape",       "Flatten",      "Squeeze",     "Unsqueeze", "Shape", "Size",
      "Constant",      "Identity",     "Transpose",   "Concat",    "Slice", "Gather",
      "Split",         "Expand",       "Tile",        "Dropout",   "Pad",   "ReorderInput",
      "ReorderOutput", "DepthToSpace", "SpaceToDepth"};
  return ops.count(n.op_type()) > 0;
}

// The dimension a MatMul or Gemm reduces over (K of A[M,K]).
std::optional<int64_t> MatMulK(const ir::Node& n, const Dims& dims) {
  // QLinearMatMul: a is input 0 as well; quantization parameters follow.
  std::optional<Shape> a = ShapeAt(n.input(0), dims);
  if (!a || a->empty()) return std::nullopt;
  const bool gemm = n.op_type() == "Gemm" || n.op_type() == "FusedGemm";
  const bool trans_a = n.GetInt("transA", 0) != 0;
  if (gemm) {
    if (a->size() != 2) return std::nullopt;
    return trans_a ? (*a)[0] : (*a)[1];
  }
  if (trans_a && a->size() >= 2) return (*a)[a->size() - 2];
  return a->back();
}

// MACs of one node of a family, nullopt when a needed shape is unknown.
std::optional<int64_t> ConvMacs(const ir::Node& n, const Dims& dims) {
  // Every output (input, for ConvTranspose) element is a dot product over one filter's
  // [C/group, k...]: W is [M, C/group, k...] ([C, M/group, k...] for ConvTranspose). The
  // blocked nchwc Conv keeps a 4-D padded filter, so its padded channels count as work.
  const bool transpose = n.op_type() == "ConvTranspose";
  const size_t weight_index = n.op_type() == "QLinearConv" ? 3 : 1;
  std::optional<Shape> w = ShapeAt(n.input(weight_index), dims);
  std::optional<Shape> ref = ShapeAt(transpose ? n.input(0) : n.output(0), dims);
  if (!w || !ref || w->size() < 2) return std::nullopt;
  return Mul(Count(*ref), TailProduct(*w, 1));
}

std::optional<int64_t> MatMulMacs(const ir::Node& n, const Dims& dims) {
  std::optional<Shape> y = ShapeAt(n.output(0), dims);
  if (!y) return std::nullopt;
  return Mul(Count(*y), MatMulK(n, dims));
}

std::optional<int64_t> AttentionMacs(const ir::Node& n, const Dims& dims) {
  std::optional<Shape> x = ShapeAt(n.input(0), dims);
  std::optional<Shape> y = ShapeAt(n.output(0), dims);
  if (!x || !y || x->size() != 3 || y->size() != 3) return std::nullopt;
  const int64_t tokens = (*x)[0] * (*x)[1], seq = (*x)[1];
  if (n.op_type() == "Attention") {
    // Projection X[B,S,D] x W[D,Q+K+V], then Q·K^T and softmax(..)·V over S keys.
    std::optional<Shape> w = ShapeAt(n.input(1), dims);
    if (!w || w->size() != 2) return std::nullopt;
    std::vector<int64_t> qkv = n.GetInts("qkv_hidden_sizes");
    const int64_t q = qkv.size() == 3 ? qkv[0] : (*w)[1] / 3;
    const int64_t v = qkv.size() == 3 ? qkv[2] : (*w)[1] / 3;
    auto projection = Mul(Mul(tokens, (*x)[2]), (*w)[1]);
    auto scores = Mul(Mul(tokens, seq), q + v);
    if (!projection || !scores) return std::nullopt;
    return *projection + *scores;
  }
  // MultiHeadAttention: Q [B,S,Dq] against K [B,L,Dq] (or [B,N,L,H] past layout), V to [B,S,Dv].
  std::optional<Shape> k = ShapeAt(n.input(1), dims);
  if (!k || (k->size() != 3 && k->size() != 4)) return std::nullopt;
  const int64_t keys = k->size() == 3 ? (*k)[1] : (*k)[2];
  return Mul(Mul(tokens, keys), (*x)[2] + (*y)[2]);
}

// One operation per element of the larger of the first input and the first output.
std::optional<int64_t> ElementwiseFlops(const ir::Node& n, const Dims& dims) {
  std::optional<Shape> y = ShapeAt(n.output(0), dims);
  if (!y) return std::nullopt;
  std::optional<int64_t> count = Count(*y);
  if (std::optional<Shape> x = ShapeAt(n.input(0), dims)) {
    std::optional<int64_t> in = Count(*x);
    if (in && count && *in > *count) count = in;
  }
  return count;
}

void AddCosts(const ir::Graph& graph, const Dims& dims, ModelMetrics* m) {
  for (const ir::Node* n : graph.nodes()) {
    if (IsDataMovement(*n)) continue;
    std::string family = "elementwise";
    std::optional<int64_t> macs, flops;
    if (IsConv(*n)) {
      family = "conv";
      macs = ConvMacs(*n, dims);
    } else if (IsMatMul(*n)) {
      family = "matmul";
      macs = MatMulMacs(*n, dims);
    } else if (IsAttention(*n)) {
      family = "attention";
      macs = AttentionMacs(*n, dims);
    } else if (!n->HasSubgraphs()) {
      flops = ElementwiseFlops(*n, dims);
    }
    if (macs) flops = Mul(*macs, 2);
    if (!flops) {
      ++m->unknown_cost_nodes;
      continue;
    }
    OpCost& cost = m->families[family];
    cost.nodes++;
    cost.macs += macs.value_or(0);
    cost.flops += *flops;
    m->macs += macs.value_or(0);
    m->flops += *flops;
  }
}

void AddParams(const ir::Graph& graph, ModelMetrics* m) {
  for (const ir::Value* v : graph.initializers()) {
    m->params += v->initializer()->size();
    m->weight_bytes += static_cast<int64_t>(v->initializer()->nbytes());
  }
  for (const ir::Node* n : graph.nodes()) {
    if (!n->Is("Constant")) continue;
    const ir::Attribute* value = n->attr("value");
    if (value == nullptr || value->type != ir::AttrType::kTensor) continue;
    m->params += value->t.size();
    m->weight_bytes += static_cast<int64_t>(value->t.nbytes());
  }
}

}  // namespace

ModelMetrics ComputeModelMetrics(const ir::Model& model, const Dims& dims) {
  ModelMetrics m;
  if (!model.graph) return m;
  AddParams(*model.graph, &m);
  AddCosts(*model.graph, dims, &m);
  const analysis::MemoryPlan plan = analysis::PlanMemory(*model.graph, dims);
  m.peak_activation_bytes = plan.arena_bytes;
  m.naive_activation_bytes = plan.naive_bytes;
  m.in_place_reuses = plan.in_place_reuses;
  m.unplanned_values = plan.unplanned_values;
  return m;
}

}  // namespace graphopt
