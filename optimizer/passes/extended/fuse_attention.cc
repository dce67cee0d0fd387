#include "optimizer/passes/extended/fuse_attention.h"

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

std::optional<PaddingMask> MatchPaddingMask(ir::Value* mask_bias, ir::Dim B, int64_t H, ir::Dim S) {
  static const Pattern p =
      Op("Where",
         {Op("Reshape",
             {Op("Expand", {Op("Reshape", {Any("pad"), Any("r1_shape")}, "r1"), Any("e_shape")},
                 "expand"),
              Any("r2_shape")},
             "r2"),
          Const("filter"), Any("zeros")});
  auto m = pattern::MatchValue(p, mask_bias);
  if (!m) return std::nullopt;
  const ir::Dim one = DimOf(1), BH = DimProduct({B, DimOf(H)});
  if (SymbolicShapeOf(m->node("r1")->output(0)) != DimShape{B, one, one, S} ||
      SymbolicShapeOf(m->node("expand")->output(0)) != DimShape{B, DimOf(H), one, S} ||
      SymbolicShapeOf(m->node("r2")->output(0)) != DimShape{BH, one, S} ||
      SymbolicShapeOf(mask_bias) != DimShape{BH, one, S}) {
    return std::nullopt;
  }
  const Tensor* filter = ConstantValue(m->value("filter"));
  if (!filter || filter->size() != 1 || !IsZeros(m->value("zeros"))) {
    return std::nullopt;
  }
  PaddingMask pm;
  pm.filter = filter->GetDouble(0);
  if (!(pm.filter < -1e3)) return std::nullopt;  // a real mask, not a soft bias
  pm.nodes = m->matched;
  ir::Value* pad = m->value("pad");
  if (pad->elem_type() != DataType::kBool || SymbolicShapeOf(pad) != DimShape{B, S}) {
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

RewriteResult TorchMultiheadAttention(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  auto m = pattern::MatchValue(TorchAttention(), root->output(0));
  if (!m) return false;
  auto proj = pattern::MatchValue(PackedProjection(), m->value("qkv"));
  if (!proj) return false;
  ir::Value* x = proj->value("x");
  auto xs = SymbolicShapeOf(x);
  if (!xs || xs->size() != 3 || !KnownDim(xs, 2) || x->elem_type() != DataType::kFloat) {
    return false;
  }
  const ir::Dim B = (*xs)[0], S = (*xs)[1];
  const int64_t D = *KnownDim(xs, 2);
  const Tensor* w = ConstantValue(proj->value("w"));
  if (!w || w->dtype() != DataType::kFloat || w->shape() != Shape{D, 3 * D}) return false;
  const Tensor* qkv_bias = ConstantValue(proj->value("qkv_bias"));
  if (proj->value("qkv_bias") &&
      (!qkv_bias || qkv_bias->dtype() != DataType::kFloat || qkv_bias->shape() != Shape{3 * D})) {
    return false;
  }
  // Heads: each third reshaped to (S, B*H, head).
  auto head_shape = SymbolicShapeOf(m->node("q_reshape")->output(0));
  if (!head_shape || head_shape->size() != 3 || (*head_shape)[0] != S) return false;
  const int64_t head = KnownDim(head_shape, 2).value_or(0);
  if (head <= 0 || D % head) return false;
  const int64_t H = D / head;
  if ((*head_shape)[1] != DimProduct({B, DimOf(H)})) return false;
  for (const char* which : {"k", "v"}) {
    if (SymbolicShapeOf(m->node(std::string(which) + "_reshape")->output(0)) != head_shape)
      return false;
  }
  int64_t expected_start = 0;
  for (const char* which : {"q", "k", "v"}) {
    auto range = SliceRange(m->node(std::string(which) + "_slice"), 3);
    if (!range || range->first != expected_start || range->second != expected_start + D) {
      return false;
    }
    expected_start += D;
  }
  const double scale = m->value("scale") ? m->scalar("scale") : 1.0 / m->scalar("inv_scale");
  if (!std::isfinite(scale) || scale <= 0) return false;
  const int64_t softmax_axis = m->node("softmax")->GetInt("axis", -1);
  if (softmax_axis != -1 && softmax_axis != 2) return false;
  if (ctx.opset() < 13) return false;  // Softmax before 13 normalizes flattened trailing dims
  // Merged heads (S*B, D) and the projection back.
  if (SymbolicShapeOf(m->node("merge")->output(0)) != DimShape{DimProduct({S, B}), DimOf(D)}) {
    return false;
  }
  if (SymbolicShapeOf(m->node("unmerge")->output(0)) != DimShape{S, B, DimOf(D)}) return false;
  const ir::Node* gemm = m->node("gemm");
  if (gemm->GetFloat("alpha", 1.0f) != 1.0f || gemm->GetFloat("beta", 1.0f) != 1.0f ||
      gemm->GetInt("transA", 0) != 0) {
    return false;
  }
  const Tensor* wo = ConstantValue(m->value("wo"));
  const Tensor* bo = ConstantValue(m->value("bo"));
  if (!wo || wo->dtype() != DataType::kFloat || wo->shape() != Shape{D, D}) return false;
  if (!bo || bo->dtype() != DataType::kFloat || bo->size() != D ||
      (bo->rank() == 2 && bo->shape()[0] != 1) || bo->rank() > 2) {
    return false;
  }
  std::optional<PaddingMask> mask;
  if (ir::Value* mb = m->value("mask_bias")) {
    mask = MatchPaddingMask(mb, B, H, S);
    if (!mask) return false;
  }
  // Everything but the mask (shared by all layers) belongs to this attention alone.
  pattern::Match all = *m;
  for (ir::Node* n : proj->matched) all.matched.push_back(n);
  if (!pattern::IsSelfContained(all, root)) return false;

  std::vector<ir::Node*> nodes = all.matched;
  if (mask) nodes.insert(nodes.end(), mask->nodes.begin(), mask->nodes.end());
  *rw.consumed() = pattern::NodeNames(nodes);
  ir::Value* bias = proj->value("qkv_bias");
  if (!bias) {
    bias = rw.CreateInitializer(proj->value("w")->name() + "_bias",
                                Tensor(DataType::kFloat, Shape{3 * D}));
  }
  std::vector<ir::Value*> inputs{x, proj->value("w"), bias};
  if (mask) inputs.push_back(MaskIndex(rw, *mask));
  ir::Node* attention = rw.CreateNode("Attention", inputs, 1, root->name() + "_attention", kMs);
  attention->output(0)->type() = TypeOf(DataType::kFloat, {B, S, DimOf(D)});
  attention->SetInt("num_heads", H);
  attention->SetFloat("scale", static_cast<float>(scale));
  if (mask) {
    // -inf keeps fully padded rows NaN in the original; the most negative float gives the same
    // zero weights for every other row without producing infinities inside the runtime.
    attention->SetFloat(
        "mask_filter_value",
        static_cast<float>(std::max(mask->filter, double(std::numeric_limits<float>::lowest()))));
  }
  // Output projection: Gemm's B (transposed when transB) as a (D, D) MatMul weight, then bias.
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
  if (bo->rank() != 1) {
    bo_value = rw.CreateInitializer(bo_value->name() + "_vector", bo->Reshaped({D}));
  }
  ir::Node* out_mm =
      rw.CreateNode("MatMul", {attention->output(0), wo_value}, 1, root->name() + "_out_proj");
  out_mm->output(0)->type() = TypeOf(DataType::kFloat, {B, S, DimOf(D)});
  ir::Node* out_add =
      rw.CreateNode("Add", {out_mm->output(0), bo_value}, 1, root->name() + "_out_bias");
  out_add->output(0)->type() = root->output(0)->type();
  // On failure the driver rolls back the nodes made above.
  return rw.ReplaceNode(root, {out_add->output(0)});
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
  if (ctx.opset() < 13) return false;
  auto m = pattern::MatchValue(BertAttention(), root->output(0));
  if (!m) return false;
  ir::Value* x = m->value("x");
  auto xs = SymbolicShapeOf(x);
  if (!xs || xs->size() != 3 || !KnownDim(xs, 2) || x->elem_type() != DataType::kFloat) {
    return false;
  }
  const ir::Dim B = (*xs)[0], S = (*xs)[1];
  const int64_t D = *KnownDim(xs, 2);
  auto head_shape = SymbolicShapeOf(m->node("q_reshape")->output(0));
  if (!head_shape || head_shape->size() != 4 || (*head_shape)[0] != B || (*head_shape)[1] != S) {
    return false;
  }
  const int64_t H = KnownDim(head_shape, 2).value_or(0), head = KnownDim(head_shape, 3).value_or(0);
  if (H <= 0 || H * head != D) return false;
  for (const char* which : {"k", "v"}) {
    if (SymbolicShapeOf(m->node(std::string(which) + "_reshape")->output(0)) != head_shape)
      return false;
  }
  if (SymbolicShapeOf(root->output(0)) != DimShape{B, S, DimOf(D)}) return false;
  const int64_t axis = m->node("softmax")->GetInt("axis", -1);
  if (axis != -1 && axis != 3) return false;
  const Tensor* w[3];
  const Tensor* b[3];
  const char* parts[3] = {"q", "k", "v"};
  for (int i = 0; i < 3; ++i) {
    w[i] = FloatConstant(*m, std::string("w") + parts[i], {D, D});
    b[i] = FloatConstant(*m, std::string("b") + parts[i], {D});
    if (!w[i] || (m->value(std::string("b") + parts[i]) && !b[i])) return false;
  }
  double scale = 1.0;
  for (const char* name : {"q_scale", "scale"}) {
    if (m->value(name)) scale *= m->scalar(name);
  }
  if (m->value("inv_scale")) scale /= m->scalar("inv_scale");
  if (!std::isfinite(scale) || scale <= 0) return false;
  // The additive mask, broadcast over heads and queries: (B or 1, H or 1, S or 1, S).
  ir::Value* mask_bias = m->value("mask_bias");
  std::optional<DimShape> mask_shape;
  if (mask_bias) {
    mask_shape = SymbolicShapeOf(mask_bias);
    if (!mask_shape || mask_shape->size() != 4 || mask_bias->elem_type() != DataType::kFloat) {
      return false;
    }
    const DimShape& ms = *mask_shape;
    const ir::Dim one = DimOf(1);
    if ((ms[0] != one && ms[0] != B) || (ms[1] != one && ms[1] != DimOf(H)) ||
        (ms[2] != one && ms[2] != S) || ms[3] != S) {
      return false;
    }
  }
  if (!pattern::IsSelfContained(*m, root)) return false;

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
  if (!attention) return false;
  attention->SetInt("num_heads", H);
  attention->SetFloat("scale", static_cast<float>(scale));
  return true;
}

}  // namespace

FuseAttention::FuseAttention()
    : RulePass({{"torch_multihead_attention", "Transpose", "", TorchMultiheadAttention,
                 {"com.microsoft.Attention"}},
                {"bert_attention", "Reshape", "", BertSelfAttention, {"com.microsoft.Attention"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseAttention, "fuse_attention", kExtended, 205,
                       "self-attention of torch.nn.MultiheadAttention and BERT-style exports "
                       "(Q/K/V projections, additive or key padding mask) into "
                       "com.microsoft.Attention",
                       "com.microsoft.Attention");

}  // namespace graphopt
