// Rewrites MatMul of two matrices followed by Add of a bias into one Gemm.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseMatMulAddIntoGemm : public RulePass {
 public:
  FuseMatMulAddIntoGemm();
};

}  // namespace graphopt
