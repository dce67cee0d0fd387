#include "optimizer/passes/extended/fuse_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

using pattern::Any;
using pattern::Const;
using pattern::OneOf;
using pattern::Op;
using pattern::Pattern;

constexpr const char* kMs = "com.microsoft";

std::function<bool(const ir::Node*)> PermIs(std::vector<int64_t> perm) {
  return [perm](const ir::Node* n) { return n->GetInts("perm") == perm; };
}

// Transpose(v, perm).
Pattern Transposed(Pattern v, std::vector<int64_t> perm, std::string name = "") {
  return Op("Transpose", {std::move(v)}, std::move(name)).Where(PermIs(std::move(perm)));
}

// One third of the packed projection: Slice(qkv, start, end, axes [-1]) reshaped to
// (S, B*H, head) and transposed by `perm`.
Pattern Head(const std::string& which, std::vector<int64_t> perm) {
  Pattern slice = Op(
      "Slice", {Any("qkv"), Const(which + "_start"), Const(which + "_end"), Const(which + "_axes")},
      which + "_slice");
  return Transposed(Op("Reshape", {std::move(slice), Any(which + "_shape")}, which + "_reshape"),
                    std::move(perm));
}

// Softmax(scale * Q K^T [+ mask]) V with heads of the (S, B*H, head) layout, merged back into
// (S*B, D) and projected by a Gemm, then reshaped to (S, B, D) and transposed to (B, S, D).
const Pattern& TorchAttention() {
  static const Pattern p = [] {
    // The scale multiplies Q (Div by sqrt(head) before basic level turns it into a Mul).
    Pattern q = OneOf({Op("Mul", {Head("q", {1, 0, 2}), Const("scale")}),
                       Op("Div", {Head("q", {1, 0, 2}), Const("inv_scale")})});
    Pattern scores = Op("MatMul", {q, Head("k", {1, 2, 0})}, "qk");
    Pattern masked = OneOf({Op("Add", {scores, Any("mask_bias")}, "mask_add"), scores});
    Pattern probs = Op("Softmax", {masked}, "softmax");
    Pattern context = Op("MatMul", {probs, Head("v", {1, 0, 2})});
    Pattern merged = Op("Reshape", {Transposed(context, {1, 0, 2}), Any("merge_shape")}, "merge");
    Pattern projected = Op("Gemm", {merged, Const("wo"), Const("bo")}, "gemm");
    return Transposed(Op("Reshape", {projected, Any("unmerge_shape")}, "unmerge"), {1, 0, 2});
  }();
  return p;
}

// qkv = Transpose(x, [1, 0, 2]) @ W (+ bias): the packed in-projection of (B, S, D) input x.
const Pattern& PackedProjection() {
  static const Pattern p = [] {
    Pattern mm = Op("MatMul", {Transposed(Any("x"), {1, 0, 2}), Const("w")});
    return OneOf({Op("Add", {mm, Const("qkv_bias")}), mm});
  }();
  return p;
}

// The key padding mask behind `mask_bias` = Where(pad, filter, 0) broadcast to (B*H, 1, S):
// pad = Reshape(Expand(Reshape(Equal(mask, 0) | pad_bool, (B,1,1,S)), (1,H,1,1)), (B*H,1,S)).
struct PaddingMask {
  ir::Value* keep_nonzero = nullptr;  // the int/bool mask where nonzero means "keep"
  ir::Value* pad_bool = nullptr;      // or a bool mask where true means "masked"
  double filter = 0;
  std::vector<ir::Node*> nodes;
};

bool AllZero(const Tensor* t) {
  if (!t) return false;
  for (int64_t i = 0; i < t->size(); ++i) {
    if (t->GetDouble(i) != 0.0) return false;
  }
  return true;
}

// Zeros: a constant, or (zeros_like with symbolic dims) ConstantOfShape of a zero value.
bool IsZeros(const ir::Value* v) {
  if (AllZero(ConstantValue(v))) return true;
  const ir::Node* p = v->producer();
  if (!p || !p->Is("ConstantOfShape")) return false;
  const ir::Attribute* value = p->attr("value");
  return !value || AllZero(&value->t);
}

// On failure `why` says which condition of the mask failed.
std::optional<PaddingMask> MatchPaddingMask(ir::Value* mask_bias, ir::Dim B, int64_t H, ir::Dim S,
                                            std::string* why) {
  static const Pattern p =
      Op("Where",
         {Op("Reshape",
             {Op("Expand", {Op("Reshape", {Any("pad"), Any("r1_shape")}, "r1"), Any("e_shape")},
                 "expand"),
              Any("r2_shape")},
             "r2"),
          Const("filter"), Any("zeros")});
  auto m = pattern::MatchValue(p, mask_bias);
  if (!m) {
    *why = "mask is not Where(Reshape(Expand(Reshape(padding))), filter, 0)";
    return std::nullopt;
  }
  const ir::Dim one = DimOf(1), BH = DimProduct({B, DimOf(H)});
  if (SymbolicShapeOf(m->node("r1")->output(0)) != DimShape{B, one, one, S} ||
      SymbolicShapeOf(m->node("expand")->output(0)) != DimShape{B, DimOf(H), one, S} ||
      SymbolicShapeOf(m->node("r2")->output(0)) != DimShape{BH, one, S} ||
      SymbolicShapeOf(mask_bias) != DimShape{BH, one, S}) {
    *why = "padding mask is not broadcast as (B,1,1,S) -> (B,H,1,S) -> (B*H,1,S)";
    return std::nullopt;
  }
  const Tensor* filter = ConstantValue(m->value("filter"));
  if (!filter || filter->size() != 1 || !IsZeros(m->value("zeros"))) {
    *why = "padding mask's Where is not (filter scalar, zeros)";
    return std::nullopt;
  }
  PaddingMask pm;
  pm.filter = filter->GetDouble(0);
  if (!(pm.filter < -1e3)) {  // a real mask, not a soft bias
    *why = "padding mask's filter value is above -1000 (a soft bias)";
    return std::nullopt;
  }
  pm.nodes = m->matched;
  ir::Value* pad = m->value("pad");
  if (pad->elem_type() != DataType::kBool || SymbolicShapeOf(pad) != DimShape{B, S}) {
    *why = "padding mask is not a bool (B, S) tensor";
    return std::nullopt;
  }
  // Equal(mask, 0): positions where the mask is zero are padding.
  ir::Node* eq = pad->producer();
  if (eq && eq->Is("Equal") && IsScalarConstantEqual(eq->input(1), 0.0)) {
    pm.keep_nonzero = eq->input(0);
    pm.nodes.push_back(eq);
  } else {
    pm.pad_bool = pad;
  }
  return pm;
}

// The int32 (B, S) mask_index, 1 = keep: made once per mask and shared by every layer.
ir::Value* MaskIndex(Rewriter& rw, const PaddingMask& pm) {
  ir::Value* src = pm.keep_nonzero ? pm.keep_nonzero : pm.pad_bool;
  const char* first_op = pm.keep_nonzero ? "Cast" : "Not";
  for (const ir::Use& u : src->uses()) {
    ir::Node* n = u.node;
    if (!n->Is(first_op) || (pm.keep_nonzero && n->GetInt("to", 0) != int64_t(DataType::kBool))) {
      continue;
    }
    for (const ir::Use& u2 : n->output(0)->uses()) {
      if (u2.node->Is("Cast") && u2.node->GetInt("to", 0) == int64_t(DataType::kInt32)) {
        return u2.node->output(0);
      }
    }
  }
  ir::Node* first = rw.CreateNode(first_op, {src}, 1, src->name() + "_keep");
  if (pm.keep_nonzero) first->SetInt("to", int64_t(DataType::kBool));
  first->output(0)->type() = TypeOf(DataType::kBool, *SymbolicShapeOf(src));
  ir::Node* cast = rw.CreateNode("Cast", {first->output(0)}, 1, src->name() + "_mask_index");
  cast->SetInt("to", int64_t(DataType::kInt32));
  cast->output(0)->type() = TypeOf(DataType::kInt32, *SymbolicShapeOf(src));
  return cast->output(0);
}

