// Removes operators that provably return their input unchanged: identity Transpose, Cast to
// the same type, Reshape/Expand to the same static shape, zero Pad, whole-range Slice,
// single-input Concat.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class EliminateNop : public RulePass {
 public:
  EliminateNop();
};

}  // namespace graphopt
