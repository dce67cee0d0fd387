// Pushes a Transpose down through the operators that commute with it (elementwise, reductions,
// Concat/Split, Pad, Slice, nearest Resize) until it meets Transposes it merges with or cancels.
// A push happens only when it lowers the number of Transpose nodes (count-based cost); graph
// outputs keep their layout, so the pass is layout-neutral.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class PushTransposes : public RulePass {
 public:
  PushTransposes();
};

}  // namespace graphopt