std::optional<std::pair<int64_t, int64_t>> SliceRange(const ir::Node* slice, int64_t rank) {
  auto starts = ConstantInts(slice->input(1));
  auto ends = ConstantInts(slice->input(2));
  auto axes = ConstantInts(slice->input(3));
  if (!starts || !ends || !axes || starts->size() != 1 || ends->size() != 1 || axes->size() != 1) {
    return std::nullopt;
  }
  if ((*axes)[0] != -1 && (*axes)[0] != rank - 1) return std::nullopt;
  if (slice->input(4)) {
    auto steps = ConstantInts(slice->input(4));
    if (!steps || steps->size() != 1 || (*steps)[0] != 1) return std::nullopt;
  }
  return std::make_pair((*starts)[0], (*ends)[0]);
}

// What TorchMultiheadAttention's checks establish, step by step, for the rewrite to use.
struct TorchMha {
  pattern::Match m, proj;
  ir::Value* x = nullptr;
  ir::Dim B, S;
  int64_t D = 0, H = 0;
  double scale = 1;
  const ir::Node* gemm = nullptr;
  const Tensor *wo = nullptr, *bo = nullptr;
  std::optional<PaddingMask> mask;
};

// Each check returns why the match fails, or "" when it holds.

// The packed projection: a float (B, S, D) input times a (D, 3D) constant, plus a (3D) bias.
std::string CheckPackedInput(TorchMha* a) {
  a->x = a->proj.value("x");
  auto xs = SymbolicShapeOf(a->x);
  if (!xs || xs->size() != 3) return "input is not rank 3 (B, S, D)";
  if (!KnownDim(xs, 2)) return "input hidden size is symbolic";
  if (a->x->elem_type() != DataType::kFloat) return "input is not float";
  a->B = (*xs)[0];
  a->S = (*xs)[1];
  a->D = *KnownDim(xs, 2);
  const int64_t D = a->D;
  const Tensor* w = ConstantValue(a->proj.value("w"));
  if (!w || w->dtype() != DataType::kFloat || w->shape() != Shape{D, 3 * D}) {
    return "packed QKV weight is not a float (D, 3D) constant";
  }
  const Tensor* qkv_bias = ConstantValue(a->proj.value("qkv_bias"));
  if (a->proj.value("qkv_bias") &&
      (!qkv_bias || qkv_bias->dtype() != DataType::kFloat || qkv_bias->shape() != Shape{3 * D})) {
    return "packed QKV bias is not a float (3D) constant";
  }
  return "";
}

// Heads: each third of the projection sliced out and reshaped to (S, B*H, head).
std::string CheckHeads(TorchMha* a) {
  const pattern::Match& m = a->m;
  auto head_shape = SymbolicShapeOf(m.node("q_reshape")->output(0));
  if (!head_shape || head_shape->size() != 3 || (*head_shape)[0] != a->S) {
    return "query heads are not reshaped to (S, B*H, head)";
  }
  const int64_t head = KnownDim(head_shape, 2).value_or(0);
  if (head <= 0 || a->D % head) return "head size is symbolic or does not divide D";
  a->H = a->D / head;
  if ((*head_shape)[1] != DimProduct({a->B, DimOf(a->H)})) {
    return "query heads' second dim is not batch*heads";
  }
  for (const char* which : {"k", "v"}) {
    if (SymbolicShapeOf(m.node(std::string(which) + "_reshape")->output(0)) != head_shape)
      return std::string(which) + " heads are not shaped like the query heads";
  }
  int64_t expected_start = 0;
  for (const char* which : {"q", "k", "v"}) {
    auto range = SliceRange(m.node(std::string(which) + "_slice"), 3);
    if (!range || range->first != expected_start || range->second != expected_start + a->D) {
      return std::string(which) +
             " slice is not the constant last-axis third of the packed projection";
    }
    expected_start += a->D;
  }
  return "";
}

// The scaled scores' softmax over keys, and the heads merged back to (S*B, D) then (S, B, D).
std::string CheckScoresAndMerge(const PassContext& ctx, TorchMha* a) {
  const pattern::Match& m = a->m;
  a->scale = m.value("scale") ? m.scalar("scale") : 1.0 / m.scalar("inv_scale");
  if (!std::isfinite(a->scale) || a->scale <= 0) return "scale is not finite and positive";
  const int64_t softmax_axis = m.node("softmax")->GetInt("axis", -1);
  if (softmax_axis != -1 && softmax_axis != 2) return "Softmax is not over keys";
  if (ctx.opset() < 13) {  // Softmax before 13 normalizes flattened trailing dims
    return "opset below 13 (Softmax over flattened dims)";
  }
  const ir::Dim D = DimOf(a->D);
  if (SymbolicShapeOf(m.node("merge")->output(0)) != DimShape{DimProduct({a->S, a->B}), D}) {
    return "merged heads are not (S*B, D)";
  }
  if (SymbolicShapeOf(m.node("unmerge")->output(0)) != DimShape{a->S, a->B, D}) {
    return "output projection is not reshaped to (S, B, D)";
  }
  return "";
}

// The output projection: a plain Gemm with a (D, D) weight and a (D) bias, both constant.
std::string CheckOutputProjection(TorchMha* a) {
  const int64_t D = a->D;
  a->gemm = a->m.node("gemm");
  if (a->gemm->GetFloat("alpha", 1.0f) != 1.0f || a->gemm->GetFloat("beta", 1.0f) != 1.0f ||
      a->gemm->GetInt("transA", 0) != 0) {
    return "output projection Gemm has alpha/beta other than 1 or transA";
  }
  a->wo = ConstantValue(a->m.value("wo"));
  a->bo = ConstantValue(a->m.value("bo"));
  if (!a->wo || a->wo->dtype() != DataType::kFloat || a->wo->shape() != Shape{D, D}) {
    return "output projection weight is not a float (D, D) constant";
  }
  const Tensor* bo = a->bo;
  if (!bo || bo->dtype() != DataType::kFloat || bo->size() != D ||
      (bo->rank() == 2 && bo->shape()[0] != 1) || bo->rank() > 2) {
    return "output projection bias is not a float (D) constant";
  }
  return "";
}

// com.microsoft.Attention over the packed projection (a zero bias when it has none).
ir::Node* CreateTorchAttention(Rewriter& rw, const TorchMha& a, const ir::Node* root) {
  const int64_t D = a.D;
  ir::Value* bias = a.proj.value("qkv_bias");
  if (!bias) {
    bias = rw.CreateInitializer(a.proj.value("w")->name() + "_bias",
                                Tensor(DataType::kFloat, Shape{3 * D}));
  }
  std::vector<ir::Value*> inputs{a.x, a.proj.value("w"), bias};
  if (a.mask) inputs.push_back(MaskIndex(rw, *a.mask));
  ir::Node* attention = rw.CreateNode("Attention", inputs, 1, root->name() + "_attention", kMs);
  attention->output(0)->type() = TypeOf(DataType::kFloat, {a.B, a.S, DimOf(D)});
  attention->SetInt("num_heads", a.H);
  attention->SetFloat("scale", static_cast<float>(a.scale));
  if (a.mask) {
    // -inf keeps fully padded rows NaN in the original; the most negative float gives the same
    // zero weights for every other row without producing infinities inside the runtime.
    attention->SetFloat(
        "mask_filter_value",
        static_cast<float>(std::max(a.mask->filter, double(std::numeric_limits<float>::lowest()))));
  }
  return attention;
}

// Output projection: Gemm's B (transposed when transB) as a (D, D) MatMul weight, then bias.
ir::Value* CreateTorchOutputProjection(Rewriter& rw, const TorchMha& a, ir::Value* attended,
                                       const ir::Node* root) {
  const int64_t D = a.D;
  ir::Value* wo_value = a.m.value("wo");
  if (a.gemm->GetInt("transB", 0) != 0) {
    Tensor t(DataType::kFloat, Shape{D, D});
    const float* src = a.wo->data<float>();
    float* dst = t.mutable_data<float>();
    for (int64_t i = 0; i < D; ++i)
      for (int64_t j = 0; j < D; ++j) dst[j * D + i] = src[i * D + j];
    wo_value = rw.CreateInitializer(wo_value->name() + "_transposed", std::move(t));
  }
  ir::Value* bo_value = a.m.value("bo");
  if (a.bo->rank() != 1) {
    bo_value = rw.CreateInitializer(bo_value->name() + "_vector", a.bo->Reshaped({D}));
  }
  ir::Node* out_mm = rw.CreateNode("MatMul", {attended, wo_value}, 1, root->name() + "_out_proj");
  out_mm->output(0)->type() = TypeOf(DataType::kFloat, {a.B, a.S, DimOf(D)});
  ir::Node* out_add =
      rw.CreateNode("Add", {out_mm->output(0), bo_value}, 1, root->name() + "_out_bias");
  out_add->output(0)->type() = root->output(0)->type();
  return out_add->output(0);
}

