// Folds an inference BatchNormalization into the Conv before it: the per-channel scale goes
// into the Conv's weights, the shift into its bias.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseConvBatchNorm : public RulePass {
 public:
  FuseConvBatchNorm();
};

}  // namespace graphopt
