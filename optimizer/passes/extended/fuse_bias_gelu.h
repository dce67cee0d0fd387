// Folds an Add of a constant 1-D bias in front of a GELU into the fused operator:
// Gelu(x + b) -> com.microsoft.BiasGelu(x, b), FastGelu(x + b) -> FastGelu(x, b).
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseBiasGelu : public RulePass {
 public:
  FuseBiasGelu();
};

}  // namespace graphopt