RewriteResult TorchMultiheadAttention(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  // No reason when the root is not an attention output at all: every Transpose is tried.
  auto m = pattern::MatchValue(TorchAttention(), root->output(0));
  if (!m) return false;
  auto proj = pattern::MatchValue(PackedProjection(), m->value("qkv"));
  if (!proj) {
    return MatchFailure(
        "packed QKV is not Transpose(x, [1,0,2]) @ W (+ bias) of a batch-first input");
  }
  TorchMha a;
  a.m = std::move(*m);
  a.proj = std::move(*proj);
  // In order: each check relies on what the ones before it established.
  std::string why = CheckPackedInput(&a);
  if (why.empty()) why = CheckHeads(&a);
  if (why.empty()) why = CheckScoresAndMerge(ctx, &a);
  if (why.empty()) why = CheckOutputProjection(&a);
  if (!why.empty()) return MatchFailure(why);
  if (ir::Value* mb = a.m.value("mask_bias")) {
    std::string why;
    a.mask = MatchPaddingMask(mb, a.B, a.H, a.S, &why);
    if (!a.mask) return MatchFailure(why);
  }
  // Everything but the mask (shared by all layers) belongs to this attention alone.
  pattern::Match all = a.m;
  for (ir::Node* n : a.proj.matched) all.matched.push_back(n);
  if (!pattern::IsSelfContained(all, root)) {
    return MatchFailure("an intermediate value of the attention has readers outside it");
  }
  std::vector<ir::Node*> nodes = all.matched;
  if (a.mask) nodes.insert(nodes.end(), a.mask->nodes.begin(), a.mask->nodes.end());
  *rw.consumed() = pattern::NodeNames(nodes);
  ir::Node* attention = CreateTorchAttention(rw, a, root);
  // On failure the driver rolls back the nodes made here.
  return rw.ReplaceNode(root, {CreateTorchOutputProjection(rw, a, attention->output(0), root)});
}

// BERT-style exports (separate Q/K/V Linear layers on (B, S, D) input):
//   Q = Transpose(Reshape(x Wq + bq, (B, S, H, d)), (0, 2, 1, 3)), K likewise with
//   (0, 2, 3, 1), V like Q; softmax(Q K * scale + mask_bias) V, transposed back and reshaped to
//   (B, S, D). The three projections become Attention's packed weights; an additive mask
//   (e.g. (1 - mask) * -10000 of shape (B, 1, 1, S)) becomes its attention_bias input, expanded
//   to (B, 1, S, S): exact, whatever values the mask holds.
Pattern Projection(const std::string& which) {
  Pattern mm = Op("MatMul", {Any("x"), Const("w" + which)});
  return OneOf({Op("Add", {mm, Const("b" + which)}), mm});
}

Pattern BertHead(const std::string& which, std::vector<int64_t> perm) {
  return Transposed(Op("Reshape", {Projection(which), Const()}, which + "_reshape"),
                    std::move(perm));
}

const Pattern& BertAttention() {
  static const Pattern p = [] {
    Pattern q = BertHead("q", {0, 2, 1, 3});
    Pattern qk =
        OneOf({Op("MatMul", {Op("Mul", {q, Const("q_scale")}), BertHead("k", {0, 2, 3, 1})}),
               Op("MatMul", {q, BertHead("k", {0, 2, 3, 1})})});
    Pattern scaled =
        OneOf({Op("Mul", {qk, Const("scale")}), Op("Div", {qk, Const("inv_scale")}), qk});
    Pattern masked = OneOf({Op("Add", {scaled, Any("mask_bias")}), scaled});
    Pattern probs = Op("Softmax", {masked}, "softmax");
    Pattern context = Op("MatMul", {probs, BertHead("v", {0, 2, 1, 3})});
    return Op("Reshape", {Transposed(context, {0, 2, 1, 3}), Const()});
  }();
  return p;
}

// The constant `name` of the match as a (D, D) weight or (D) bias of float type, else null.
const Tensor* FloatConstant(const pattern::Match& m, const std::string& name, const Shape& shape) {
  const Tensor* t = ConstantValue(m.value(name));
  return t && t->dtype() == DataType::kFloat && t->shape() == shape ? t : nullptr;
}

RewriteResult BertSelfAttention(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  // No reason when the root is not an attention output at all: every Reshape is tried.
  auto m = pattern::MatchValue(BertAttention(), root->output(0));
  if (!m) return false;
  if (ctx.opset() < 13) return MatchFailure("opset below 13 (Softmax over flattened dims)");
  ir::Value* x = m->value("x");
  auto xs = SymbolicShapeOf(x);
  if (!xs || xs->size() != 3) return MatchFailure("input is not rank 3 (B, S, D)");
  if (!KnownDim(xs, 2)) return MatchFailure("input hidden size is symbolic");
  if (x->elem_type() != DataType::kFloat) return MatchFailure("input is not float");
  const ir::Dim B = (*xs)[0], S = (*xs)[1];
  const int64_t D = *KnownDim(xs, 2);
  auto head_shape = SymbolicShapeOf(m->node("q_reshape")->output(0));
  if (!head_shape || head_shape->size() != 4 || (*head_shape)[0] != B || (*head_shape)[1] != S) {
    return MatchFailure("query heads are not reshaped to (B, S, H, head)");
  }
  const int64_t H = KnownDim(head_shape, 2).value_or(0), head = KnownDim(head_shape, 3).value_or(0);
  if (H <= 0 || H * head != D) return MatchFailure("heads * head size is not the hidden size");
  for (const char* which : {"k", "v"}) {
    if (SymbolicShapeOf(m->node(std::string(which) + "_reshape")->output(0)) != head_shape)
      return MatchFailure(std::string(which) + " heads are not shaped like the query heads");
  }
  if (SymbolicShapeOf(root->output(0)) != DimShape{B, S, DimOf(D)}) {
    return MatchFailure("merged output is not (B, S, D)");
  }
  const int64_t axis = m->node("softmax")->GetInt("axis", -1);
  if (axis != -1 && axis != 3) return MatchFailure("Softmax is not over keys");
  const Tensor* w[3];
  const Tensor* b[3];
  const char* parts[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    w[i] = FloatConstant(*m, std::string("w") + parts[i], {D, D});
    b[i] = FloatConstant(*m, std::string("b") + parts[i], {D});
    if (!w[i] || (m->value(std::string("b") + parts[i]) && !b[i])) {
      return MatchFailure(std::string(parts[i]) +
                          " projection weight/bias is not a float (D, D)/(D) constant");
    }
  }
  double scale = 1.0;
  for (const char* name : {"q_scale", "scale"}) {
    if (m->value(name)) scale *= m->scalar(name);
  }
  if (m->value("inv_scale")) scale /= m->scalar("inv_scale");
  if (!std::isfinite(scale) || scale <= 0) return MatchFailure("scale is not finite and positive");
  // The additive mask, broadcast over heads and queries: (B or 1, H or 1, S or 1, S).
  ir::Value* mask_bias = m->value("mask_bias");
  std::optional<DimShape> mask_shape;
  if (mask_bias) {
    mask_shape = SymbolicShapeOf(mask_bias);
    if (!mask_shape || mask_shape->size() != 4 || mask_bias->elem_type() != DataType::kFloat) {
      return MatchFailure("additive mask is not a float rank-4 tensor");
    }
    const DimShape& ms = *mask_shape;
    const ir::Dim one = DimOf(1);
    if ((ms[0] != one && ms[0] != B) || (ms[1] != one && ms[1] != DimOf(H)) ||
        (ms[2] != one && ms[2] != S) || ms[3] != S) {
      return MatchFailure("additive mask is not (B or 1, H or 1, S or 1, S)");
    }
  }
  if (!pattern::IsSelfContained(*m, root)) {
    return MatchFailure("an intermediate value of the attention has readers outside it");
  }

  *rw.consumed() = pattern::NodeNames(m->matched);
  // Packed weights (D, 3D): row r is [Wq[r], Wk[r], Wv[r]]; bias [bq, bk, bv] (zeros if absent).
  Tensor packed(DataType::kFloat, Shape{D, 3 * D});
  Tensor packed_bias(DataType::kFloat, Shape{3 * D});
  float* pw = packed.mutable_data<float>();
  float* pb = packed_bias.mutable_data<float>();
  for (int i = 0; i < 3; ++i) {
    const float* src = w[i]->data<float>();
    for (int64_t r = 0; r < D; ++r) {
      for (int64_t c = 0; c < D; ++c) pw[r * 3 * D + i * D + c] = src[r * D + c];
    }
    for (int64_t c = 0; c < D; ++c) pb[i * D + c] = b[i] ? b[i]->data<float>()[c] : 0.0f;
  }
  const std::string base = m->value("wq")->name();
  std::vector<ir::Value*> inputs{x, rw.CreateInitializer(base + "_qkv", std::move(packed)),
                                 rw.CreateInitializer(base + "_qkv_bias", std::move(packed_bias))};
  if (mask_bias) {
    ir::Value* bias = mask_bias;
    if ((*mask_shape)[2] != S) {
      // Rows repeated to (.., S, S): a (1, 1, S, 1) shape broadcasts the mask's (.., 1, S).
      const DimShape full{(*mask_shape)[0], (*mask_shape)[1], S, S};
      ir::Value* rows = ShapeTensorOf(rw.graph(), {DimOf(1), DimOf(1), S, DimOf(1)}, x, 1);
      ir::Node* expand = rw.CreateNode("Expand", {mask_bias, rows}, 1, mask_bias->name() + "_rows");
      expand->output(0)->type() = TypeOf(DataType::kFloat, full);
      bias = expand->output(0);
    }
    inputs.resize(5, nullptr);
    inputs.push_back(bias);
  }
  ir::Node* attention = pattern::ReplaceWithFused(rw, root, "Attention", kMs, inputs);
  if (!attention) return MatchFailure("replacing the output failed (graph output or type mismatch)");
  attention->SetInt("num_heads", H);
  attention->SetFloat("scale", static_cast<float>(scale));
  return true;
}

