// Fuses the elementwise forms of the hard sigmoid, Clip(x + 3, 0, 6) / 6 (also as * 1/6) and
// Clip(x / 6 + 0.5, 0, 1), into the standard HardSigmoid(alpha 1/6, beta 0.5).
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseHardSigmoid : public RulePass {
 public:
  FuseHardSigmoid();
};

}  // namespace graphopt
