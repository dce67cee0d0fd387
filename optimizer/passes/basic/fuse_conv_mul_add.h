// Folds a Mul or Add by a per-output-channel constant after a Conv into the Conv's weights
// (Mul) or bias (Add).
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseConvMulAdd : public RulePass {
 public:
  FuseConvMulAdd();
};

}  // namespace graphopt
