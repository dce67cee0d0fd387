// Fuses the erf form of GELU, x * 0.5 * (1 + Erf(x / sqrt(2))), into com.microsoft.Gelu and the
// tanh form, x * 0.5 * (1 + Tanh(sqrt(2/pi) * (x + 0.044715 x^3))), into com.microsoft.FastGelu,
// in the operand orders exporters produce.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseGelu : public RulePass {
 public:
  FuseGelu();
};

}  // namespace graphopt
