// Folds an inference BatchNormalization over a Gemm's output columns into the Gemm's B and C.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseGemmBatchNorm : public RulePass {
 public:
  FuseGemmBatchNorm();
};

}  // namespace graphopt
