// --quantize dynamic-int8: MatMul and Gemm nodes with constant float weights get int8 weights
// (symmetric, one scale per output column) and quantize their float activations at run time.
// Not an equivalence rewrite: the pipeline measures its accuracy instead of verifying it.
#pragma once

#include "optimizer/ir/graph.h"
#include "optimizer/pass/pass_stats.h"
#include "optimizer/target.h"

namespace graphopt {

// Rewrites every eligible MatMul/Gemm of the main graph: into com.microsoft
// DynamicQuantizeMatMul when the target runs it, else into standard ONNX
// (DynamicQuantizeLinear, MatMulInteger, Cast, Mul, Add). A bias Add that only the MatMul feeds
// is folded into the quantized node.
ConversionStats QuantizeDynamicInt8(ir::Model& model, const TargetProfile& target);

}  // namespace graphopt