// Sequence-first torch.nn.MultiheadAttention (nn.Transformer* with batch_first=False): the
// input is already (S, B, D), so the heads' sources are the projections of x itself, and the
// output stays (S, B, D) after the Gemm (no final Transpose). Q, K and V are each a column slice
// of a packed projection or a projection of their own: self-attention (one source) becomes
// Attention, cross-attention (Q from the target, K/V from the memory) MultiHeadAttention.
Pattern SeqHead(const std::string& which, std::vector<int64_t> perm) {
  Pattern src = OneOf({Op("Slice", {Any(which + "_packed"), Const(), Const(), Const()},
                          which + "_slice"),
                       Any(which + "_src")});
  return Transposed(Op("Reshape", {std::move(src), Any(which + "_shape")}, which + "_reshape"),
                    std::move(perm), which + "_heads");
}

const Pattern& SeqFirstAttention() {
  static const Pattern p = [] {
    Pattern q = OneOf({Op("Mul", {SeqHead("q", {1, 0, 2}), Const("scale")}),
                       Op("Div", {SeqHead("q", {1, 0, 2}), Const("inv_scale")})});
    Pattern scores = Op("MatMul", {q, SeqHead("k", {1, 2, 0})}, "qk");
    Pattern masked = OneOf({Op("Add", {scores, Any("mask_bias")}, "mask_add"), scores});
    Pattern probs = Op("Softmax", {masked}, "softmax");
    Pattern context = Op("MatMul", {probs, SeqHead("v", {1, 0, 2})});
    Pattern merged = Op("Reshape", {Transposed(context, {1, 0, 2}), Any("merge_shape")}, "merge");
    Pattern projected = Op("Gemm", {merged, Const("wo"), Const("bo")}, "gemm");
    return Op("Reshape", {projected, Any("unmerge_shape")}, "unmerge");
  }();
  return p;
}

// One projection x W (+ b) with its weight as a float (D_in, width) matrix (FusedMatMul's
// transposed weight untransposed) and bias (zeros when absent), restricted to columns
// [begin, end) when the head slices a packed projection.
struct HeadProjection {
  ir::Value* x = nullptr;
  std::vector<float> w;  // (d_in, width), row-major
  std::vector<float> b;  // (width)
  int64_t d_in = 0, width = 0;
  std::vector<ir::Node*> nodes;
};

constexpr int64_t kAllColumns = std::numeric_limits<int64_t>::min();

std::optional<HeadProjection> MatchProjection(ir::Value* src, int64_t begin, int64_t end,
                                          std::string* why) {
  static const Pattern p = [] {
    Pattern mm = OneOf({Op("MatMul", {Any("x"), Const("w")}, "mm"),
                        Op("FusedMatMul", {Any("x"), Const("w")}, "mm").InDomain(kMs)});
    return OneOf({Op("Add", {mm, Const("b")}), mm});
  }();
  auto m = pattern::MatchValue(p, src);
  if (!m) {
    *why = "projection is not x @ W (+ b) with constant W";
    return std::nullopt;
  }
  const ir::Node* mm = m->node("mm");
  bool trans_b = false;
  if (!mm->is_onnx_domain()) {  // FusedMatMul
    if (mm->GetFloat("alpha", 1.0f) != 1.0f || mm->GetInt("transA", 0) != 0 ||
        mm->GetInt("transBatchA", 0) != 0 || mm->GetInt("transBatchB", 0) != 0) {
      *why = "projection FusedMatMul scales or transposes its input";
      return std::nullopt;
    }
    trans_b = mm->GetInt("transB", 0) != 0;
  }
  const Tensor* w = ConstantValue(m->value("w"));
  if (!w || w->dtype() != DataType::kFloat || w->rank() != 2) {
    *why = "projection weight is not a float matrix";
    return std::nullopt;
  }
  const int64_t rows = w->shape()[trans_b ? 1 : 0], cols = w->shape()[trans_b ? 0 : 1];
  // Slice semantics: negative bounds count from the end, ends past it clamp (chunk's INT64_MAX).
  if (end == kAllColumns) end = cols;
  if (begin < 0) begin += cols;
  if (end < 0) end += cols;
  end = std::min(end, cols);
  if (begin < 0 || begin >= end) {
    *why = "head slice is outside the projection's columns";
    return std::nullopt;
  }
  const Tensor* b = ConstantValue(m->value("b"));
  if (m->value("b") && (!b || b->dtype() != DataType::kFloat || b->size() != cols ||
                        b->shape().back() != cols)) {
    *why = "projection bias is not a float vector of the weight's columns";
    return std::nullopt;
  }
  HeadProjection proj;
  proj.x = m->value("x");
  proj.d_in = rows;
  proj.width = end - begin;
  proj.w.resize(static_cast<size_t>(rows * proj.width));
  const float* wd = w->data<float>();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = begin; c < end; ++c)
      proj.w[static_cast<size_t>(r * proj.width + c - begin)] =
          trans_b ? wd[c * rows + r] : wd[r * cols + c];
  proj.b.assign(static_cast<size_t>(proj.width), 0.0f);
  if (b) {
    for (int64_t c = begin; c < end; ++c) proj.b[static_cast<size_t>(c - begin)] = b->data<float>()[c];
  }
  proj.nodes = m->matched;
  return proj;
}

// The mask torch adds for `is_causal`-style decoding: Unsqueeze(Trilu(ConstantOfShape((S, S),
// v), k=1, upper)) with v <= -10000: every key after the query is masked, i.e. Attention's
// unidirectional. (The shared mask nodes are left to dead-code elimination.)
bool IsCausalMask(ir::Value* mask, const ir::Dim& S) {
  const ir::Dim one = DimOf(1);
  auto ms = SymbolicShapeOf(mask);
  if (ms != DimShape{one, S, S} && ms != DimShape{S, S}) return false;
  ir::Node* n = mask->producer();
  if (n && n->Is("Unsqueeze")) n = n->input(0)->producer();
  if (!n || !n->Is("Trilu") || n->GetInt("upper", 1) != 1 || n->inputs().size() != 2 ||
      !IsScalarConstantEqual(n->input(1), 1.0)) {
    return false;
  }
  if (SymbolicShapeOf(n->input(0)) != DimShape{S, S}) return false;
  const ir::Node* fill = n->input(0)->producer();
  if (!fill || !fill->Is("ConstantOfShape")) return false;
  const ir::Attribute* value = fill->attr("value");
  return value && value->t.size() == 1 && value->t.GetDouble(0) <= -1e4;
}

