#include "optimizer/passes/extended/fuse_qdq_node_units.h"

#include <cmath>
#include <vector>

#include "optimizer/pass/pattern.h"
#include "optimizer/pass/qdq_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// One quantized end of a node unit: the DQ feeding an input, or the Q reading the output.
struct QEnd {
  ir::Node* node = nullptr;
  QdqParams p;
  ir::Value* data() const { return node->input(0); }  // the integers (DQ) / the float (Q)
  ir::Value* scale() const { return node->input(1); }
  ir::Value* zero() const { return node->input(2); }
};

std::optional<QEnd> InputEnd(const ir::Value* v) {
  ir::Node* dq = DequantizeProducer(v);
  if (!dq) return std::nullopt;
  return QEnd{dq, *ReadQdqParams(dq)};
}

std::optional<QEnd> OutputEnd(const ir::Value* v) {
  ir::Node* q = SingleQuantizeReader(v);
  if (!q || q->HasAttr("output_dtype")) return std::nullopt;
  return QEnd{q, *ReadQdqParams(q)};
}

bool Is8Bit(DataType t) { return t == DataType::kUint8 || t == DataType::kInt8; }

// An activation end ONNX Runtime's quantized kernels take: per tensor, 8-bit.
bool IsActivationEnd(const std::optional<QEnd>& e) {
  return e && IsPerTensor(e->p) && Is8Bit(e->p.quant_type);
}

// A weight end: 8-bit, per tensor or one scale per index of `axis` (of a rank-`rank` weight).
bool IsWeightEnd(const std::optional<QEnd>& e, int64_t axis, int64_t rank) {
  if (!e || !Is8Bit(e->p.quant_type)) return false;
  if (e->p.scale->size() == 1) return true;
  const int64_t a = e->p.axis < 0 ? e->p.axis + rank : e->p.axis;
  return a == axis;
}

// The signedness rule of ONNX Runtime's selectors: int8 activations need int8 weights.
bool TypesPair(DataType act, DataType weight) {
  return act != DataType::kInt8 || weight == DataType::kInt8;
}

// An int32 bias whose scale is the product of the activation's and the weight's (what the
// quantized kernels add it in) and whose zero point is 0.
bool IsBiasEnd(const std::optional<QEnd>& b, const QEnd& x, const QEnd& w) {
  if (!b || b->p.quant_type != DataType::kInt32) return false;
  const float xs = x.p.scale->data<float>()[0];
  for (int64_t i = 0; i < b->p.scale->size(); ++i) {
    const float ws = w.p.scale->data<float>()[w.p.scale->size() == 1 ? 0 : i];
    const float bs = b->p.scale->data<float>()[i];
    if (b->p.zero->GetDouble(i) != 0 || std::abs(bs - xs * ws) > 1e-6f * std::abs(xs * ws)) {
      return false;
    }
  }
  return b->p.scale->size() == 1 || b->p.scale->size() == w.p.scale->size();
}

// Creates `op` on `inputs` in place of the unit whose output `out` (the Q's, or the root's when
// the unit ends in float) it takes over; the root, the Q and the DQs only they read go.
RewriteResult Replace(Rewriter& rw, ir::Node* root, const std::optional<QEnd>& q,
                      const std::string& op, const std::string& domain,
                      const std::vector<ir::Value*>& inputs, bool copy_attributes,
                      std::vector<ir::Node*> matched) {
  ir::Node* fused = rw.CreateNode(op, inputs, 1, root->name() + "_quant", domain);
  if (copy_attributes) ir::CopyPlainAttributes(*root, fused);
  // The value it replaces has its type (later fusions ask for float32 inputs).
  fused->output(0)->type() = (q ? q->node : root)->output(0)->type();
  matched.push_back(root);
  if (q) matched.push_back(q->node);
  *rw.consumed() = pattern::NodeNames(matched);
  return rw.ReplaceNode(q ? q->node : root, {fused->output(0)});
}

// DQ(x), DQ(w), [DQ(b) int32] -> Conv -> Q  =>  QLinearConv.
RewriteResult Conv(PassContext&, Rewriter& rw, ir::Node* conv) {
  auto x = InputEnd(conv->input(0));
  auto w = InputEnd(conv->input(1));
  auto y = OutputEnd(conv->output(0));
  if (!IsActivationEnd(x) || !IsActivationEnd(y) || x->p.quant_type != y->p.quant_type) {
    return MatchFailure("input or output not a per-tensor 8-bit QDQ of one type");
  }
  const Tensor* wq = ConstantValue(w ? w->data() : nullptr);
  if (!wq || !IsWeightEnd(w, 0, wq->rank()) || !TypesPair(x->p.quant_type, w->p.quant_type)) {
    return MatchFailure("weight not a constant 8-bit DQ, per tensor or per output channel");
  }
  std::vector<ir::Value*> in = {x->data(),  x->scale(), x->zero(),  w->data(),
                                w->scale(), w->zero(),  y->scale(), y->zero()};
  std::vector<ir::Node*> matched = {x->node, w->node};
  if (conv->input(2)) {
    auto b = InputEnd(conv->input(2));
    if (!IsBiasEnd(b, *x, *w)) return MatchFailure("bias not an int32 DQ at scale x*w");
    in.push_back(b->data());
    matched.push_back(b->node);
  }
  return Replace(rw, conv, y, "QLinearConv", "", in, true, matched);
}

