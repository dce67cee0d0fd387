#include "optimizer/pass/qdq_util.h"

#include <cmath>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

std::optional<QdqParams> ReadQdqParams(const ir::Node* n) {
  if (!n->Is("QuantizeLinear") && !n->Is("DequantizeLinear")) return std::nullopt;
  if (n->GetInt("block_size", 0) != 0 || n->inputs().size() < 3 || !n->input(2)) {
    return std::nullopt;
  }
  QdqParams p;
  p.scale = ConstantValue(n->input(1));
  p.zero = ConstantValue(n->input(2));
  if (!p.scale || !p.zero || p.scale->dtype() != DataType::kFloat) return std::nullopt;
  if (p.scale->size() != p.zero->size() || p.scale->rank() > 1) return std::nullopt;
  p.quant_type = p.zero->dtype();
  p.axis = n->GetInt("axis", 1);
  return p;
}

bool IsPerTensor(const QdqParams& p) { return p.scale->size() == 1 && p.scale->rank() == 0; }

bool SameQdqParams(const QdqParams& a, const QdqParams& b, int64_t rank) {
  if (a.quant_type != b.quant_type || a.scale->shape() != b.scale->shape()) return false;
  if (a.scale->size() > 1) {
    auto norm = [rank](int64_t axis) { return axis < 0 ? axis + rank : axis; };
    if (norm(a.axis) != norm(b.axis)) return false;
  }
  for (int64_t i = 0; i < a.scale->size(); ++i) {
    if (a.scale->data<float>()[i] != b.scale->data<float>()[i]) return false;
    if (a.zero->GetDouble(i) != b.zero->GetDouble(i)) return false;
  }
  return true;
}

bool QuantTypeRange(DataType type, int64_t* lo, int64_t* hi) {
  return type != DataType::kInt32 && QuantizedRange(type, lo, hi);
}

int64_t QuantizeScalar(float v, const QdqParams& p) {
  int64_t lo = 0, hi = 0;
  QuantTypeRange(p.quant_type, &lo, &hi);
  const float scaled = v / p.scale->data<float>()[0];
  const double q = std::nearbyint(static_cast<double>(scaled)) + p.zero->GetDouble(0);
  return q < static_cast<double>(lo)   ? lo
         : q > static_cast<double>(hi) ? hi
                                       : static_cast<int64_t>(q);
}

ir::Node* DequantizeProducer(const ir::Value* v) {
  ir::Node* p = v ? v->producer() : nullptr;
  return p && p->Is("DequantizeLinear") && ReadQdqParams(p) ? p : nullptr;
}

ir::Node* SingleQuantizeReader(const ir::Value* v) {
  if (!HasSingleUse(v)) return nullptr;
  ir::Node* q = v->uses()[0].node;
  return q->Is("QuantizeLinear") && q->input(0) == v && ReadQdqParams(q) ? q : nullptr;
}

}  // namespace graphopt