// A Transpose(v, [1, 0, 2]) to batch-first: an existing one (the memory is read by every
// layer's cross-attention) or a new one.
ir::Value* BatchFirst(Rewriter& rw, ir::Value* v, const DimShape& shape) {
  for (const ir::Use& u : v->uses()) {
    if (u.node->Is("Transpose") && u.node->GetInts("perm") == std::vector<int64_t>{1, 0, 2} &&
        u.node->output(0)->uses().size() > 0) {
      return u.node->output(0);
    }
  }
  ir::Node* t = rw.CreateNode("Transpose", {v}, 1, v->name() + "_batch_first");
  t->SetInts("perm", {1, 0, 2});
  t->output(0)->type() = TypeOf(v->elem_type(), {shape[1], shape[0], shape[2]});
  return t->output(0);
}

Tensor FloatMatrix(const std::vector<float>& data, Shape shape) {
  Tensor t(DataType::kFloat, std::move(shape));
  std::copy(data.begin(), data.end(), t.mutable_data<float>());
  return t;
}

// `cross`: the rule for Q and K/V of different inputs (MultiHeadAttention), else for one input
// (Attention); each leaves the other's case alone, so a target may allow only one operator.
RewriteResult SeqFirstAttentionRule(PassContext& ctx, Rewriter& rw, ir::Node* root, bool cross) {
  // No reason when the root is not an attention output at all: every Reshape is tried.
  auto m = pattern::MatchValue(SeqFirstAttention(), root->output(0));
  if (!m) return false;
  if (ctx.opset() < 13) return MatchFailure("opset below 13 (Softmax over flattened dims)");
  const int64_t softmax_axis = m->node("softmax")->GetInt("axis", -1);
  if (softmax_axis != -1 && softmax_axis != 2) return MatchFailure("Softmax is not over keys");
  // Each head's projection and its columns.
  std::optional<HeadProjection> proj[3];
  const char* parts[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const std::string which = parts[i];
    std::string why;
    if (ir::Node* slice = m->node(which + "_slice")) {
      auto range = SliceRange(slice, 3);
      if (!range) return MatchFailure(which + " slice is not a constant last-axis range");
      proj[i] = MatchProjection(m->value(which + "_packed"), range->first, range->second, &why);
    } else {
      proj[i] = MatchProjection(m->value(which + "_src"), 0, kAllColumns, &why);
    }
    if (!proj[i]) return MatchFailure(which + ": " + why);
  }
  ir::Value* xq = proj[0]->x;
  ir::Value* xkv = proj[1]->x;
  // Batch-first exports wrap this in Transpose(.., [1, 0, 2]) on both ends: the
  // torch_multihead_attention rule (rooted at the last Transpose) takes those whole.
  auto is_swap = [](const ir::Node* n) {
    return n && n->Is("Transpose") && n->GetInts("perm") == std::vector<int64_t>{1, 0, 2};
  };
  const ir::Value* out = root->output(0);
  if (is_swap(xq->producer()) && out->uses().size() == 1 && is_swap(out->uses()[0].node)) {
    return false;
  }
  if (proj[2]->x != xkv) return MatchFailure("key and value project different inputs");
  const bool self = xq == xkv;
  if (self == cross) return false;
  auto qs = SymbolicShapeOf(xq);
  auto kvs = SymbolicShapeOf(xkv);
  if (!qs || qs->size() != 3 || !kvs || kvs->size() != 3) {
    return MatchFailure("query or key input is not rank 3 (S, B, D)");
  }
  if (xq->elem_type() != DataType::kFloat || xkv->elem_type() != DataType::kFloat) {
    return MatchFailure("input is not float");
  }
  const ir::Dim S = (*qs)[0], B = (*qs)[1], L = (*kvs)[0];
  if ((*kvs)[1] != B) return MatchFailure("query and key inputs differ in batch");
  const int64_t D = KnownDim(qs, 2).value_or(0);
  if (D <= 0 || KnownDim(kvs, 2) != D) return MatchFailure("hidden size is symbolic or differs");
  for (int i = 0; i < 3; ++i) {
    if (proj[i]->d_in != D || proj[i]->width != D) {
      return MatchFailure(std::string(parts[i]) + " projection is not (D, D)");
    }
  }
  auto head_shape = SymbolicShapeOf(m->node("q_reshape")->output(0));
  const int64_t head = KnownDim(head_shape, 2).value_or(0);
  if (!head_shape || head_shape->size() != 3 || (*head_shape)[0] != S || head <= 0 || D % head) {
    return MatchFailure("query heads are not reshaped to (S, B*H, head)");
  }
  const int64_t H = D / head;
  const ir::Dim BH = DimProduct({B, DimOf(H)});
  if ((*head_shape)[1] != BH) return MatchFailure("query heads' second dim is not batch*heads");
  for (const char* which : {"k", "v"}) {
    if (SymbolicShapeOf(m->node(std::string(which) + "_reshape")->output(0)) !=
        DimShape{L, BH, DimOf(head)}) {
      return MatchFailure(std::string(which) + " heads are not reshaped to (L, B*H, head)");
    }
  }
  const double scale = m->value("scale") ? m->scalar("scale") : 1.0 / m->scalar("inv_scale");
  if (!std::isfinite(scale) || scale <= 0) return MatchFailure("scale is not finite and positive");
  if (SymbolicShapeOf(m->node("merge")->output(0)) != DimShape{DimProduct({S, B}), DimOf(D)}) {
    return MatchFailure("merged heads are not (S*B, D)");
  }
  if (SymbolicShapeOf(root->output(0)) != DimShape{S, B, DimOf(D)}) {
    return MatchFailure("output projection is not reshaped to (S, B, D)");
  }
  const ir::Node* gemm = m->node("gemm");
  if (gemm->GetFloat("alpha", 1.0f) != 1.0f || gemm->GetFloat("beta", 1.0f) != 1.0f ||
      gemm->GetInt("transA", 0) != 0) {
    return MatchFailure("output projection Gemm has alpha/beta other than 1 or transA");
  }
  const Tensor* wo = ConstantValue(m->value("wo"));
  const Tensor* bo = ConstantValue(m->value("bo"));
  if (!wo || wo->dtype() != DataType::kFloat || wo->shape() != Shape{D, D}) {
    return MatchFailure("output projection weight is not a float (D, D) constant");
  }
  if (!bo || bo->dtype() != DataType::kFloat || bo->size() != D || bo->rank() > 2 ||
      (bo->rank() == 2 && bo->shape()[0] != 1)) {
    return MatchFailure("output projection bias is not a float (D) constant");
  }
  // The additive mask: causal (unidirectional) or any float (S, T) / (1, S, T) bias.
  ir::Value* mask = m->value("mask_bias");
  bool causal = false;
  if (mask) {
    causal = self && IsCausalMask(mask, S);
    auto ms = SymbolicShapeOf(mask);
    if (!causal && (mask->elem_type() != DataType::kFloat ||
                    (ms != DimShape{DimOf(1), S, L} && ms != DimShape{S, L}))) {
      return MatchFailure("additive mask is neither causal nor a float (1, S, T) or (S, T) bias");
    }
  }
  pattern::Match all = *m;
  for (auto& p : proj) all.matched.insert(all.matched.end(), p->nodes.begin(), p->nodes.end());
  // Packed projections are read by all three (or both K/V) slices: drop repeats.
  std::sort(all.matched.begin() + 1, all.matched.end());
  all.matched.erase(std::unique(all.matched.begin() + 1, all.matched.end()), all.matched.end());
  if (cross) {
    // The memory's K/V heads may be shared by every layer (identical weights, merged by CSE):
    // they stay for their other readers and go with the last of them.
    std::vector<ir::Node*> kv;
    for (const char* which : {"k", "v"}) {
      for (const char* part : {"_heads", "_reshape", "_slice"}) {
        if (ir::Node* n = m->node(std::string(which) + part)) kv.push_back(n);
      }
    }
    for (int i = 1; i < 3; ++i) kv.insert(kv.end(), proj[i]->nodes.begin(), proj[i]->nodes.end());
    all.matched.erase(std::remove_if(all.matched.begin() + 1, all.matched.end(),
                                     [&](ir::Node* n) {
                                       return std::find(kv.begin(), kv.end(), n) != kv.end();
                                     }),
                      all.matched.end());
  }
  if (!pattern::IsSelfContained(all, root)) {
    return MatchFailure("an intermediate value of the attention has readers outside it");
  }

  *rw.consumed() = pattern::NodeNames(all.matched);
  const std::string base = root->name();
  ir::Value* q_in = BatchFirst(rw, xq, *qs);
  std::vector<float> bias;  // [bq, bk, bv]
  for (auto& p : proj) bias.insert(bias.end(), p->b.begin(), p->b.end());
  ir::Value* bias_value = rw.CreateInitializer(base + "_qkv_bias", FloatMatrix(bias, {3 * D}));
  ir::Value* attention_bias = nullptr;
  if (mask && !causal) {
    // (S, T) or (1, S, T) -> (1, 1, S, T): broadcast over batch and heads.
    const bool rank2 = SymbolicShapeOf(mask)->size() == 2;
    Tensor axes = Tensor::FromVector<int64_t>(DataType::kInt64, {rank2 ? 2 : 1},
                                              rank2 ? std::vector<int64_t>{0, 1}
                                                    : std::vector<int64_t>{0});
    ir::Node* unsq = rw.CreateNode("Unsqueeze", {mask, rw.CreateInitializer(base + "_bias_axes", std::move(axes))},
                                   1, base + "_attention_bias");
    unsq->output(0)->type() = TypeOf(DataType::kFloat, {DimOf(1), DimOf(1), S, L});
    attention_bias = unsq->output(0);
  }
  ir::Node* attention = nullptr;
  if (self) {
    // Packed (D, 3D) weight: row r is [Wq[r], Wk[r], Wv[r]].
    std::vector<float> packed(static_cast<size_t>(D * 3 * D));
    for (int i = 0; i < 3; ++i)
      for (int64_t r = 0; r < D; ++r)
        std::copy_n(proj[i]->w.begin() + r * D, D, packed.begin() + r * 3 * D + i * D);
    std::vector<ir::Value*> inputs{
        q_in, rw.CreateInitializer(base + "_qkv", FloatMatrix(packed, {D, 3 * D})), bias_value};
    if (attention_bias) {
      inputs.resize(5, nullptr);
      inputs.push_back(attention_bias);
    }
    attention = rw.CreateNode("Attention", inputs, 1, base + "_attention", kMs);
    if (causal) attention->SetInt("unidirectional", 1);
  } else {
    auto project = [&](ir::Value* in, int i) {
      ir::Node* mm = rw.CreateNode(
          "MatMul",
          {in, rw.CreateInitializer(base + "_w" + parts[i], FloatMatrix(proj[i]->w, {D, D}))}, 1,
          base + "_" + parts[i] + "_proj");
      mm->output(0)->type() =
          TypeOf(DataType::kFloat, {B, i == 0 ? S : L, DimOf(D)});
      return mm->output(0);
    };
    ir::Value* kv_in = BatchFirst(rw, xkv, *kvs);
    std::vector<ir::Value*> inputs{project(q_in, 0), project(kv_in, 1), project(kv_in, 2),
                                   bias_value};
    if (attention_bias) {
      inputs.push_back(nullptr);
      inputs.push_back(attention_bias);
    }
    attention = rw.CreateNode("MultiHeadAttention", inputs, 1, base + "_attention", kMs);
  }
  attention->output(0)->type() = TypeOf(DataType::kFloat, {B, S, DimOf(D)});
  attention->SetInt("num_heads", H);
  attention->SetFloat("scale", static_cast<float>(scale));
  // Back to (S, B, D), then the output projection: Gemm's B as a (D, D) MatMul weight.
  ir::Node* back = rw.CreateNode("Transpose", {attention->output(0)}, 1, base + "_seq_first");
  back->SetInts("perm", {1, 0, 2});
  back->output(0)->type() = TypeOf(DataType::kFloat, {S, B, DimOf(D)});
  ir::Value* wo_value = m->value("wo");
  if (gemm->GetInt("transB", 0) != 0) {
    Tensor t(DataType::kFloat, Shape{D, D});
    const float* src = wo->data<float>();
    float* dst = t.mutable_data<float>();
    for (int64_t i = 0; i < D; ++i)
      for (int64_t j = 0; j < D; ++j) dst[j * D + i] = src[i * D + j];
    wo_value = rw.CreateInitializer(wo_value->name() + "_transposed", std::move(t));
  }
  ir::Value* bo_value = m->value("bo");
  if (bo->rank() != 1) bo_value = rw.CreateInitializer(bo_value->name() + "_vector", bo->Reshaped({D}));
  ir::Node* out_mm = rw.CreateNode("MatMul", {back->output(0), wo_value}, 1, base + "_out_proj");
  out_mm->output(0)->type() = TypeOf(DataType::kFloat, {S, B, DimOf(D)});
  ir::Node* out_add = rw.CreateNode("Add", {out_mm->output(0), bo_value}, 1, base + "_out_bias");
  out_add->output(0)->type() = root->output(0)->type();
  // On failure the driver rolls back the nodes made above.
  return rw.ReplaceNode(root, {out_add->output(0)});
}

