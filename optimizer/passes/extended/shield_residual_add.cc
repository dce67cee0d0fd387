#include "optimizer/passes/extended/shield_residual_add.h"

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/rewriter.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

constexpr const char* kSkipLayerNorm = "com.microsoft.SkipLayerNormalization";

RewriteResult ShieldAdd(PassContext& ctx, Rewriter& rw, ir::Node* norm) {
  // Only where the profile says the runtime's SkipLayerNormalization is the slower form (cpu:
  // ONNX Runtime 1.30's kernel; docs/PERFORMANCE.md). Elsewhere an Add is the plainer graph.
  if (!ctx.target.not_emitted.count(kSkipLayerNorm)) return false;
  ir::Value* in = norm->input(0);
  ir::Node* add = in ? in->producer() : nullptr;
  if (!add || !add->Is("Add") || add->inputs().size() != 2) return false;
  // Sum broadcasts like Add from opset 8; before that it takes equal shapes only.
  if (ctx.opset() < 8) return MatchFailure("Sum broadcasts only from opset 8");
  // The runtime fuses only an Add whose sum nothing else reads (not a graph output either):
  // a pre-norm residual, read again by the next block, is left as it is.
  if (!HasSingleUse(in)) return MatchFailure("the residual sum has other readers");
  *rw.consumed() = {add->name()};
  ir::Node* sum = rw.CreateNode("Sum", {add->input(0), add->input(1)}, 1, add->name());
  sum->output(0)->type() = in->type();
  return rw.ReplaceNode(add, {sum->output(0)});
}

}  // namespace

ShieldResidualAdd::ShieldResidualAdd()
    : RulePass({{"residual_add_as_sum", "LayerNormalization", "", ShieldAdd, {"Sum"}}}) {}

GRAPHOPT_REGISTER_PASS(ShieldResidualAdd, "shield_residual_add", kExtended, 280,
                       "write the residual Add read only by a LayerNormalization as Sum where the "
                       "profile lists SkipLayerNormalization as slower, so the runtime's own "
                       "fusion (Add only) keeps the faster Add + LayerNormalization",
                       "Sum");

// Last: the fusions that read a residual Add (skip layer norm, attention's output bias) go first.
GRAPHOPT_PASS_AFTER("shield_residual_add", "fuse_skip_layer_norm");

}  // namespace graphopt
