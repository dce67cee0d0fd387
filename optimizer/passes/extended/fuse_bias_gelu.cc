#include "optimizer/passes/extended/fuse_bias_gelu.h"

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// The Add feeding `gelu` (read by nothing else) as (x, bias) where bias is a constant vector as
// long as x's last dim, so that the Add broadcasts only along the last axis.
std::optional<std::pair<ir::Value*, ir::Value*>> BiasAdd(const ir::Node* gelu) {
  ir::Value* in = gelu->input(0);
  if (!in || !in->producer() || !in->producer()->Is("Add") || !HasSingleUse(in))
    return std::nullopt;
  ir::Node* add = in->producer();
  for (size_t k : {size_t{1}, size_t{0}}) {
    ir::Value* x = add->input(1 - k);
    const Tensor* b = ConstantValue(add->input(k));
    auto last = KnownDim(SymbolicShapeOf(x), -1);
    if (!b || !last || b->rank() != 1 || b->shape()[0] != *last) continue;
    if (b->dtype() != x->elem_type()) continue;
    return std::make_pair(x, add->input(k));
  }
  return std::nullopt;
}

RewriteResult Fuse(Rewriter& rw, ir::Node* gelu, const char* fused_op,
                   std::vector<std::string>* consumed) {
  if (gelu->inputs().size() != 1) return false;  // FastGelu that already has a bias
  auto xb = BiasAdd(gelu);
  if (!xb) return false;
  *consumed = pattern::NodeNames({gelu, gelu->input(0)->producer()});
  return pattern::ReplaceWithFused(rw, gelu, fused_op, kMs,
                                   {xb->first, xb->second}) != nullptr;
}

RewriteResult BiasGelu(PassContext& ctx, Rewriter& rw, ir::Node* gelu) {
  return Fuse(rw, gelu, "BiasGelu", rw.consumed());
}

RewriteResult BiasFastGelu(PassContext& ctx, Rewriter& rw, ir::Node* gelu) {
  return Fuse(rw, gelu, "FastGelu", rw.consumed());
}

}  // namespace

FuseBiasGelu::FuseBiasGelu()
    : RulePass({{"bias_gelu", "Gelu", kMs, BiasGelu, {"com.microsoft.BiasGelu"}},
                {"bias_fast_gelu", "FastGelu", kMs, BiasFastGelu, {"com.microsoft.FastGelu"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseBiasGelu, "fuse_bias_gelu", kExtended, 220,
                       "Add(x, bias) + com.microsoft.Gelu into BiasGelu (FastGelu takes the bias "
                       "as its second input)",
                       "com.microsoft.BiasGelu", "com.microsoft.FastGelu");

// After fuse_gelu: takes the Gelu that pass makes.
GRAPHOPT_PASS_AFTER("fuse_bias_gelu", "fuse_gelu");

}  // namespace graphopt