// Swin's shifted windows: the scores (B, H, N, N) of B = batches * nW windows are viewed as
// (B/nW, nW, H, N, N), a constant per-window mask is added, and the sum is viewed back. Window b
// of the batch reads mask entry b % nW, so the relative position bias plus the mask is one
// constant (nW, H or 1, N, N) that Tile repeats B/nW times along the batch at run time.
//
// Swin masks with -100: softmax then gives the masked keys probabilities near exp(-100), below
// float's normal range, and x86 without flush-to-zero runs the probs x V products on those
// subnormals far slower (ONNX Runtime's CPU Attention on swin_t's shifted blocks: 2.5x). A mask
// entry at or below log(FLT_MIN) in a row that keeps some key becomes -10000 (representable in
// float16 too), whose exp is exactly 0: each probability moves by at most exp(m + spread of
// the row's scores) for mask m <= -87.3, below float rounding unless the spread is over ~70.
constexpr float kSubnormalLogit = -87.33655f;  // log(FLT_MIN)
constexpr float kHardMask = -10000.0f;

struct WindowedBias {
  Tensor combined;  // (nW or 1, H or 1, N, N)
  ir::Dim repeats;  // B/nW, the view's first dim
};

// `t`'s shape left-padded with 1s to `rank`, or nullopt when it is longer.
std::optional<Shape> PaddedShape(const Tensor& t, size_t rank) {
  if (t.shape().size() > rank) return std::nullopt;
  Shape s(rank - t.shape().size(), 1);
  s.insert(s.end(), t.shape().begin(), t.shape().end());
  return s;
}

