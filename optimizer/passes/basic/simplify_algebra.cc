#include "optimizer/passes/basic/simplify_algebra.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// The node producing `v` when it is `op` in the default domain, in the same graph.
ir::Node* ProducerIs(const ir::Value* v, const char* op) {
  if (!v || !v->producer() || !v->producer()->Is(op)) return nullptr;
  return v->producer();
}

// True when every element of the constant `c` equals `x`.
bool AllEqual(const Tensor* c, double x) {
  if (!c || c->dtype() == DataType::kString || c->size() == 0) return false;
  for (int64_t i = 0; i < c->size(); ++i) {
    if (c->GetDouble(i) != x) return false;
  }
  return true;
}

// Broadcasting `c` against `x` leaves x's shape unchanged: x*c then has x's shape exactly.
bool BroadcastKeepsShape(const ir::Value* x, const Tensor& c) {
  if (c.rank() == 0) return true;
  auto shape = x->type().shape;
  if (!shape || static_cast<size_t>(c.rank()) > shape->size()) return false;
  const size_t offset = shape->size() - static_cast<size_t>(c.rank());
  for (size_t i = 0; i < static_cast<size_t>(c.rank()); ++i) {
    const int64_t d = c.shape()[i];
    const ir::Dim& xd = (*shape)[offset + i];
    if (d != 1 && !(xd.known() && xd.value == d)) return false;
  }
  return true;
}

// x op c -> x where c is an all-`neutral` constant that does not broadcast x.
// `commutative` lets the constant stand on either side.
RewriteResult DropNeutralOperand(Rewriter& rw, ir::Node* n, double neutral, bool commutative) {
  for (size_t k : {size_t{1}, size_t{0}}) {
    if (k == 0 && !commutative) break;
    ir::Value* x = n->input(1 - k);
    const Tensor* c = ConstantValue(n->input(k));
    if (!x || !AllEqual(c, neutral) || !BroadcastKeepsShape(x, *c)) continue;
    if (x->elem_type() != DataType::kUndefined && x->elem_type() != c->dtype()) continue;
    return rw.Bypass(n, 1 - k);
  }
  return false;
}

RewriteResult MulByOne(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  return DropNeutralOperand(rw, n, 1.0, true);
}
RewriteResult AddZero(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  return DropNeutralOperand(rw, n, 0.0, true);
}
RewriteResult SubZero(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  return DropNeutralOperand(rw, n, 0.0, false);
}
RewriteResult DivByOne(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  return DropNeutralOperand(rw, n, 1.0, false);
}
RewriteResult PowOne(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  // Pow's exponent may have another type than the base; 1 is exact in any of them.
  ir::Value* x = n->input(0);
  const Tensor* c = ConstantValue(n->input(1));
  if (!AllEqual(c, 1.0) || !BroadcastKeepsShape(x, *c)) return false;
  return rw.Bypass(n, 0);
}

// Neg(Neg(x)) -> x: exact for every signed type.
RewriteResult DoubleNeg(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  ir::Node* inner = ProducerIs(n->input(0), "Neg");
  if (!inner) return false;
  ir::Value* x = inner->input(0);
  return rw.ReplaceNode(n, {x});
}

// Relu(Relu(x)) -> Relu(x): Relu is idempotent.
RewriteResult DoubleRelu(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  if (!ProducerIs(n->input(0), "Relu")) return false;
  return rw.Bypass(n, 0);
}

// Reshape(Reshape(x, s1), s2) -> Reshape(x, s2) when s2 is constant and has no 0 (a 0 would
// copy a dim of the intermediate, not of x).
RewriteResult ComposeReshapes(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  ir::Node* inner = ProducerIs(n->input(0), "Reshape");
  if (!inner) return false;
  auto s2 = ConstantInts(n->input(1));
  if (!s2 || std::find(s2->begin(), s2->end(), 0) != s2->end()) return false;
  n->SetInput(0, inner->input(0));
  rw.EraseIfDead(inner);
  return true;
}

