// Turns QDQ node units (DequantizeLinear inputs -> op -> QuantizeLinear) into the quantized
// operators ONNX Runtime's CPU provider runs, as its QDQ selectors do: QLinearConv,
// QLinearMatMul / MatMulIntegerToFloat, QGemm, QLinearAdd/Mul, QLinearGlobalAveragePool,
// QLinearSigmoid; data movement (MaxPool, Reshape, Transpose...) runs on the integers directly.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseQdqNodeUnits : public RulePass {
 public:
  FuseQdqNodeUnits();
};

}  // namespace graphopt
