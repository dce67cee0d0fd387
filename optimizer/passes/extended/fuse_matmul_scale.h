// Fuses MatMul with a scalar scale (Mul/Div of an input or of the output by a constant) and with
// a Transpose of the last two dims of an input into com.microsoft.FusedMatMul (alpha, transA,
// transB).
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseMatMulScale : public RulePass {
 public:
  FuseMatMulScale();
};

}  // namespace graphopt
