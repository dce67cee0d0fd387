// Removes Transposes without moving any: merges a Transpose of a Transpose into one (or none when
// they cancel), folds a Transpose of a constant into a new initializer, and folds a matrix
// Transpose feeding a 2-D MatMul into a Gemm's transA/transB. Never adds a Transpose.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class MergeTransposes : public RulePass {
 public:
  MergeTransposes();
};

}  // namespace graphopt
