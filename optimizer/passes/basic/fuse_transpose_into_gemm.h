// Folds a matrix Transpose feeding Gemm's A or B into the Gemm's transA/transB flag.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FuseTransposeIntoGemm : public RulePass {
 public:
  FuseTransposeIntoGemm();
};

}  // namespace graphopt
