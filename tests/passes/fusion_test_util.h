// Helpers of the fusion golden tests: random constants, BatchNormalization parameters and a
// structural signature to assert that a refused fusion left the graph alone.
#pragma once

#include <cmath>
#include <string>

#include "optimizer/ir/graph.h"
#include "support/test_support.h"

namespace graphopt::testing {

// Random values in [-1, 1] of `type` (computed as float, then cast); the name is made unique.
inline ir::Value* RandomInit(ModelBuilder& b, const std::string& name, const Shape& shape,
                             uint64_t seed, DataType type = DataType::kFloat) {
  Tensor t = RandomFloats(shape, seed);
  return b.graph().NewInitializer(name, type == DataType::kFloat ? t : t.CastTo(type));
}

// Values in [lo, lo + 1]: positive variances, scales away from zero.
inline ir::Value* PositiveInit(ModelBuilder& b, const std::string& name, int64_t n, uint64_t seed,
                               DataType type = DataType::kFloat, float lo = 0.5f) {
  Tensor t = RandomFloats({n}, seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = lo + std::fabs(t.data<float>()[i]);
  Tensor pos = Tensor::FromVector<float>(DataType::kFloat, {n}, v);
  return b.graph().NewInitializer(name, type == DataType::kFloat ? pos : pos.CastTo(type));
}

// BatchNormalization over `x` with `channels` random constant parameters.
inline ir::Value* AddBatchNorm(ModelBuilder& b, ir::Value* x, int64_t channels, uint64_t seed,
                               DataType type = DataType::kFloat, float epsilon = 1e-5f) {
  auto* scale = PositiveInit(b, "bn_scale", channels, seed, type);
  auto* bias = RandomInit(b, "bn_bias", {channels}, seed + 1, type);
  auto* mean = RandomInit(b, "bn_mean", {channels}, seed + 2, type);
  auto* var = PositiveInit(b, "bn_var", channels, seed + 3, type, 0.1f);
  auto* y = b.Op("BatchNormalization", {x, scale, bias, mean, var});
  b.LastNode()->SetFloat("epsilon", epsilon);
  return y;
}

// Every node with its op, inputs, outputs and attributes, plus the initializer names: equal
// signatures mean the rewrite left the graph as it was.
inline std::string GraphSignature(const ir::Model& m) {
  std::string s;
  for (const ir::Node* n : m.graph->nodes()) {
    s += n->op_type() + "(";
    for (const ir::Value* v : n->inputs()) s += (v ? v->name() : "") + ",";
    s += ")->";
    for (const ir::Value* v : n->outputs()) s += (v ? v->name() : "") + ",";
    for (const ir::Attribute& a : n->attributes()) {
      s += " " + a.name + "=" + std::to_string(a.i) + "/" + std::to_string(a.f) + "/" + a.s;
      for (int64_t i : a.ints) s += ":" + std::to_string(i);
    }
    s += "\n";
  }
  for (const ir::Value* v : m.graph->initializers()) s += "init " + v->name() + "\n";
  return s;
}

}  // namespace graphopt::testing
