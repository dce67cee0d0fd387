// Folds a Mul or Add by a per-output-channel constant after a Conv into the Conv's weights
// (Mul) or bias (Add).
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class FuseConvMulAdd : public RuleSetPass {
 public:
  FuseConvMulAdd();
};

}  // namespace graphopt