// Axes of Squeeze/Unsqueeze (attribute before opset 13, input after), normalized against
// `rank`; nullopt when unknown.
std::optional<std::vector<int64_t>> Axes(PassContext& ctx, const ir::Node* n, int64_t rank) {
  std::vector<int64_t> axes;
  if (ctx.opset() < 13) {
    axes = n->GetInts("axes");
  } else {
    if (!n->input(1)) return std::nullopt;
    auto c = ConstantInts(n->input(1));
    if (!c) return std::nullopt;
    axes = *c;
  }
  if (axes.empty()) return std::nullopt;
  for (int64_t& a : axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return std::nullopt;
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

// Squeeze(Unsqueeze(x, a), a) -> x and Unsqueeze(Squeeze(x, a), a) -> x: the same axes
// removed and re-inserted (Squeeze only removes dims of size 1, which Unsqueeze restores).
RewriteResult CancelSqueezePair(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const bool outer_is_squeeze = n->op_type() == "Squeeze";
  ir::Node* inner = ProducerIs(n->input(0), outer_is_squeeze ? "Unsqueeze" : "Squeeze");
  if (!inner) return false;
  // Both axis lists refer to the rank of the bigger tensor (the unsqueezed one).
  ir::Value* big = outer_is_squeeze ? inner->output(0) : n->output(0);
  auto shape = big->type().shape;
  if (!shape) return false;
  const auto rank = static_cast<int64_t>(shape->size());
  auto a1 = Axes(ctx, inner, rank);
  auto a2 = Axes(ctx, n, rank);
  if (!a1 || !a2 || *a1 != *a2) return false;
  return rw.ReplaceNode(n, {inner->input(0)});
}

// Whether every value of `from` is exactly representable in `to`.
bool Widens(DataType from, DataType to) {
  if (from == to) return true;
  switch (from) {
    case DataType::kBool:
      return to != DataType::kString && to != DataType::kUndefined;
    case DataType::kInt8:
      return to == DataType::kInt16 || to == DataType::kInt32 || to == DataType::kInt64 ||
             to == DataType::kFloat || to == DataType::kDouble || to == DataType::kFloat16;
    case DataType::kUint8:
      return to == DataType::kInt16 || to == DataType::kUint16 || to == DataType::kInt32 ||
             to == DataType::kUint32 || to == DataType::kInt64 || to == DataType::kUint64 ||
             to == DataType::kFloat || to == DataType::kDouble || to == DataType::kFloat16;
    case DataType::kInt16:
      return to == DataType::kInt32 || to == DataType::kInt64 || to == DataType::kFloat ||
             to == DataType::kDouble;
    case DataType::kUint16:
      return to == DataType::kInt32 || to == DataType::kUint32 || to == DataType::kInt64 ||
             to == DataType::kUint64 || to == DataType::kFloat || to == DataType::kDouble;
    case DataType::kInt32:
      return to == DataType::kInt64 || to == DataType::kDouble;
    case DataType::kUint32:
      return to == DataType::kInt64 || to == DataType::kUint64 || to == DataType::kDouble;
    case DataType::kFloat16:
    case DataType::kBfloat16:
      return to == DataType::kFloat || to == DataType::kDouble;
    case DataType::kFloat:
      return to == DataType::kDouble;
    default:
      return false;
  }
}

// Cast(Cast(x, T1), T2) -> Cast(x, T2) when T1 holds every value of x's type exactly (the
// first cast loses nothing); -> x when T2 is x's own type.
RewriteResult LosslessCastChain(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  ir::Node* inner = ProducerIs(n->input(0), "Cast");
  if (!inner) return false;
  const DataType x_type = inner->input(0)->elem_type();
  const auto mid = static_cast<DataType>(inner->GetInt("to", 0));
  const auto to = static_cast<DataType>(n->GetInt("to", 0));
  if (x_type == DataType::kUndefined || !Widens(x_type, mid)) return false;
  if (to == x_type) return rw.ReplaceNode(n, {inner->input(0)});
  // Going through `mid` first could only matter if `mid` rounded; it does not.
  n->SetInput(0, inner->input(0));
  rw.EraseIfDead(inner);
  return true;
}

// x / c -> x * (1/c) for a floating constant c. Choice: the reciprocal is rounded once, so each
// result differs from the division by at most about two ulps (relative 2.4e-7 in float32),
// far inside the verification tolerance (rtol 1e-3); c must be finite, non-zero, and its
// reciprocal a normal number so that no overflow or underflow changes the result.
RewriteResult DivByConstant(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const Tensor* c = ConstantValue(n->input(1));
  if (!c || !(c->dtype() == DataType::kFloat || c->dtype() == DataType::kDouble)) return false;
  if (AllEqual(c, 1.0)) return false;  // DivByOne handles it without a Mul
  Tensor reciprocal(c->dtype(), c->shape());
  for (int64_t i = 0; i < c->size(); ++i) {
    const double v = c->GetDouble(i);
    const double r = 1.0 / v;
    const double limit = c->dtype() == DataType::kFloat ? std::numeric_limits<float>::max()
                                                        : std::numeric_limits<double>::max();
    const double tiny = c->dtype() == DataType::kFloat ? std::numeric_limits<float>::min()
                                                       : std::numeric_limits<double>::min();
    if (!std::isfinite(v) || v == 0.0 || std::fabs(r) > limit || std::fabs(r) < tiny) return false;
    if (c->dtype() == DataType::kFloat) reciprocal.mutable_data<float>()[i] = static_cast<float>(r);
    else reciprocal.mutable_data<double>()[i] = r;
  }
  ir::Value* r = rw.CreateInitializer(n->input(1)->name() + "_reciprocal", std::move(reciprocal));
  ir::Node* mul = rw.CreateNode("Mul", {n->input(0), r}, 1, n->name() + "_as_mul");
  mul->output(0)->type() = n->output(0)->type();
  return rw.ReplaceNode(n, {mul->output(0)});
}

// Mul(a, Reciprocal(y)) -> Div(a, y): one node instead of two (covers a·1/Sqrt(v), the
// normalization idiom). Division is correctly rounded, so this is never less accurate.
RewriteResult MulByReciprocal(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  for (size_t k : {size_t{1}, size_t{0}}) {
    ir::Node* rec = ProducerIs(n->input(k), "Reciprocal");
    if (!rec) continue;
    ir::Node* div = rw.CreateNode("Div", {n->input(1 - k), rec->input(0)}, 1, n->name() + "_as_div");
    div->output(0)->type() = n->output(0)->type();
    return rw.ReplaceNode(n, {div->output(0)});
  }
  return false;
}

// Concat(..., Concat(a, b; axis), ...; axis) -> Concat(..., a, b, ...; axis) when the inner
// Concat has no other reader.
RewriteResult FlattenConcats(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const int64_t axis = n->GetInt("axis", 0);
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    ir::Node* inner = ProducerIs(n->input(i), "Concat");
    if (!inner || !HasSingleUse(n->input(i))) continue;
    const int64_t inner_axis = inner->GetInt("axis", 0);
    // Negative and positive spellings of one axis need the rank to compare.
    bool same_axis = inner_axis == axis;
    if (!same_axis && (inner_axis < 0) != (axis < 0)) {
      auto shape = n->output(0)->type().shape;
      if (shape) {
        const auto rank = static_cast<int64_t>(shape->size());
        same_axis = (inner_axis < 0 ? inner_axis + rank : inner_axis) == (axis < 0 ? axis + rank : axis);
      }
    }
    if (!same_axis) continue;
    std::vector<ir::Value*> inputs(n->inputs().begin(), n->inputs().end());
    inputs.erase(inputs.begin() + static_cast<std::ptrdiff_t>(i));
    inputs.insert(inputs.begin() + static_cast<std::ptrdiff_t>(i), inner->inputs().begin(), inner->inputs().end());
    while (!n->inputs().empty()) n->RemoveInput(n->inputs().size() - 1);
    for (ir::Value* v : inputs) n->AddInput(v);
    rw.EraseIfDead(inner);
    return true;
  }
  return false;
}

struct SliceParams {
  std::vector<int64_t> starts, ends, axes;
};

// Static Slice parameters with unit steps and non-negative starts, ends and axes.
std::optional<SliceParams> StaticUnitSlice(const ir::Node* n) {
  if (!n->input(1) || !n->input(2)) return std::nullopt;
  auto starts = ConstantInts(n->input(1));
  auto ends = ConstantInts(n->input(2));
  if (!starts || !ends || starts->size() != ends->size()) return std::nullopt;
  SliceParams p{*starts, *ends, {}};
  if (n->input(3)) {
    auto axes = ConstantInts(n->input(3));
    if (!axes) return std::nullopt;
    p.axes = *axes;
  } else {
    for (size_t i = 0; i < starts->size(); ++i) p.axes.push_back(static_cast<int64_t>(i));
  }
  if (n->input(4)) {
    auto steps = ConstantInts(n->input(4));
    if (!steps) return std::nullopt;
    for (int64_t s : *steps) {
      if (s != 1) return std::nullopt;
    }
  }
  for (size_t i = 0; i < p.starts.size(); ++i) {
    if (p.starts[i] < 0 || p.ends[i] < 0 || p.axes[i] < 0) return std::nullopt;
  }
  return p;
}

// Slice(Slice(x, s1:e1), s2:e2) -> Slice(x, s1+s2 : min(e1, s1+e2)) per axis, for unit steps
// and non-negative bounds (then clamping to the dim commutes with the composition).
RewriteResult ComposeSlices(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  if (ctx.opset() < 10) return false;
  ir::Node* inner = ProducerIs(n->input(0), "Slice");
  if (!inner || !HasSingleUse(n->input(0))) return false;
  auto outer_p = StaticUnitSlice(n);
  auto inner_p = StaticUnitSlice(inner);
  if (!outer_p || !inner_p) return false;
  SliceParams merged = *inner_p;
  const int64_t kMax = std::numeric_limits<int64_t>::max();
  for (size_t i = 0; i < outer_p->axes.size(); ++i) {
    const int64_t axis = outer_p->axes[i];
    auto it = std::find(merged.axes.begin(), merged.axes.end(), axis);
    if (it == merged.axes.end()) {
      merged.axes.push_back(axis);
      merged.starts.push_back(outer_p->starts[i]);
      merged.ends.push_back(outer_p->ends[i]);
      continue;
    }
    const size_t k = static_cast<size_t>(it - merged.axes.begin());
    const int64_t s1 = merged.starts[k], e1 = merged.ends[k];
    const int64_t s2 = outer_p->starts[i], e2 = outer_p->ends[i];
    const int64_t shifted_end = e2 > kMax - s1 ? kMax : s1 + e2;
    merged.starts[k] = s1 > kMax - s2 ? kMax : s1 + s2;
    merged.ends[k] = std::min(e1, shifted_end);
  }
  std::vector<ir::Value*> inputs = {
      inner->input(0), rw.CreateInitializer("slice_starts", Tensor::Int64s(merged.starts)),
      rw.CreateInitializer("slice_ends", Tensor::Int64s(merged.ends)),
      rw.CreateInitializer("slice_axes", Tensor::Int64s(merged.axes))};
  ir::Node* slice = rw.CreateNode("Slice", inputs, 1, n->name() + "_merged");
  slice->output(0)->type() = n->output(0)->type();
  return rw.ReplaceNode(n, {slice->output(0)});
}

}  // namespace