// DQ(a), DQ(b) -> MatMul [-> Q]  =>  QLinearMatMul, or MatMulIntegerToFloat without the Q.
RewriteResult MatMul(PassContext& ctx, Rewriter& rw, ir::Node* mm) {
  auto a = InputEnd(mm->input(0));
  auto b = InputEnd(mm->input(1));
  const Tensor* bq = ConstantValue(b ? b->data() : nullptr);
  if (!IsActivationEnd(a) || !bq || bq->rank() != 2 || !IsWeightEnd(b, 1, 2) ||
      !TypesPair(a->p.quant_type, b->p.quant_type)) {
    return MatchFailure("not DQ(activation) x DQ(constant 2-D weight, per tensor or column)");
  }
  std::vector<ir::Node*> matched = {a->node, b->node};
  auto y = OutputEnd(mm->output(0));
  if (IsActivationEnd(y) && y->p.quant_type == a->p.quant_type) {
    return Replace(
        rw, mm, y, "QLinearMatMul", "",
        {a->data(), a->scale(), a->zero(), b->data(), b->scale(), b->zero(), y->scale(), y->zero()},
        false, matched);
  }
  if (!ctx.MayEmit("com.microsoft.MatMulIntegerToFloat")) {
    return MatchFailure("no MatMulIntegerToFloat");
  }
  std::vector<ir::Value*> in = {a->data(), b->data(), a->scale(), b->scale(), a->zero(), b->zero()};
  // A following Add of a constant float [N] is the operator's bias input (added after scaling,
  // as the Add was).
  ir::Node* add = HasSingleUse(mm->output(0)) ? mm->output(0)->uses()[0].node : nullptr;
  if (add && add->Is("Add") && add->input(0) != add->input(1)) {
    ir::Value* bias = add->input(add->input(0) == mm->output(0) ? 1 : 0);
    const Tensor* c = ConstantValue(bias);
    if (c && c->dtype() == DataType::kFloat && c->rank() == 1 && c->size() == bq->shape()[1]) {
      in.push_back(bias);
      matched.push_back(mm);
      return Replace(rw, add, std::nullopt, "MatMulIntegerToFloat", kMs, in, false, matched);
    }
  }
  return Replace(rw, mm, std::nullopt, "MatMulIntegerToFloat", kMs, in, false, matched);
}

// DQ(A), DQ(B), [DQ(C) int32] -> Gemm [-> Q]  =>  QGemm (float output without the Q).
RewriteResult Gemm(PassContext&, Rewriter& rw, ir::Node* gemm) {
  auto a = InputEnd(gemm->input(0));
  auto b = InputEnd(gemm->input(1));
  const Tensor* bq = ConstantValue(b ? b->data() : nullptr);
  const int64_t n_axis = gemm->GetInt("transB", 0) ? 0 : 1;
  if (!IsActivationEnd(a) || !bq || !IsWeightEnd(b, n_axis, 2) ||
      !TypesPair(a->p.quant_type, b->p.quant_type)) {
    return MatchFailure("not DQ(activation) x DQ(constant weight)");
  }
  std::vector<ir::Value*> in = {a->data(), a->scale(), a->zero(), b->data(), b->scale(), b->zero()};
  std::vector<ir::Node*> matched = {a->node, b->node};
  if (gemm->input(2)) {
    auto c = InputEnd(gemm->input(2));
    if (gemm->GetFloat("beta", 1.0f) != 1.0f || !IsBiasEnd(c, *a, *b)) {
      return MatchFailure("bias not an int32 DQ at scale A*B with beta 1");
    }
    in.push_back(c->data());
    matched.push_back(c->node);
  }
  auto y = OutputEnd(gemm->output(0));
  const bool quantized_out = IsActivationEnd(y) && y->p.quant_type == a->p.quant_type;
  if (quantized_out) {
    in.resize(7, nullptr);
    in.push_back(y->scale());
    in.push_back(y->zero());
  }
  ir::Node* fused = rw.CreateNode("QGemm", in, 1, gemm->name() + "_quant", kMs);
  fused->output(0)->type() = (quantized_out ? y->node : gemm)->output(0)->type();
  for (const char* attr : {"transA", "transB"}) fused->SetInt(attr, gemm->GetInt(attr, 0));
  fused->SetFloat("alpha", gemm->GetFloat("alpha", 1.0f));
  matched.push_back(gemm);
  if (quantized_out) matched.push_back(y->node);
  *rw.consumed() = pattern::NodeNames(matched);
  return rw.ReplaceNode(quantized_out ? y->node : gemm, {fused->output(0)});
}

