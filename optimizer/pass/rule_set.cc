#include "optimizer/pass/rule_set.h"

#include <unordered_set>

namespace graphopt {

RuleSetPass::RuleSetPass(std::vector<RewriteRule> rules) {
  for (const auto& r : rules) by_op_[r.op_type].push_back(r);
}

Result<int64_t> RuleSetPass::Run(PassContext& ctx) {
  ir::Graph& g = *ctx.model.graph;
  int64_t applied = 0;
  // Rules may delete nodes other than their root; track live nodes to skip the deleted ones.
  auto nodes = g.nodes();
  std::unordered_set<ir::Node*> live(nodes.begin(), nodes.end());
  for (ir::Node* n : nodes) {
    if (!live.count(n) || !n->is_onnx_domain()) continue;
    auto it = by_op_.find(n->op_type());
    if (it == by_op_.end()) continue;
    for (const RewriteRule& rule : it->second) {
      const std::string name = n->name();
      if (rule.apply(ctx, n)) {
        ++applied;
        if (ctx.record) {
          ctx.record->rule_counts[rule.name]++;
          if (ctx.record->matched_nodes.size() < 200) ctx.record->matched_nodes.push_back(name);
        }
        // Refresh the live set: the rule may have removed or added nodes.
        live.clear();
        for (ir::Node* m : g.nodes()) live.insert(m);
        break;
      }
    }
  }
  return applied;
}

}  // namespace graphopt
