#include "optimizer/passes/extended/fuse_skip_layer_norm.h"

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// Add(m, bias) read only by `reader`, bias a constant [D] of m's type: returns m.
ir::Value* StripBias(ir::Value* v, int64_t hidden, ir::Value** bias, ir::Node** add) {
  if (!v->producer() || !v->producer()->Is("Add") || !HasSingleUse(v)) return nullptr;
  ir::Node* n = v->producer();
  for (size_t k : {size_t{1}, size_t{0}}) {
    const Tensor* b = ConstantValue(n->input(k));
    ir::Value* m = n->input(1 - k);
    if (!b || b->rank() != 1 || b->shape()[0] != hidden || b->dtype() != m->elem_type()) continue;
    if (SymbolicShapeOf(m) != SymbolicShapeOf(v)) continue;
    *bias = n->input(k);
    *add = n;
    return m;
  }
  return nullptr;
}

RewriteResult FuseSkip(Rewriter& rw, ir::Node* norm, bool simplified,
                       std::vector<std::string>* consumed) {
  const char* op = simplified ? "SkipSimplifiedLayerNormalization" : "SkipLayerNormalization";
  // Only the plain output: the fused op's optional mean/inv_std outputs differ in shape.
  for (size_t i = 1; i < norm->outputs().size(); ++i) {
    if (norm->output(i) && (!norm->output(i)->uses().empty() || norm->output(i)->is_graph_output()))
      return false;
  }
  ir::Value* sum = norm->input(0);
  ir::Value* gamma = norm->input(1);
  if (!sum || !gamma || !sum->producer() || !sum->producer()->Is("Add")) return false;
  ir::Node* add = sum->producer();
  auto shape = SymbolicShapeOf(sum);
  // SkipLayerNormalization normalizes (batch, sequence, hidden) over hidden.
  if (!shape || shape->size() != 3) {
    return MatchFailure("the sum is not of rank 3 (batch, sequence, hidden) or its rank is unknown");
  }
  if (!KnownDim(shape, -1)) return MatchFailure("hidden size (last dim) unknown");
  const int64_t hidden = *KnownDim(shape, -1);
  const int64_t axis = norm->GetInt("axis", -1);
  if (axis != -1 && axis != 2) return MatchFailure("normalizes over other axes than the last");
  const Tensor* g = ConstantValue(gamma);
  if (!g || g->rank() != 1 || g->shape()[0] != hidden) {
    return MatchFailure("scale is not a constant vector of the hidden size");
  }
  if (norm->input(2)) {
    const Tensor* b = ConstantValue(norm->input(2));
    if (!b || b->rank() != 1 || b->shape()[0] != hidden) {
      return MatchFailure("bias is not a constant vector of the hidden size");
    }
  }
  ir::Value* a = add->input(0);
  ir::Value* b = add->input(1);
  if (a == b || SymbolicShapeOf(a) != shape || SymbolicShapeOf(b) != shape) {
    return MatchFailure("the Add broadcasts (its operands differ in shape) or adds a value to itself");
  }
  if (sum->elem_type() != DataType::kFloat) return MatchFailure("the sum is not float32");
  // A constant bias folded into one of the operands (a Linear's bias before the residual Add).
  std::vector<ir::Node*> nodes{norm, add};
  ir::Value* bias = nullptr;
  ir::Node* bias_add = nullptr;
  ir::Value* input = a;
  ir::Value* skip = b;
  // Not into SkipSimplifiedLayerNormalization: its bias is input 3 (it has no beta), not 4 where
  // the inputs below put it, and ONNX Runtime's CPU kernel does not add it; the bias Add stays.
  if (ir::Value* m = simplified ? nullptr : StripBias(b, hidden, &bias, &bias_add)) {
    input = m;
    skip = a;
  } else if (ir::Value* m2 = simplified ? nullptr : StripBias(a, hidden, &bias, &bias_add)) {
    input = m2;
    skip = b;
  }
  if (bias_add) nodes.push_back(bias_add);
  *consumed = pattern::NodeNames(nodes);
  ir::Graph& graph = rw.graph();
  std::vector<ir::Value*> inputs{input, skip, gamma, norm->input(2), bias};
  while (!inputs.empty() && !inputs.back()) inputs.pop_back();
  // The sum stays available to its other readers through output 3.
  const bool sum_used_elsewhere = sum->uses().size() > 1 || sum->is_graph_output();
  ir::Value* y = graph.NewValue(norm->name() + "_out");
  std::vector<ir::Value*> outputs{y};
  ir::Value* sum_out = nullptr;
  if (sum_used_elsewhere) {
    sum_out = graph.NewValue(sum->name() + "_sum");
    outputs = {y, nullptr, nullptr, sum_out};
  }
  ir::Node* fused = rw.CreateNodeWithOutputs(op, inputs, outputs,
                                             graph.UniqueNodeName(norm->name() + "_skip"), kMs);
  y->type() = norm->output(0)->type();
  if (sum_out) sum_out->type() = sum->type();
  fused->SetFloat("epsilon", norm->GetFloat("epsilon", 1e-5f));
  // Erases the norm and takes the Adds along unless the sum has other readers.
  if (!rw.ReplaceNode(norm, {y})) return false;
  if (sum_out) (void)rw.ReplaceNode(add, {sum_out});
  return true;
}

