#include "optimizer/passes/extended/fuse_layer_norm.h"

#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

using pattern::Any;
using pattern::Const;
using pattern::OneOf;
using pattern::Op;
using pattern::Pattern;
using pattern::Scalar;

// ReduceMean(v) over the last axis, keeping dims (axes as attribute, or as input at opset 18).
Pattern MeanLastAxis(Pattern v) {
  return Op("ReduceMean", {std::move(v)}).IgnoreExtraInputs().Where([](const ir::Node* n) {
    const ir::Value* in = n->input(0);
    const int64_t rank = in->type().shape ? static_cast<int64_t>(in->type().shape->size()) : -1;
    return n->inputs().size() <= 2 && pattern::ReducesLastAxis(n, rank);
  });
}

// v^2 as Pow(v, 2) or v * v.
Pattern Square(const Pattern& v) {
  return OneOf({Op("Pow", {v, Scalar(2.0, 0)}), Op("Mul", {v, v})});
}

// numerator / Sqrt(mean + eps), also as numerator * Reciprocal(Sqrt(...)) (basic level rewrites
// that into the Div, but a model may arrive here without it).
Pattern Normalize(const Pattern& numerator, const Pattern& mean_of_squares) {
  Pattern den = Op("Sqrt", {Op("Add", {mean_of_squares, Const("eps")})});
  return OneOf({Op("Div", {numerator, den}), Op("Mul", {numerator, Op("Reciprocal", {den})})});
}

const Pattern& MeanVarianceNorm() {
  static const Pattern d = Op("Sub", {Any("x"), MeanLastAxis(Any("x"))}, "centered");
  static const Pattern p = Normalize(d, MeanLastAxis(Square(d)));
  return p;
}

const Pattern& RmsNorm() {
  static const Pattern p = Normalize(Any("x"), MeanLastAxis(Square(Any("x"))));
  return p;
}

// A constant of `len` values along the last axis only ([len], [1, .., len]) of x's type.
const Tensor* LastAxisVector(const ir::Value* v, int64_t len, DataType type) {
  const Tensor* t = ConstantValue(v);
  if (!t || t->dtype() != type || t->rank() < 1 || t->shape().back() != len) return nullptr;
  for (int64_t i = 0; i + 1 < t->rank(); ++i) {
    if (t->shape()[static_cast<size_t>(i)] != 1) return nullptr;
  }
  return t;
}

// The node reading `v` when it is the only reader, `op` of the default domain, and the other
// operand a last-axis vector (returned in *param).
ir::Node* AffineConsumer(const ir::Value* v, const char* op, int64_t len, DataType type,
                         int64_t rank, ir::Value** param) {
  if (!HasSingleUse(v)) return nullptr;
  ir::Node* n = v->uses()[0].node;
  if (!n->Is(op) || n->inputs().size() != 2) return nullptr;
  ir::Value* other = n->input(n->input(0) == v ? 1 : 0);
  if (n->input(0) == n->input(1)) return nullptr;
  const Tensor* t = LastAxisVector(other, len, type);
  // A constant of higher rank than x would broadcast x up.
  if (!t || t->rank() > rank) return nullptr;
  *param = other;
  return n;
}

// A rank-1 copy of a last-axis vector (LayerNormalization wants gamma and beta as [D]).
ir::Value* AsVector(Rewriter& rw, ir::Value* v, int64_t len) {
  const Tensor* t = ConstantValue(v);
  if (t->rank() == 1) return v;
  return rw.CreateInitializer(v->name() + "_vector", t->Reshaped({len}));
}

RewriteResult FuseNorm(Rewriter& rw, ir::Node* root, bool simplified,
                       std::vector<std::string>* consumed) {
  const char* op = simplified ? "SimplifiedLayerNormalization" : "LayerNormalization";
  auto m = pattern::MatchValue(simplified ? RmsNorm() : MeanVarianceNorm(), root->output(0));
  // No reason when the root is not a normalization at all: every Div and Mul is tried.
  if (!m) return false;
  ir::Value* x = m->value("x");
  const DataType type = x->elem_type();
  auto shape = SymbolicShapeOf(x);
  if (!pattern::IsFloatValue(x)) return MatchFailure("input is not a float tensor");
  if (!shape) return MatchFailure("input rank or dims unknown");
  if (!KnownDim(shape, -1)) return MatchFailure("last axis (normalized size) is symbolic");
  const auto rank = static_cast<int64_t>(shape->size());
  const int64_t len = *KnownDim(shape, -1);
  const double eps = m->scalar("eps");
  if (!(eps >= 0 && eps < 1)) return MatchFailure("epsilon outside [0, 1)");
  if (ConstantValue(m->value("eps"))->rank() > 1) {
    return MatchFailure("epsilon constant has rank above 1");
  }
  // Then the optional Mul by gamma and Add of beta (in that order).
  std::vector<ir::Node*> nodes = m->matched;
  ir::Node* last = root;
  ir::Value* gamma = nullptr;
  ir::Value* beta = nullptr;
  if (ir::Node* mul = AffineConsumer(last->output(0), "Mul", len, type, rank, &gamma)) {
    nodes.push_back(last = mul);
    if (!simplified) {
      if (ir::Node* add = AffineConsumer(last->output(0), "Add", len, type, rank, &beta)) {
        nodes.push_back(last = add);
      }
    }
  }
  pattern::Match all = *m;
  all.matched = nodes;
  if (!pattern::IsSelfContained(all, last)) {
    return MatchFailure("an intermediate value (mean, variance or centered input) has other readers");
  }
  if (SymbolicShapeOf(last->output(0)) != shape) {
    return MatchFailure("scale or bias broadcasts the output beyond the input's shape");
  }
  *consumed = pattern::NodeNames(nodes);
  std::vector<ir::Value*> inputs{x};
  if (gamma) {
    inputs.push_back(AsVector(rw, gamma, len));
  } else {
    inputs.push_back(rw.CreateInitializer(
        x->name() + "_norm_scale",
        MakeFloatTensor(type, {len}, std::vector<double>(static_cast<size_t>(len), 1.0))));
  }
  if (beta) inputs.push_back(AsVector(rw, beta, len));
  ir::Node* fused = pattern::ReplaceWithFused(rw, last, op, "", inputs);
  if (!fused) return MatchFailure("replacing the output failed (graph output or type mismatch)");
  fused->SetInt("axis", -1);
  fused->SetFloat("epsilon", static_cast<float>(eps));
  return true;
}

RewriteResult LayerNorm(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  return FuseNorm(rw, root, false, rw.consumed());
}

RewriteResult SimplifiedLayerNorm(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  return FuseNorm(rw, root, true, rw.consumed());
}

}  // namespace

// The mean/variance rule goes first: its centered value would also match the RMS pattern.
FuseLayerNorm::FuseLayerNorm()
    : RulePass({{"layer_norm", "Div", "", LayerNorm, {"LayerNormalization"}},
                {"layer_norm", "Mul", "", LayerNorm, {"LayerNormalization"}},
                {"simplified_layer_norm", "Div", "", SimplifiedLayerNorm,
                 {"SimplifiedLayerNormalization"}},
                {"simplified_layer_norm", "Mul", "", SimplifiedLayerNorm,
                 {"SimplifiedLayerNormalization"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseLayerNorm, "fuse_layer_norm", kExtended, 225,
                       "decomposed layer normalization over the last axis into "
                       "LayerNormalization; RMS normalization into SimplifiedLayerNormalization",
                       "LayerNormalization", "SimplifiedLayerNormalization");

}  // namespace graphopt
