#include "optimizer/passes/basic/eliminate_dropout.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

RewriteResult Dropout(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  // In training mode (input 2, opset 12+) Dropout is still an identity when its ratio is a
  // constant 0: nothing is dropped and the scale 1/(1-0) is 1. Exporters write exactly that
  // for modules left in training with p=0 (torchvision's Swin attention dropout).
  const bool zero_ratio = n->input(1) != nullptr && IsScalarConstantEqual(n->input(1), 0.0);
  if (ir::Value* training = n->input(2)) {
    if (!IsScalarConstantEqual(training, 0.0) && !zero_ratio) return false;
  }
  // Before opset 7, is_test=0 meant training behaviour (ratio was an attribute then).
  if (ctx.opset() < 7 && n->GetInt("is_test", 0) == 0 && n->GetFloat("ratio", 0.5f) != 0.0f)
    return false;
  // The mask output must be unused: it would need a tensor of ones in its place.
  if (ir::Value* mask = n->output(1)) {
    if (!mask->uses().empty() || mask->is_graph_output()) return false;
  }
  return rw.Bypass(n);
}

}  // namespace

EliminateDropout::EliminateDropout() : RulePass({{"dropout", "Dropout", "", Dropout}}) {}

GRAPHOPT_REGISTER_PASS(EliminateDropout, "eliminate_dropout", kBasic, 11,
                       "remove Dropout that is an identity (mask unused; inference, or ratio 0)");

}  // namespace graphopt