SimplifyAlgebra::SimplifyAlgebra()
    : RulePass({
          {"mul_by_one", "Mul", "", MulByOne},
          {"mul_by_reciprocal", "Mul", "", MulByReciprocal},
          {"add_zero", "Add", "", AddZero},
          {"sub_zero", "Sub", "", SubZero},
          {"div_by_one", "Div", "", DivByOne},
          {"div_by_constant", "Div", "", DivByConstant},
          {"pow_one", "Pow", "", PowOne},
          {"neg_neg", "Neg", "", DoubleNeg},
          {"relu_relu", "Relu", "", DoubleRelu},
          {"reshape_reshape", "Reshape", "", ComposeReshapes},
          {"squeeze_unsqueeze", "Squeeze", "", CancelSqueezePair},
          {"unsqueeze_squeeze", "Unsqueeze", "", CancelSqueezePair},
          {"cast_cast", "Cast", "", LosslessCastChain},
          {"concat_concat", "Concat", "", FlattenConcats},
          {"slice_slice", "Slice", "", ComposeSlices},
      }) {}

GRAPHOPT_REGISTER_PASS(SimplifyAlgebra, "simplify_algebra", kBasic, 40,
                       "algebraic identities: x*1, x+0, x/c as x*(1/c), Neg∘Neg, Reshape chains, "
                       "Squeeze/Unsqueeze pairs, lossless Cast chains, nested Concat and Slice");

}  // namespace graphopt
