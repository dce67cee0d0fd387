#include "optimizer/passes/basic/eliminate_nop.h"

#include <limits>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

RewriteResult NopTranspose(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const auto perm = n->GetInts("perm");
  if (perm.empty()) {
    // Default perm reverses the axes: the identity only for rank <= 1.
    auto shape = n->input(0)->type().shape;
    if (!shape || shape->size() > 1) return false;
  }
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return rw.Bypass(n);
}

RewriteResult NopCast(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const DataType from = n->input(0)->elem_type();
  if (from == DataType::kUndefined || static_cast<int64_t>(from) != n->GetInt("to", -1)) return false;
  return rw.Bypass(n);
}

RewriteResult NopReshape(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  auto in_shape = StaticShape(n->input(0));
  auto target = ConstantInts(n->input(1));
  if (!in_shape || !target || target->size() != in_shape->size()) return false;
  const bool allowzero = n->GetInt("allowzero", 0) != 0;
  for (size_t i = 0; i < target->size(); ++i) {
    const int64_t t = (*target)[i];
    const bool same = t == (*in_shape)[i] || (t == 0 && !allowzero);
    // A single -1 with every other dim equal also infers the same dim.
    if (!same && t != -1) return false;
  }
  return rw.Bypass(n);
}

RewriteResult NopExpand(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  auto in_shape = StaticShape(n->input(0));
  auto target = ConstantInts(n->input(1));
  if (!in_shape || !target || target->size() > in_shape->size()) return false;
  // Broadcasting `target` against the input must leave the input's shape unchanged.
  const size_t offset = in_shape->size() - target->size();
  for (size_t i = 0; i < target->size(); ++i) {
    const int64_t t = (*target)[i];
    if (t != 1 && t != (*in_shape)[offset + i]) return false;
  }
  return rw.Bypass(n);
}

RewriteResult NopPad(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  std::vector<int64_t> pads;
  if (ctx.opset() < 11) {
    pads = n->GetInts("pads");
  } else {
    auto p = ConstantInts(n->input(1));
    if (!p) return false;
    pads = *p;
  }
  for (int64_t p : pads) {
    if (p != 0) return false;
  }
  return rw.Bypass(n);
}

RewriteResult NopSlice(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  if (ctx.opset() < 10) return false;  // attribute form is rare in modern exports
  auto starts = ConstantInts(n->input(1));
  auto ends = ConstantInts(n->input(2));
  if (!starts || !ends || starts->size() != ends->size()) return false;
  std::optional<std::vector<int64_t>> steps;
  if (n->input(4)) {
    steps = ConstantInts(n->input(4));
    if (!steps) return false;
  }
  if (n->input(3) && !ConstantInts(n->input(3))) return false;
  auto shape = n->input(0)->type().shape;
  auto axes = n->input(3) ? *ConstantInts(n->input(3)) : std::vector<int64_t>{};
  for (size_t i = 0; i < starts->size(); ++i) {
    if (steps && (*steps)[i] != 1) return false;
    if ((*starts)[i] != 0) return false;
    const int64_t end = (*ends)[i];
    if (end >= std::numeric_limits<int32_t>::max()) continue;  // "to the end" sentinel
    // A finite end covers the axis only when the axis length is known and not larger.
    if (!shape) return false;
    int64_t axis = axes.empty() ? static_cast<int64_t>(i) : axes[i];
    if (axis < 0) axis += static_cast<int64_t>(shape->size());
    if (axis < 0 || axis >= static_cast<int64_t>(shape->size())) return false;
    const ir::Dim& d = (*shape)[static_cast<size_t>(axis)];
    if (!d.known() || end < d.value) return false;
  }
  return rw.Bypass(n);
}

RewriteResult NopConcat(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  if (n->inputs().size() != 1) return false;
  return rw.Bypass(n);
}

}  // namespace

EliminateNop::EliminateNop()
    : RulePass({{"nop_transpose", "Transpose", "", NopTranspose},
                {"nop_cast", "Cast", "", NopCast},
                {"nop_reshape", "Reshape", "", NopReshape},
                {"nop_expand", "Expand", "", NopExpand},
                {"nop_pad", "Pad", "", NopPad},
                {"nop_slice", "Slice", "", NopSlice},
                {"nop_concat", "Concat", "", NopConcat}}) {}

GRAPHOPT_REGISTER_PASS(EliminateNop, "eliminate_nop", kBasic, 12,
                       "remove no-op Transpose, Cast, Reshape, Expand, Pad, Slice and Concat");

}  // namespace graphopt
