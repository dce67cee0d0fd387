#include "optimizer/passes/extended/fuse_embed_layer_norm.h"

#include <limits>
#include <optional>
#include <utility>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// The embedding sum's static shape [batch, seq, hidden].
struct Geometry {
  int64_t batch, seq, hidden;
};

// Gather(table, ids) on axis 0 of a constant float [rows, hidden] table, read only by the sum.
struct Lookup {
  ir::Node* gather = nullptr;
  ir::Value* table = nullptr;
  ir::Value* ids = nullptr;
  int64_t rows = 0;
};

std::optional<Lookup> AsLookup(ir::Value* v, int64_t hidden) {
  ir::Node* g = v->producer();
  if (!g || !g->Is("Gather") || g->inputs().size() != 2 || g->GetInt("axis", 0) != 0 ||
      !HasSingleUse(v)) {
    return std::nullopt;
  }
  const Tensor* t = ConstantValue(g->input(0));
  if (!t || t->dtype() != DataType::kFloat || t->rank() != 2 || t->shape()[1] != hidden ||
      t->shape()[0] < 1) {
    return std::nullopt;
  }
  return Lookup{g, g->input(0), g->input(1), t->shape()[0]};
}

// Constant positions 0..seq-1: [seq], [1, seq], or that row repeated for every batch entry.
bool IsPositionRange(const Tensor& ids, const Geometry& e) {
  const Shape& s = ids.shape();
  if (s != Shape{e.seq} && s != Shape{1, e.seq} && s != Shape{e.batch, e.seq}) return false;
  if (ids.dtype() != DataType::kInt64 && ids.dtype() != DataType::kInt32) return false;
  for (int64_t i = 0; i < ids.size(); ++i) {
    if (ids.GetInt64(i) != i % e.seq) return false;
  }
  return true;
}

// What the terms of the sum turned out to be.
struct Parts {
  std::optional<Lookup> word, segment;
  ir::Value* position = nullptr;  // a [>= seq, hidden] table, or a [1, seq, hidden] slice
  std::vector<ir::Node*> gathers;
};

// Sorts one term of the sum into `parts`; false when it is none of the block's terms.
bool Classify(ir::Value* term, const Geometry& e, Parts* parts) {
  if (const Tensor* c = ConstantValue(term)) {  // a position slice, as folding leaves it
    const bool slice =
        c->shape() == Shape{e.seq, e.hidden} || c->shape() == Shape{1, e.seq, e.hidden};
    if (parts->position || c->dtype() != DataType::kFloat || !slice) return false;
    parts->position = term;
    return true;
  }
  auto lookup = AsLookup(term, e.hidden);
  if (!lookup) return false;
  if (const Tensor* ids = ConstantValue(lookup->ids)) {  // positions
    if (parts->position || !IsPositionRange(*ids, e) || lookup->rows < e.seq) return false;
    parts->position = lookup->table;
    parts->gathers.push_back(lookup->gather);
    return true;
  }
  // Word or segment ids: one id per token, so the lookup has the sum's shape.
  const DataType type = lookup->ids->elem_type();
  if (type != DataType::kInt64 && type != DataType::kInt32) return false;
  if (StaticShape(lookup->ids) != Shape{e.batch, e.seq}) return false;
  if (StaticShape(term) != Shape{e.batch, e.seq, e.hidden}) return false;
  if (lookup->rows > std::numeric_limits<int32_t>::max()) return false;
  std::optional<Lookup>& slot = !parts->word ? parts->word : parts->segment;
  if (slot) return false;  // a third lookup
  slot = lookup;
  parts->gathers.push_back(lookup->gather);
  return true;
}

// The leaves of the Add tree whose root produces `v`; inner Adds must feed only the Add above.
bool CollectTerms(ir::Value* v, bool root, std::vector<ir::Value*>* terms,
                  std::vector<ir::Node*>* adds) {
  ir::Node* p = v->producer();
  if (p && p->Is("Add") && p->inputs().size() == 2 && p->input(0) != p->input(1) &&
      (root || HasSingleUse(v))) {
    adds->push_back(p);
    return CollectTerms(p->input(0), false, terms, adds) &&
           CollectTerms(p->input(1), false, terms, adds);
  }
  if (root) return false;
  terms->push_back(v);
  return terms->size() <= 3;
}

// `lookup`'s ids as the int32 the fused op reads (see the header): Mod by the row count, then a
// Cast when they are int64. Appends the new nodes to `created`.
ir::Value* FusedIds(Rewriter& rw, const Lookup& lookup, std::vector<ir::Node*>* created) {
  ir::Value* ids = lookup.ids;
  const Shape shape = *StaticShape(ids);
  const DataType type = ids->elem_type();
  Tensor rows = type == DataType::kInt64
                    ? Tensor::FromVector<int64_t>(type, {}, {lookup.rows})
                    : Tensor::FromVector<int32_t>(type, {}, {static_cast<int32_t>(lookup.rows)});
  ir::Value* divisor = rw.CreateInitializer(lookup.table->name() + "_rows", std::move(rows));
  ir::Node* mod = rw.CreateNode("Mod", {ids, divisor}, 1, ids->name() + "_wrapped");
  mod->output(0)->type() = ir::ValueType::FromShape(type, shape);
  created->push_back(mod);
  if (type == DataType::kInt32) return mod->output(0);
  ir::Node* cast = rw.CreateNode("Cast", {mod->output(0)}, 1, ids->name() + "_int32");
  cast->SetInt("to", static_cast<int64_t>(DataType::kInt32));
  cast->output(0)->type() = ir::ValueType::FromShape(DataType::kInt32, shape);
  created->push_back(cast);
  return cast->output(0);
}

