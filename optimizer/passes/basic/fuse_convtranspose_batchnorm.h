// Folds an inference BatchNormalization into the ConvTranspose before it (DBNet's upsampling
// head): the per-channel scale goes into the weights, the shift into the bias.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseConvTransposeBatchNorm : public RulePass {
 public:
  FuseConvTransposeBatchNorm();
};

}  // namespace graphopt
