// Pushes a Transpose down through the operators that commute with it (elementwise, reductions,
// Concat/Split, Pad, Slice, nearest Resize, MatMul by a matrix when the last axis stays) until it
// meets Transposes it merges with or cancels. A push happens only when it lowers the number of
// Transpose nodes (count-based cost); a Transpose with several readers is copied for the readers
// whose chains profit, or moves through all of them as one region (a decomposed LayerNorm), when
// that removes more than it adds. Graph outputs keep their layout, so the pass is layout-neutral.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class PushTransposes : public RulePass {
 public:
  PushTransposes();
};

}  // namespace graphopt