// DQ(a), DQ(b) -> Add/Mul -> Q  =>  com.microsoft.QLinearAdd/QLinearMul.
RewriteResult Binary(PassContext&, Rewriter& rw, ir::Node* n) {
  auto a = InputEnd(n->input(0));
  auto b = InputEnd(n->input(1));
  auto y = OutputEnd(n->output(0));
  if (!IsActivationEnd(a) || !IsActivationEnd(b) || !IsActivationEnd(y) ||
      a->p.quant_type != b->p.quant_type || a->p.quant_type != y->p.quant_type) {
    return MatchFailure("inputs and output not per-tensor 8-bit QDQ of one type");
  }
  return Replace(
      rw, n, y, "QLinear" + n->op_type(), kMs,
      {a->data(), a->scale(), a->zero(), b->data(), b->scale(), b->zero(), y->scale(), y->zero()},
      false, {a->node, b->node});
}

// DQ(x) -> GlobalAveragePool/Sigmoid -> Q  =>  com.microsoft.QLinearGlobalAveragePool/Sigmoid.
RewriteResult Unary(PassContext&, Rewriter& rw, ir::Node* n) {
  auto x = InputEnd(n->input(0));
  auto y = OutputEnd(n->output(0));
  if (!IsActivationEnd(x) || !IsActivationEnd(y) || x->p.quant_type != y->p.quant_type) {
    return MatchFailure("input or output not a per-tensor 8-bit QDQ of one type");
  }
  auto rank = StaticShape(n->input(0));
  if (n->Is("GlobalAveragePool") && (!rank || rank->size() != 4)) {
    return MatchFailure("QLinearGlobalAveragePool wants a known 4-D input");
  }
  return Replace(rw, n, y, "QLinear" + n->op_type(), kMs,
                 {x->data(), x->scale(), x->zero(), y->scale(), y->zero()}, false, {x->node});
}

// DQ(x) -> MaxPool/Reshape/Transpose/... -> Q of the same parameters  =>  the op on x's
// integers. Exact: these ops only select and move elements (MaxPool also compares them, and DQ
// is increasing for a positive scale), so op(DQ(x)) = DQ(op(x)), and Q(DQ(k)) = k
// (fold_qdq_pairs argues why).
RewriteResult DataMovement(PassContext&, Rewriter& rw, ir::Node* n) {
  auto x = InputEnd(n->input(0));
  auto y = OutputEnd(n->output(0));
  if (!IsActivationEnd(x) || !IsActivationEnd(y) || !SameQdqParams(x->p, y->p, 0)) {
    return MatchFailure("DQ and Q not per-tensor 8-bit with equal parameters");
  }
  if (!(x->p.scale->data<float>()[0] > 0)) return MatchFailure("scale not positive");
  for (size_t i = 1; i < n->outputs().size(); ++i) {
    if (n->output(i) && (!n->output(i)->uses().empty() || n->output(i)->is_graph_output())) {
      return MatchFailure("second output in use");
    }
  }
  std::vector<ir::Value*> in(n->inputs().begin(), n->inputs().end());
  in[0] = x->data();
  return Replace(rw, n, y, n->op_type(), "", in, true, {x->node});
}

std::vector<Rule> Rules() {
  std::vector<Rule> rules = {
      {"qlinear_conv", "Conv", "", Conv, {"QLinearConv"}},
      {"quantized_matmul", "MatMul", "", MatMul, {"QLinearMatMul"}},
      {"qgemm", "Gemm", "", Gemm, {"com.microsoft.QGemm"}},
      {"qlinear_binary", "Add", "", Binary, {"com.microsoft.QLinearAdd"}},
      {"qlinear_binary", "Mul", "", Binary, {"com.microsoft.QLinearMul"}},
      {"qlinear_unary", "GlobalAveragePool", "", Unary, {"com.microsoft.QLinearGlobalAveragePool"}},
      {"qlinear_unary", "Sigmoid", "", Unary, {"com.microsoft.QLinearSigmoid"}},
  };
  for (const char* op : {"MaxPool", "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze"}) {
    rules.push_back({"quantized_data_movement", op, "", DataMovement, {op}});
  }
  return rules;
}

}  // namespace

FuseQdqNodeUnits::FuseQdqNodeUnits() : RulePass(Rules()) {}

GRAPHOPT_REGISTER_PASS(FuseQdqNodeUnits, "fuse_qdq_node_units", kExtended, 100,
                       "QDQ node units into QLinearConv, QLinearMatMul/MatMulIntegerToFloat, "
                       "QGemm, QLinearAdd/Mul, QLinearGlobalAveragePool, QLinearSigmoid; "
                       "MaxPool/Reshape/Transpose/Flatten/Squeeze/Unsqueeze on the integers",
                       "QLinearConv", "QLinearMatMul", "com.microsoft.MatMulIntegerToFloat",
                       "com.microsoft.QGemm", "com.microsoft.QLinearAdd",
                       "com.microsoft.QLinearMul", "com.microsoft.QLinearGlobalAveragePool",
                       "com.microsoft.QLinearSigmoid", "MaxPool", "Reshape", "Transpose", "Flatten",
                       "Squeeze", "Unsqueeze");

}  // namespace graphopt
