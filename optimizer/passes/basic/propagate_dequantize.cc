#include "optimizer/passes/basic/propagate_dequantize.h"

#include <vector>

#include "optimizer/pass/pattern.h"
#include "optimizer/pass/qdq_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// A DQ that only `reader` reads, per tensor with a positive scale and an 8/16-bit type.
ir::Node* MovableDequantize(const ir::Value* v) {
  ir::Node* dq = DequantizeProducer(v);
  if (!dq || !HasSingleUse(v)) return nullptr;
  auto p = ReadQdqParams(dq);
  int64_t lo = 0, hi = 0;
  if (!IsPerTensor(*p) || !QuantTypeRange(p->quant_type, &lo, &hi)) return nullptr;
  return p->scale->data<float>()[0] > 0 ? dq : nullptr;
}

// op(DQ(q), ...) -> DQ(op(q, ...)). Exact: these ops only select, move and (MaxPool) compare
// elements, and DQ is an increasing map applied element by element, so it commutes with them.
// Concat needs every input dequantized with the same parameters.
RewriteResult Propagate(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  for (size_t i = 1; i < n->outputs().size(); ++i) {  // MaxPool's Indices
    if (n->output(i) && (!n->output(i)->uses().empty() || n->output(i)->is_graph_output())) {
      return MatchFailure("second output in use");
    }
  }
  if (n->Is("MaxPool") && ctx.opset() < 12) return MatchFailure("integer MaxPool needs opset 12");
  const size_t data_inputs = n->Is("Concat") ? n->inputs().size() : 1;
  std::vector<ir::Node*> dqs;
  for (size_t i = 0; i < data_inputs; ++i) {
    ir::Node* dq = MovableDequantize(n->input(i));
    if (!dq) return MatchFailure("input not a per-tensor DQ read only here");
    if (!dqs.empty() && !SameQdqParams(*ReadQdqParams(dq), *ReadQdqParams(dqs[0]), 0)) {
      return MatchFailure("Concat inputs of different parameters");
    }
    dqs.push_back(dq);
  }
  std::vector<ir::Value*> in(n->inputs().begin(), n->inputs().end());
  for (size_t i = 0; i < data_inputs; ++i) in[i] = dqs[i]->input(0);
  ir::Node* moved = rw.CreateNode(n->op_type(), in, 1, n->name() + "_int");
  ir::CopyPlainAttributes(*n, moved);
  ir::Node* dq =
      rw.CreateNode("DequantizeLinear", {moved->output(0), dqs[0]->input(1), dqs[0]->input(2)}, 1,
                    n->name() + "_DequantizeLinear");
  dqs.push_back(n);
  *rw.consumed() = pattern::NodeNames(dqs);
  return rw.ReplaceNode(n, {dq->output(0)});
}

}  // namespace

PropagateDequantize::PropagateDequantize()
    : RulePass({{"propagate_dequantize", "Reshape", "", Propagate},
                {"propagate_dequantize", "Transpose", "", Propagate},
                {"propagate_dequantize", "Squeeze", "", Propagate},
                {"propagate_dequantize", "Unsqueeze", "", Propagate},
                {"propagate_dequantize", "Flatten", "", Propagate},
                {"propagate_dequantize", "MaxPool", "", Propagate},
                {"propagate_dequantize", "Concat", "", Propagate}}) {}

GRAPHOPT_REGISTER_PASS(PropagateDequantize, "propagate_dequantize", kBasic, 55,
                       "per-tensor DequantizeLinear moved after Reshape/Transpose/Squeeze/"
                       "Unsqueeze/Flatten/MaxPool/Concat (the op runs on the integers)");

}  // namespace graphopt
