// Folds an inference BatchNormalization over a Gemm's output columns into the Gemm's B and C.
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class FuseGemmBatchNorm : public RuleSetPass {
 public:
  FuseGemmBatchNorm();
};

}  // namespace graphopt
