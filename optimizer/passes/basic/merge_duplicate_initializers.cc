#include "optimizer/passes/basic/merge_duplicate_initializers.h"

#include <unordered_map>

namespace graphopt {

Result<int64_t> MergeDuplicateInitializers::Run(PassContext& ctx) {
  ir::Graph& g = *ctx.model.graph;
  std::unordered_map<size_t, std::vector<ir::Value*>> by_hash;
  int64_t merged = 0;
  for (ir::Value* v : g.initializers()) {
    if (!ctx.MayRewrite()) break;  // --bisect-limit reached
    // Graph inputs can be overridden and graph outputs keep their names: leave both alone.
    if (v->is_graph_input() || v->is_graph_output()) continue;
    auto& bucket = by_hash[v->initializer()->ContentHash()];
    ir::Value* keep = nullptr;
    for (ir::Value* k : bucket) {
      if (k->initializer()->SameContents(*v->initializer())) {
        keep = k;
        break;
      }
    }
    if (!keep) {
      bucket.push_back(v);
      continue;
    }
    g.ReplaceAllUsesWith(v, keep);
    g.RemoveInitializer(v);
    ctx.Applied("duplicate_initializer");
    ++merged;
  }
  g.PruneOrphanValues();
  return merged;
}

GRAPHOPT_REGISTER_PASS(MergeDuplicateInitializers, "merge_duplicate_initializers", kBasic, 21,
                       "share one initializer among identical ones (same dtype, shape, bytes)");

}  // namespace graphopt
