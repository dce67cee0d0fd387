// Fuses x * Sigmoid(alpha * x) (QuickGELU; SiLU/Swish when alpha is 1 and the Mul is absent)
// into com.microsoft.QuickGelu.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseQuickGelu : public RulePass {
 public:
  FuseQuickGelu();
};

}  // namespace graphopt
