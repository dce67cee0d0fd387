// Removes operators that provably return their input unchanged: identity Transpose, Cast to
// the same type, Reshape/Expand to the same static shape, zero Pad, whole-range Slice,
// single-input Concat.
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class EliminateNop : public RuleSetPass {
 public:
  EliminateNop();
};

}  // namespace graphopt
