// Algebraic simplification: a table of small identities (x*1, x+0, Neg∘Neg, Reshape∘Reshape,
// Squeeze∘Unsqueeze, lossless Cast chains, Div by a constant, Relu∘Relu, nested Concats,
// Slice∘Slice...), each rule stating its precondition. Composed Transposes: merge_transposes.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class SimplifyAlgebra : public RulePass {
 public:
  SimplifyAlgebra();
};

}  // namespace graphopt
