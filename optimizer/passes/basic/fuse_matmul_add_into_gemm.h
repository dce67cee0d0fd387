// Rewrites MatMul of two matrices followed by Add of a bias into one Gemm.
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class FuseMatMulAddIntoGemm : public RuleSetPass {
 public:
  FuseMatMulAddIntoGemm();
};

}  // namespace graphopt
