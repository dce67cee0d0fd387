#include "optimizer/passes/basic/fold_qdq_pairs.h"

#include <cmath>
#include <limits>

#include "optimizer/pass/pattern.h"
#include "optimizer/pass/qdq_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// Scales for which DQ -> Q is the identity: positive, normal, and small enough that q * scale
// stays finite for every 16-bit q.
bool ScalesInvertible(const Tensor& scale) {
  for (int64_t i = 0; i < scale.size(); ++i) {
    const float s = scale.data<float>()[i];
    if (!(s > 0) || !std::isnormal(s) || s > 1e30f) return false;
  }
  return true;
}

// Q(DQ(q)) -> q when both use the same scale, zero point, type and axis. Exact: DQ computes
// fl(k * s) with k = q - zp, |k| < 2^16; Q computes fl(fl(k * s) / s) = k (1 + e), |e| < 2^-22,
// so |k e| < 2^-6 and rounding to the nearest integer gives back k, and k + zp = q is in range.
RewriteResult DequantizeQuantize(PassContext&, Rewriter& rw, ir::Node* q) {
  ir::Node* dq = DequantizeProducer(q->input(0));
  if (!dq) return false;
  auto qp = ReadQdqParams(q);
  auto dp = ReadQdqParams(dq);
  if (!qp || !dp || q->HasAttr("output_dtype")) return MatchFailure("Q parameters not constant");
  int64_t lo = 0, hi = 0;
  if (!QuantTypeRange(dp->quant_type, &lo, &hi)) return MatchFailure("not an 8/16-bit type");
  auto shape = StaticShape(dq->input(0));
  const int64_t rank = shape ? static_cast<int64_t>(shape->size()) : -1;
  if (!IsPerTensor(*dp) && rank < 0) return MatchFailure("per-axis on an unknown rank");
  if (!SameQdqParams(*qp, *dp, rank)) return MatchFailure("different scale or zero point");
  if (!ScalesInvertible(*dp->scale)) return MatchFailure("scale not positive and normal");
  *rw.consumed() = pattern::NodeNames({q, dq});
  return rw.ReplaceNode(q, {dq->input(0)});
}

// Q(Relu(x)) -> Q(x) and Q(Clip(x, lo, hi)) -> Q(x) when Q maps lo to the type's minimum and hi
// to its maximum. Exact: Q is monotonic, so below lo Q(x) <= Q(lo) = qmin, that is qmin; above
// hi likewise qmax; in between the clamp changes nothing.
RewriteResult ClampBeforeQuantize(PassContext& ctx, Rewriter& rw, ir::Node* q) {
  ir::Node* act = q->input(0)->producer();
  if (!act || (!act->Is("Relu") && !act->Is("Clip")) || !HasSingleUse(q->input(0))) return false;
  if (act->input(0)->elem_type() != DataType::kFloat) return false;
  auto p = ReadQdqParams(q);
  int64_t qmin = 0, qmax = 0;
  if (!p || !IsPerTensor(*p) || !QuantTypeRange(p->quant_type, &qmin, &qmax)) {
    return MatchFailure("Q not per-tensor with constant parameters");
  }
  if (!ScalesInvertible(*p->scale)) return MatchFailure("scale not positive and normal");
  float lo = 0, hi = std::numeric_limits<float>::infinity();
  if (act->Is("Clip")) {
    auto bounds = pattern::ClipBounds(act, ctx.opset());
    if (!bounds) return MatchFailure("Clip bounds not constant");
    lo = static_cast<float>(bounds->first);
    hi = static_cast<float>(bounds->second);
  }
  if (QuantizeScalar(lo, *p) != qmin || QuantizeScalar(hi, *p) != qmax) {
    return MatchFailure("clamp narrower than Q's saturation");
  }
  *rw.consumed() = pattern::NodeNames({act, q});
  return rw.Bypass(act);
}

}  // namespace

FoldQdqPairs::FoldQdqPairs()
    : RulePass({{"dequantize_quantize", "QuantizeLinear", "", DequantizeQuantize},
                {"clamp_before_quantize", "QuantizeLinear", "", ClampBeforeQuantize}}) {}

GRAPHOPT_REGISTER_PASS(FoldQdqPairs, "fold_qdq_pairs", kBasic, 60,
                       "DequantizeLinear -> QuantizeLinear of equal parameters (and Q -> DQ -> Q "
                       "chains) folded; Relu/Clip that QuantizeLinear's saturation makes "
                       "redundant dropped");

}  // namespace graphopt