// Each check's failure says why; `bias` may be null (no relative position bias).
std::optional<WindowedBias> MatchWindowedBias(const pattern::Match& m, const ir::Value* bias,
                                              const ir::Dim& B, int64_t H, const ir::Dim& N,
                                              std::string* why) {
  auto fail = [&](const std::string& reason) {
    *why = "shifted-window " + reason;
    return std::nullopt;
  };
  if (!N.known()) return fail("attention needs a static window size N");
  const int64_t n = N.value;
  auto vs = SymbolicShapeOf(m.node("window_view")->output(0));
  if (!vs || vs->size() != 5 || !KnownDim(vs, 1) || (*vs)[2] != DimOf(H) || (*vs)[3] != N ||
      (*vs)[4] != N || DimProduct({(*vs)[0], (*vs)[1]}) != B) {
    return fail("view is not (B/nW, nW, H, N, N) of the (B, H, N, N) scores");
  }
  const int64_t nw = *KnownDim(vs, 1);
  if (SymbolicShapeOf(m.node("window_reshape")->output(0)) != DimShape{B, DimOf(H), N, N}) {
    return fail("scores are not viewed back to (B, H, N, N)");
  }
  // Broadcast dims of the mask (1, nW, H, N, N) and the bias (1, H, N, N): the full size or 1.
  auto fits = [](const std::optional<Shape>& s, const Shape& full) {
    if (!s) return false;
    for (size_t i = 0; i < full.size(); ++i) {
      if ((*s)[i] != 1 && (*s)[i] != full[i]) return false;
    }
    return true;
  };
  const Tensor* mask = ConstantValue(m.value("window_mask"));
  if (!mask || mask->dtype() != DataType::kFloat) return fail("mask is not a float constant");
  const auto ms = PaddedShape(*mask, 5);
  if (!fits(ms, {1, nw, H, n, n})) return fail("mask does not broadcast to (1, nW, H, N, N)");
  const Tensor* b = bias ? ConstantValue(bias) : nullptr;
  if (bias && (!b || b->dtype() != DataType::kFloat)) return fail("bias is not a float constant");
  const auto bs = b ? PaddedShape(*b, 4) : Shape{1, 1, 1, 1};
  if (!fits(bs, {1, H, n, n})) return fail("bias does not broadcast to (1, H, N, N)");

  const int64_t w_out = (*ms)[1], h_out = std::max((*ms)[2], (*bs)[1]);
  WindowedBias wb{Tensor(DataType::kFloat, Shape{w_out, h_out, n, n}), (*vs)[0]};
  // Row-major index of (w, h, i, j) in a broadcast operand: 0 along its dims of size 1.
  auto index = [](const Shape& s, std::vector<int64_t> at) {
    int64_t k = 0;
    for (size_t d = 0; d < s.size(); ++d) k = k * s[d] + (s[d] == 1 ? 0 : at[d]);
    return k;
  };
  float* out = wb.combined.mutable_data<float>();
  const float* mv = mask->data<float>();
  const float* bv = b ? b->data<float>() : nullptr;
  for (int64_t w = 0; w < w_out; ++w)
    for (int64_t h = 0; h < h_out; ++h)
      for (int64_t i = 0; i < n; ++i) {
        // Is some key of this row left unmasked (so it, not a masked one, bounds the row's max)?
        bool kept = false;
        for (int64_t j = 0; j < n; ++j) kept |= mv[index(*ms, {0, w, h, i, j})] > kSubnormalLogit;
        for (int64_t j = 0; j < n; ++j) {
          const float m = mv[index(*ms, {0, w, h, i, j})];
          *out++ = kept && m <= kSubnormalLogit ? kHardMask
                                                : m + (bv ? bv[index(*bs, {0, h, i, j})] : 0.0f);
        }
      }
  return wb;
}

// The reader of `v` that `pred` accepts, so repeated rewrites share one node; null if none.
ir::Node* FindReader(const ir::Value* v, const std::function<bool(const ir::Node*)>& pred) {
  for (const ir::Use& u : v->uses()) {
    if (u.node && pred(u.node)) return u.node;
  }
  return nullptr;
}

// Tile's repeats [B/nW, 1, 1, 1] at run time: B/nW read from a graph input that has that dim
// (shared by every block: Concat(Gather(Shape(input), [axis]), [1, 1, 1])), else computed as
// Shape(x)[0] / nW from the attention's input.
ir::Value* WindowRepeats(Rewriter& rw, const ir::Graph& g, const ir::Dim& repeats, ir::Value* x,
                         int64_t nw) {
  ir::Value* source = x;
  int64_t axis = 0, divisor = nw;
  for (ir::Value* in : g.inputs()) {
    if (ConstantValue(in)) continue;
    auto s = SymbolicShapeOf(in);
    if (!s) continue;
    auto it = std::find(s->begin(), s->end(), repeats);
    if (it == s->end()) continue;
    source = in;
    axis = it - s->begin();
    divisor = 1;
    break;
  }
  auto is_ints = [](const ir::Value* v, const std::vector<int64_t>& want) {
    auto c = ConstantInts(v);
    return c && *c == want && ConstantValue(v)->rank() == 1;
  };
  const int64_t rank = static_cast<int64_t>(SymbolicShapeOf(source)->size());
  ir::Node* shape = FindReader(source, [](const ir::Node* n) {
    return n->Is("Shape") && !n->attr("start") && !n->attr("end");
  });
  if (!shape) {
    shape = rw.CreateNode("Shape", {source}, 1, source->name() + "_shape");
    shape->output(0)->type() = ir::ValueType::FromShape(DataType::kInt64, {rank});
  }
  ir::Node* dim = FindReader(shape->output(0), [&](const ir::Node* n) {
    return n->Is("Gather") && n->GetInt("axis", 0) == 0 && is_ints(n->input(1), {axis});
  });
  if (!dim) {
    dim = rw.CreateNode(
        "Gather",
        {shape->output(0), rw.CreateInitializer(source->name() + "_axis", Tensor::Int64s({axis}))},
        1, source->name() + "_dim");
    dim->output(0)->type() = ir::ValueType::FromShape(DataType::kInt64, {1});
  }
  if (divisor != 1) {
    dim = rw.CreateNode(
        "Div",
        {dim->output(0), rw.CreateInitializer(x->name() + "_windows", Tensor::Int64s({divisor}))},
        1, x->name() + "_batches");
    dim->output(0)->type() = ir::ValueType::FromShape(DataType::kInt64, {1});
  }
  ir::Node* concat = FindReader(dim->output(0), [&](const ir::Node* n) {
    return n->Is("Concat") && n->GetInt("axis", 0) == 0 && n->inputs().size() == 2 &&
           n->input(0) == dim->output(0) && is_ints(n->input(1), {1, 1, 1});
  });
  if (!concat) {
    concat = rw.CreateNode(
        "Concat",
        {dim->output(0), rw.CreateInitializer("window_repeats_ones", Tensor::Int64s({1, 1, 1}))}, 1,
        source->name() + "_window_repeats");
    concat->SetInt("axis", 0);
    concat->output(0)->type() = ir::ValueType::FromShape(DataType::kInt64, {4});
  }
  return concat->output(0);
}

// attention_bias of the shifted-window attention: the combined constant, tiled over the batch
// when the mask differs per window.
ir::Value* CreateWindowedBias(Rewriter& rw, const ir::Graph& g, const WindowedBias& wb,
                              ir::Value* x, const ir::Dim& B, const std::string& base) {
  ir::Value* combined = rw.CreateInitializer(base + "_window_bias", wb.combined);
  const Shape& s = wb.combined.shape();
  // One mask for every window broadcasts; a batch of one holds exactly the nW windows.
  if (s[0] == 1 || wb.repeats == DimOf(1)) return combined;
  ir::Value* repeats = wb.repeats.known()
                           ? rw.CreateInitializer(base + "_window_repeats",
                                                  Tensor::Int64s({wb.repeats.value, 1, 1, 1}))
                           : WindowRepeats(rw, g, wb.repeats, x, s[0]);
  ir::Node* tile = rw.CreateNode("Tile", {combined, repeats}, 1, base + "_window_bias_tiled");
  tile->output(0)->type() = TypeOf(DataType::kFloat, {B, DimOf(s[1]), DimOf(s[2]), DimOf(s[3])});
  return tile->output(0);
}

// Window attention of Swin (torchvision) and timm-style ViT blocks: one packed projection of
// (B, N, C) tokens reshaped to (B, N, 3, H, d), transposed to (3, B, H, N, d) and split by
// Gather(0/1/2); softmax(scale * Q K^T [+ bias]) [Dropout] V merged back to (B, N, C). A
// constant (1 or B, 1 or H, N, N) bias (Swin's relative position bias) becomes Attention's
// attention_bias; with a shifted-window mask, that bias plus the mask, tiled over the batch.
const Pattern& PackedHeadsAttention() {
  static const Pattern p = [] {
    auto gather = [](const std::string& which) {
      return Op("Gather", {Any("qkv_heads"), Const(which + "_index")}, which + "_gather");
    };
    // A scale that is not constant is matched only to say why it is not fused.
    Pattern q = OneOf({Op("Mul", {gather("q"), Const("scale")}),
                       Op("Mul", {gather("q"), Any("computed_scale")}), gather("q")});
    // K^T as a Transpose, or folded into FusedMatMul's transB (fuse_matmul_scale ran first).
    Pattern scores =
        OneOf({Op("MatMul", {q, Transposed(gather("k"), {0, 1, 3, 2})}, "qk"),
               Op("FusedMatMul", {q, gather("k")}, "qk_fused").InDomain(kMs)});
    Pattern scaled = OneOf({Op("Mul", {scores, Const("post_scale")}), scores});
    // Shifted windows add a per-window mask through a (B/nW, nW, H, N, N) view of the scores.
    Pattern windowed =
        Op("Reshape",
           {Op("Add",
               {Op("Reshape",
                   {OneOf({Op("Add", {scaled, Any("bias")}), scaled}), Any("window_view_shape")},
                   "window_view"),
                Any("window_mask")}),
            Any("window_merge")},
           "window_reshape");
    Pattern biased = OneOf({Op("Add", {scaled, Any("bias")}, "bias_add"), windowed, scaled});
    Pattern probs = Op("Softmax", {biased}, "softmax");
    Pattern dropped =
        OneOf({Op("Dropout", {probs, Const(), Const()}, "dropout"),
               Op("Dropout", {probs, Const()}, "dropout"), Op("Dropout", {probs}, "dropout"),
               probs});
    Pattern context = Op("MatMul", {dropped, gather("v")});
    return Op("Reshape", {Transposed(context, {0, 2, 1, 3}), Any("merge_shape")});
  }();
  return p;
}

