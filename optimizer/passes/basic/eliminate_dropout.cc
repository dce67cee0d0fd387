#include "optimizer/passes/basic/eliminate_dropout.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

RewriteResult Dropout(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  // training_mode (input 2, opset 12+) must be absent or a constant false.
  if (ir::Value* training = n->input(2)) {
    if (!IsScalarConstantEqual(training, 0.0)) return false;
  }
  // Before opset 7, is_test=0 meant training behaviour.
  if (ctx.opset() < 7 && n->GetInt("is_test", 0) == 0) return false;
  // The mask output must be unused: it would need a tensor of ones in its place.
  if (ir::Value* mask = n->output(1)) {
    if (!mask->uses().empty() || mask->is_graph_output()) return false;
  }
  return rw.Bypass(n);
}

}  // namespace

EliminateDropout::EliminateDropout() : RulePass({{"dropout", "Dropout", "", Dropout}}) {}

GRAPHOPT_REGISTER_PASS(EliminateDropout, "eliminate_dropout", kBasic, 11,
                       "remove Dropout in inference graphs (mask unused, not training)");

}  // namespace graphopt
