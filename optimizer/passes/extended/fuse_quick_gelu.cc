#include "optimizer/passes/extended/fuse_quick_gelu.h"

#include <cmath>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

using pattern::Any;
using pattern::Const;
using pattern::OneOf;
using pattern::Op;

// x * Sigmoid(x * alpha) or x * Sigmoid(x). The scale must be one finite scalar.
RewriteResult QuickGelu(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  static const pattern::Pattern kPattern = Op(
      "Mul", {Any("x"), Op("Sigmoid", {OneOf({Op("Mul", {Any("x"), Const("alpha")}), Any("x")})})});
  auto m = pattern::MatchValue(kPattern, root->output(0));
  if (!m || !pattern::IsSelfContained(*m, root)) return false;
  ir::Value* x = m->value("x");
  // ONNX Runtime's CPU kernel is float32 only.
  if (x->elem_type() != DataType::kFloat) return false;
  double alpha = 1.0;
  if (m->value("alpha")) {
    alpha = m->scalar("alpha");
    if (!std::isfinite(alpha)) return false;  // also rejects non-scalar constants (NaN)
    // A [1] scale would lift a scalar x to rank 1; QuickGelu keeps x's shape.
    const Tensor* t = ConstantValue(m->value("alpha"));
    const bool x_has_rank = x->type().shape && !x->type().shape->empty();
    if (t->rank() == 1 && !x_has_rank) return false;
  }
  *rw.consumed() = pattern::NodeNames(m->matched);
  ir::Node* fused =
      pattern::ReplaceWithFused(rw, root, "QuickGelu", "com.microsoft", {x});
  if (!fused) return false;
  fused->SetFloat("alpha", static_cast<float>(alpha));
  return true;
}

}  // namespace

FuseQuickGelu::FuseQuickGelu() : RulePass({{"quick_gelu", "Mul", "", QuickGelu, {"com.microsoft.QuickGelu"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseQuickGelu, "fuse_quick_gelu", kExtended, 215,
                       "x * Sigmoid(alpha * x) (and SiLU, alpha 1) into com.microsoft.QuickGelu",
                       "com.microsoft.QuickGelu");

}  // namespace graphopt
