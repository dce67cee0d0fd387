#include "optimizer/passes/basic/eliminate_dead_code.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

int64_t SweepGraph(ir::Graph& g, PassContext& ctx) {
  int64_t removed = 0;
  // Walking backwards removes whole dead chains in one sweep.
  auto nodes = g.nodes();
  for (auto it = nodes.rbegin(); it != nodes.rend() && ctx.MayRewrite(); ++it) {
    ir::Node* n = *it;
    if (!IsRemovableWhenUnused(n)) continue;
    bool used = false;
    for (ir::Value* out : n->outputs()) used |= out && (!out->uses().empty() || out->is_graph_output());
    if (used) {
      for (ir::Graph* sub : n->Subgraphs()) removed += SweepGraph(*sub, ctx);
      continue;
    }
    ctx.Applied("dead_node", n);
    g.RemoveNode(n);
    ++removed;
  }
  for (ir::Value* v : g.initializers()) {
    if (!ctx.MayRewrite()) break;
    if (v->uses().empty() && !v->is_graph_output() && !v->is_graph_input()) {
      ctx.Applied("unused_initializer");
      g.RemoveInitializer(v);
      ++removed;
    }
  }
  g.PruneOrphanValues();
  return removed;
}

}  // namespace

Result<int64_t> EliminateDeadCode::Run(PassContext& ctx) { return SweepGraph(*ctx.model.graph, ctx); }

GRAPHOPT_REGISTER_PASS(EliminateDeadCode, "eliminate_dead_code", kBasic, 1000,
                       "remove nodes whose outputs are unused and initializers nobody reads");

}  // namespace graphopt
