// Reading QuantizeLinear/DequantizeLinear nodes as quantization parameters, shared by the QDQ
// passes: which scale, zero point, type and axis a node quantizes with, and when two agree.
#pragma once

#include <cstdint>
#include <optional>

#include "optimizer/ir/graph.h"

namespace graphopt {

// The constant parameters of a QuantizeLinear or DequantizeLinear node.
struct QdqParams {
  const Tensor* scale = nullptr;  // float
  const Tensor* zero = nullptr;   // the quantized type; never null
  DataType quant_type = DataType::kUndefined;
  int64_t axis = 1;  // meaningful only when the scale has more than one entry
};

// The parameters of `n` (a Q or DQ of the default domain) when they are constants with an
// explicit zero point, float scales and no blocked layout; nullopt otherwise.
std::optional<QdqParams> ReadQdqParams(const ir::Node* n);

// A per-tensor (one scale, one zero point) Q or DQ.
bool IsPerTensor(const QdqParams& p);

// Same scale values, zero-point values, type and (for per-axis parameters) axis on a value of
// rank `rank` (negative axes normalized).
bool SameQdqParams(const QdqParams& a, const QdqParams& b, int64_t rank);

// The integer range of a quantized type (uint8/int8/uint16/int16); false for others.
bool QuantTypeRange(DataType type, int64_t* lo, int64_t* hi);

// QuantizeLinear of one float `v` with per-tensor `p`, as the kernel computes it (float32
// division, round half to even, add the zero point, saturate).
int64_t QuantizeScalar(float v, const QdqParams& p);

// The DequantizeLinear producing `v`, when it has constant parameters; nullptr otherwise.
ir::Node* DequantizeProducer(const ir::Value* v);

// The only reader of `v` when it is a QuantizeLinear with constant parameters and `v` is no graph
// output; nullptr otherwise.
ir::Node* SingleQuantizeReader(const ir::Value* v);


}  // namespace graphopt
