// Writes the residual Add that only a LayerNormalization reads as a two-input Sum on targets
// whose profile lists SkipLayerNormalization as slower than Add + LayerNormalization, so that the
// runtime's own SkipLayerNormalization fusion (it matches Add only) leaves the faster form alone
// when the artifact is loaded at the runtime's default optimization level.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class ShieldResidualAdd : public RulePass {
 public:
  ShieldResidualAdd();
};

}  // namespace graphopt