// A SkipLayerNormalization made before its input's bias Add appeared (fuse_attention emits
// the output projection as MatMul + Add): the bias moves into input 4.
RewriteResult LateBias(PassContext& ctx, Rewriter& rw, ir::Node* skip_ln) {
  if (skip_ln->input(4)) return false;
  for (size_t i = 5; i < skip_ln->outputs().size(); ++i) {
    if (skip_ln->output(i)) return false;
  }
  auto shape = SymbolicShapeOf(skip_ln->input(0));
  if (!shape || shape->size() != 3 || !KnownDim(shape, -1)) return false;
  for (size_t k : {size_t{0}, size_t{1}}) {
    ir::Value* bias = nullptr;
    ir::Node* add = nullptr;
    ir::Value* m = StripBias(skip_ln->input(k), *KnownDim(shape, -1), &bias, &add);
    if (!m || SymbolicShapeOf(skip_ln->input(1 - k)) != shape) continue;
    *rw.consumed() = pattern::NodeNames({skip_ln, add});
    ir::Value* other = skip_ln->input(1 - k);
    skip_ln->SetInput(0, m);
    skip_ln->SetInput(1, other);
    while (skip_ln->inputs().size() < 5) skip_ln->AddInput(nullptr);
    skip_ln->SetInput(4, bias);
    rw.EraseIfDead(add);
    return true;
  }
  return false;
}

RewriteResult SkipLayerNorm(PassContext& ctx, Rewriter& rw, ir::Node* norm) {
  return FuseSkip(rw, norm, false, rw.consumed());
}

RewriteResult SkipSimplifiedLayerNorm(PassContext& ctx, Rewriter& rw, ir::Node* norm) {
  return FuseSkip(rw, norm, true, rw.consumed());
}

}  // namespace

FuseSkipLayerNorm::FuseSkipLayerNorm()
    : RulePass({{"skip_layer_norm", "LayerNormalization", "", SkipLayerNorm,
                 {"com.microsoft.SkipLayerNormalization"}},
                {"skip_simplified_layer_norm", "SimplifiedLayerNormalization", "",
                 SkipSimplifiedLayerNorm, {"com.microsoft.SkipSimplifiedLayerNormalization"}},
                {"skip_layer_norm_bias", "SkipLayerNormalization", kMs, LateBias}}) {}

GRAPHOPT_REGISTER_PASS(FuseSkipLayerNorm, "fuse_skip_layer_norm", kExtended, 230,
                       "residual Add (+ bias Add) + LayerNormalization into "
                       "com.microsoft.SkipLayerNormalization (and the simplified form)",
                       "com.microsoft.SkipLayerNormalization",
                       "com.microsoft.SkipSimplifiedLayerNormalization");

// After fuse_embed_layer_norm: which would otherwise lose the last Add of its sum as a residual.
GRAPHOPT_PASS_AFTER("fuse_skip_layer_norm", "fuse_embed_layer_norm");
// After fuse_attention: whose output bias Add it takes.
GRAPHOPT_PASS_AFTER("fuse_skip_layer_norm", "fuse_attention");

}  // namespace graphopt