RewriteResult PackedHeadsSelfAttention(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  // No reason when the root is not an attention output at all: every Reshape is tried.
  auto m = pattern::MatchValue(PackedHeadsAttention(), root->output(0));
  if (!m) return false;
  if (ctx.opset() < 13) return MatchFailure("opset below 13 (Softmax over flattened dims)");
  static const Pattern heads_pattern = Transposed(
      Op("Reshape", {Any("qkv"), Any("shape")}, "qkv_reshape"), {2, 0, 3, 1, 4}, "qkv_transpose");
  auto heads = pattern::MatchValue(heads_pattern, m->value("qkv_heads"));
  if (!heads) return MatchFailure("Q/K/V are not gathered from Transpose(Reshape(qkv), [2,0,3,1,4])");
  std::string why;
  auto proj = MatchProjection(heads->value("qkv"), 0, kAllColumns, &why);
  if (!proj) return MatchFailure("qkv: " + why);
  ir::Value* x = proj->x;
  auto xs = SymbolicShapeOf(x);
  if (!xs || xs->size() != 3 || x->elem_type() != DataType::kFloat) {
    return MatchFailure("input is not a float rank-3 (B, N, C) tensor");
  }
  const ir::Dim B = (*xs)[0], N = (*xs)[1];
  const int64_t C = KnownDim(xs, 2).value_or(0);
  if (C <= 0) return MatchFailure("input channel dim (C of (B, N, C)) is not known statically");
  if (proj->d_in != C || proj->width != 3 * C) {
    return MatchFailure("packed projection is not (C, 3C)");
  }
  auto hs = SymbolicShapeOf(heads->node("qkv_reshape")->output(0));
  if (!hs || hs->size() != 5 || (*hs)[0] != B || (*hs)[1] != N || KnownDim(hs, 2) != 3 ||
      !KnownDim(hs, 3) || !KnownDim(hs, 4) || *KnownDim(hs, 3) * *KnownDim(hs, 4) != C) {
    return MatchFailure("qkv is not reshaped to (B, N, 3, H, d)");
  }
  const int64_t H = *KnownDim(hs, 3);
  const char* parts[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    const ir::Node* g = m->node(std::string(parts[i]) + "_gather");
    const Tensor* index = ConstantValue(g->input(1));
    if (g->GetInt("axis", 0) != 0 || !index || index->size() != 1 || index->rank() != 0 ||
        index->GetDouble(0) != i) {
      return MatchFailure(std::string(parts[i]) + " is not Gather(heads, " + std::to_string(i) +
                          ") on axis 0");
    }
  }
  if (m->value("computed_scale")) {
    return MatchFailure("query scale is computed at run time (its shape arithmetic did not fold)");
  }
  double scale = 1.0;
  for (const char* name : {"scale", "post_scale"}) {
    if (m->value(name)) scale *= m->scalar(name);
  }
  if (const ir::Node* f = m->node("qk_fused")) {
    if (f->GetInt("transA", 0) != 0 || f->GetInt("transB", 0) != 1 ||
        f->GetInt("transBatchA", 0) != 0 || f->GetInt("transBatchB", 0) != 0) {
      return MatchFailure("Q K FusedMatMul is not Q @ K^T");
    }
    scale *= f->GetFloat("alpha", 1.0f);
  }
  if (!std::isfinite(scale) || scale <= 0) return MatchFailure("scale is not finite and positive");
  const int64_t axis = m->node("softmax")->GetInt("axis", -1);
  if (axis != -1 && axis != 3) return MatchFailure("Softmax is not over keys");
  ir::Value* bias = m->value("bias");
  std::optional<WindowedBias> window;
  if (m->node("window_reshape")) {
    std::string why;
    window = MatchWindowedBias(*m, bias, B, H, N, &why);
    if (!window) return MatchFailure(why);
  }
  if (const ir::Node* d = m->node("dropout")) {
    // An identity: not training, or a ratio of 0 (torchvision exports training=True, p=0).
    const bool ratio0 = d->inputs().size() > 1 && IsScalarConstantEqual(d->input(1), 0.0);
    if (d->inputs().size() > 2 && !IsScalarConstantEqual(d->input(2), 0.0) && !ratio0) {
      return MatchFailure("Dropout is in training mode with a nonzero ratio");
    }
    if (d->outputs().size() > 1 && d->output(1) && !d->output(1)->uses().empty()) {
      return MatchFailure("Dropout's mask is read");
    }
  }
  if (bias && !window) {
    auto bs = SymbolicShapeOf(bias);
    const ir::Dim one = DimOf(1);
    if (!ConstantValue(bias) || bias->elem_type() != DataType::kFloat || !bs || bs->size() != 4 ||
        ((*bs)[0] != one && (*bs)[0] != B) || ((*bs)[1] != one && (*bs)[1] != DimOf(H)) ||
        (*bs)[2] != N || (*bs)[3] != N) {
      return MatchFailure("attention bias is not a float constant (1 or B, 1 or H, N, N)");
    }
  }
  if (SymbolicShapeOf(root->output(0)) != DimShape{B, N, DimOf(C)}) {
    return MatchFailure("merged output is not (B, N, C)");
  }
  pattern::Match all = *m;
  all.matched.insert(all.matched.end(), heads->matched.begin(), heads->matched.end());
  all.matched.insert(all.matched.end(), proj->nodes.begin(), proj->nodes.end());
  if (!pattern::IsSelfContained(all, root)) {
    return MatchFailure("an intermediate value of the attention has readers outside it");
  }
  *rw.consumed() = pattern::NodeNames(all.matched);
  const std::string base = root->name();
  std::vector<ir::Value*> inputs{
      x, rw.CreateInitializer(base + "_qkv", FloatMatrix(proj->w, {C, 3 * C})),
      rw.CreateInitializer(base + "_qkv_bias", FloatMatrix(proj->b, {3 * C}))};
  if (window) bias = CreateWindowedBias(rw, *root->graph(), *window, x, B, base);
  if (bias) {
    inputs.resize(5, nullptr);
    inputs.push_back(bias);
  }
  ir::Node* attention = pattern::ReplaceWithFused(rw, root, "Attention", kMs, inputs);
  if (!attention) return MatchFailure("replacing the output failed (graph output or type mismatch)");
  attention->SetInt("num_heads", H);
  attention->SetFloat("scale", static_cast<float>(scale));
  return true;
}

}  // namespace

FuseAttention::FuseAttention()
    : RulePass({{"torch_multihead_attention", "Transpose", "", TorchMultiheadAttention,
                 {"com.microsoft.Attention"}},
                {"bert_attention", "Reshape", "", BertSelfAttention, {"com.microsoft.Attention"}},
                {"packed_heads_attention", "Reshape", "", PackedHeadsSelfAttention,
                 {"com.microsoft.Attention"}},
                {"seq_first_self_attention", "Reshape", "",
                 [](PassContext& ctx, Rewriter& rw, ir::Node* root) {
                   return SeqFirstAttentionRule(ctx, rw, root, false);
                 },
                 {"com.microsoft.Attention"}},
                {"seq_first_cross_attention", "Reshape", "",
                 [](PassContext& ctx, Rewriter& rw, ir::Node* root) {
                   return SeqFirstAttentionRule(ctx, rw, root, true);
                 },
                 {"com.microsoft.MultiHeadAttention"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseAttention, "fuse_attention", kExtended, 205,
                       "self-attention of torch.nn.MultiheadAttention (batch- or sequence-first, "
                       "causal or additive mask) and BERT-style exports (Q/K/V projections, "
                       "additive or key padding mask) and Swin window attention (relative position "
                       "bias, shifted-window mask) into com.microsoft.Attention; "
                       "torch cross-attention into com.microsoft.MultiHeadAttention",
                       "com.microsoft.Attention", "com.microsoft.MultiHeadAttention");

}  // namespace graphopt
