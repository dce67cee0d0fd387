#include "optimizer/passes/extended/fuse_matmul_scale.h"

#include <cmath>

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

// The finite scalar factor a Mul or Div by a constant applies to its other operand `*x`
// (`*x` is set); nullopt when `n` is no such scaling. A Div only divides its first input.
std::optional<double> ScaleOf(const ir::Node* n, ir::Value** x) {
  const bool mul = n->Is("Mul"), div = n->Is("Div");
  if ((!mul && !div) || n->inputs().size() != 2) return std::nullopt;
  for (size_t k : {size_t{1}, size_t{0}}) {
    if (div && k == 0) break;
    const Tensor* c = ConstantValue(n->input(k));
    if (!c || c->size() != 1 || c->rank() > 1 || n->input(1 - k) == n->input(k)) continue;
    const double s = mul ? c->GetDouble(0) : 1.0 / c->GetDouble(0);
    if (!std::isfinite(s) || s == 0.0) continue;
    *x = n->input(1 - k);
    return s;
  }
  return std::nullopt;
}

// Transpose swapping the last two dims and keeping the others.
bool SwapsLastTwo(const ir::Node* t) {
  const auto perm = t->GetInts("perm");
  const size_t r = perm.size();
  if (r < 2) return false;
  for (size_t i = 0; i + 2 < r; ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return perm[r - 2] == static_cast<int64_t>(r - 1) && perm[r - 1] == static_cast<int64_t>(r - 2);
}

int64_t KnownRank(const ir::Value* v) {
  return v->type().shape ? static_cast<int64_t>(v->type().shape->size()) : -1;
}

// Attention scores (a MatMul feeding Softmax, possibly through the mask's Add) are left to
// fuse_attention when the target runs Attention: taking their scale first would break the
// bigger pattern, which may only become matchable after another basic-level iteration.
bool FeedsSoftmax(const ir::Value* v) {
  for (int hop = 0; hop < 2; ++hop) {
    if (v->uses().size() != 1) return false;
    const ir::Node* reader = v->uses()[0].node;
    if (reader->Is("Softmax")) return true;
    if (!reader->Is("Add")) return false;
    v = reader->output(0);
  }
  return false;
}

RewriteResult MatMulScale(PassContext& ctx, Rewriter& rw, ir::Node* mm) {
  if (mm->output(0)->elem_type() != DataType::kFloat) return false;
  if (ctx.MayEmit("com.microsoft.Attention") && FeedsSoftmax(mm->output(0))) return false;
  double alpha = 1.0;
  std::vector<ir::Node*> nodes{mm};
  ir::Value* operands[2] = {mm->input(0), mm->input(1)};
  bool trans[2] = {false, false};
  for (int k = 0; k < 2; ++k) {
    // At most one scale and one transpose per operand, in either order.
    bool scaled = false;
    for (int step = 0; step < 2; ++step) {
      ir::Value* v = operands[k];
      ir::Node* p = v->producer();
      if (!p || !HasSingleUse(v) || v->producer_index() != 0) break;
      ir::Value* x = nullptr;
      if (!scaled && p->is_onnx_domain()) {
        if (auto s = ScaleOf(p, &x); s && KnownRank(x) >= 1 && KnownRank(x) == KnownRank(v)) {
          alpha *= *s;
          operands[k] = x;
          scaled = true;
          nodes.push_back(p);
          continue;
        }
      }
      if (!trans[k] && p->Is("Transpose") && SwapsLastTwo(p) && KnownRank(v) >= 2) {
        operands[k] = p->input(0);
        trans[k] = true;
        nodes.push_back(p);
        continue;
      }
      break;
    }
  }
  // A scale applied to the product.
  ir::Node* last = mm;
  ir::Value* out = mm->output(0);
  if (HasSingleUse(out)) {
    ir::Node* reader = out->uses()[0].node;
    ir::Value* x = nullptr;
    auto s = ScaleOf(reader, &x);
    if (s && x == out && SymbolicShapeOf(reader->output(0)) == SymbolicShapeOf(out) &&
        SymbolicShapeOf(out)) {
      alpha *= *s;
      nodes.push_back(last = reader);
    }
  }
  if (nodes.size() == 1) return false;
  // FusedMatMul transposes the last two dims; 1-D operands have none.
  if (KnownRank(operands[0]) < 2 || KnownRank(operands[1]) < 2) return false;
  pattern::Match m;
  m.matched = nodes;
  if (!pattern::IsSelfContained(m, last)) return false;
  *rw.consumed() = pattern::NodeNames(nodes);
  ir::Node* fused = pattern::ReplaceWithFused(rw, last, "FusedMatMul",
                                              "com.microsoft", {operands[0], operands[1]});
  if (!fused) return false;
  fused->SetFloat("alpha", static_cast<float>(alpha));
  fused->SetInt("transA", trans[0] ? 1 : 0);
  fused->SetInt("transB", trans[1] ? 1 : 0);
  return true;
}

}  // namespace

FuseMatMulScale::FuseMatMulScale()
    : RulePass({{"matmul_scale", "MatMul", "", MatMulScale, {"com.microsoft.FusedMatMul"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseMatMulScale, "fuse_matmul_scale", kExtended, 270,
                       "MatMul with a scalar scale or a transposed input into "
                       "com.microsoft.FusedMatMul",
                       "com.microsoft.FusedMatMul");

// After fuse_attention: leaves attention MatMuls to it.
GRAPHOPT_PASS_AFTER("fuse_matmul_scale", "fuse_attention");

}  // namespace graphopt