bool IsHiddenVector(const ir::Value* v, int64_t hidden) {
  const Tensor* t = ConstantValue(v);
  return t && t->dtype() == DataType::kFloat && t->shape() == Shape{hidden};
}

RewriteResult EmbedLayerNorm(PassContext& ctx, Rewriter& rw, ir::Node* norm) {
  // Mod (for the ids) exists from opset 10.
  if (ctx.opset() < 10) return false;
  for (size_t i = 1; i < norm->outputs().size(); ++i) {
    const ir::Value* out = norm->output(i);
    if (out && (!out->uses().empty() || out->is_graph_output())) return false;
  }
  ir::Value* sum = norm->input(0);
  auto shape = StaticShape(sum);
  // ONNX Runtime's CPU kernel is float only.
  if (!sum || !shape || shape->size() != 3 || sum->elem_type() != DataType::kFloat) return false;
  const Geometry e{(*shape)[0], (*shape)[1], (*shape)[2]};
  const int64_t axis = norm->GetInt("axis", -1);
  if (axis != -1 && axis != 2) return false;
  if (!IsHiddenVector(norm->input(1), e.hidden)) return false;
  if (norm->input(2) && !IsHiddenVector(norm->input(2), e.hidden)) return false;
  const float epsilon = norm->GetFloat("epsilon", 1e-5f);
  if (!(epsilon >= 0)) return false;

  std::vector<ir::Value*> terms;
  std::vector<ir::Node*> adds;
  if (!CollectTerms(sum, true, &terms, &adds)) return false;
  Parts parts;
  for (ir::Value* t : terms) {
    if (!Classify(t, e, &parts)) return false;
  }
  if (!parts.word || !parts.position) return false;
  // Both lookups add one row per token: call the larger table the word table.
  if (parts.segment && parts.segment->rows > parts.word->rows) std::swap(parts.word, parts.segment);

  std::vector<ir::Node*> nodes{norm};
  nodes.insert(nodes.end(), adds.begin(), adds.end());
  nodes.insert(nodes.end(), parts.gathers.begin(), parts.gathers.end());
  *rw.consumed() = pattern::NodeNames(nodes);
  ir::Node* root_add = adds.front();
  ir::Value* position = parts.position;
  if (const Tensor* slice = ConstantValue(position); slice->rank() == 3) {
    position = rw.CreateInitializer(position->name() + "_rows", slice->Reshaped({e.seq, e.hidden}));
  }
  ir::Value* beta = norm->input(2);
  if (!beta) {
    beta = rw.CreateInitializer(norm->input(1)->name() + "_zero_beta",
                                Tensor(DataType::kFloat, Shape{e.hidden}));
  }
  std::vector<ir::Node*> created;
  std::vector<ir::Value*> inputs{FusedIds(rw, *parts.word, &created),
                                 parts.segment ? FusedIds(rw, *parts.segment, &created) : nullptr,
                                 parts.word->table,
                                 position,
                                 parts.segment ? parts.segment->table : nullptr,
                                 norm->input(1),
                                 beta};
  // Output 1, mask_index, stays named though nothing reads it: older ONNX Runtime schemas declare
  // 2 to 3 outputs with mask_index required. Output 2 keeps the sum for its other readers.
  const bool sum_read_elsewhere = sum->uses().size() > 1 || sum->is_graph_output();
  const std::string hint =
      norm->name().empty() ? "EmbedLayerNormalization" : norm->name() + "_embed";
  ir::Node* fused =
      rw.CreateNode("EmbedLayerNormalization", inputs, sum_read_elsewhere ? 3 : 2, hint, kMs);
  fused->SetFloat("epsilon", epsilon);
  fused->output(0)->type() = norm->output(0)->type();
  fused->output(1)->type() = ir::ValueType::FromShape(DataType::kInt32, {e.batch});
  if (sum_read_elsewhere) fused->output(2)->type() = sum->type();
  // A fresh node output can always take over a graph output's name; kept for the contract (a
  // failure rolls back the nodes made above). Erasing the norm takes the Adds and Gathers along
  // unless the sum has other readers.
  if (!rw.ReplaceNode(norm, {fused->output(0)})) return false;
  if (sum_read_elsewhere) (void)rw.ReplaceNode(root_add, {fused->output(2)});
  return true;
}

}  // namespace

FuseEmbedLayerNorm::FuseEmbedLayerNorm()
    : RulePass({{"embed_layer_norm", "LayerNormalization", "", EmbedLayerNorm,
                 {"com.microsoft.EmbedLayerNormalization"}}}) {}

// After fuse_layer_norm (225), which makes the LayerNormalization, and before
// fuse_skip_layer_norm (230), which would otherwise take the last Add of the sum as a residual.
GRAPHOPT_REGISTER_PASS(FuseEmbedLayerNorm, "fuse_embed_layer_norm", kExtended, 228,
                       "word + position (+ segment) embedding lookups, their sum and its "
                       "LayerNormalization into com.microsoft.EmbedLayerNormalization",
                       "com.microsoft.EmbedLayerNormalization");

// After fuse_layer_norm: takes the LayerNormalization that pass makes.
GRAPHOPT_PASS_AFTER("fuse_embed_layer_norm", "fuse_layer_norm");

}  // namespace graphopt
