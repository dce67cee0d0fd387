// Fuses the elementwise forms of the hard swish, x * Clip(x + 3, 0, 6) / 6 in its operand
// orders and x * HardSigmoid(x) (alpha 1/6, beta 0.5), into the standard HardSwish (opset 14).
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseHardSwish : public RulePass {
 public:
  FuseHardSwish();
};

// Shared with fuse_hard_sigmoid: Clip(x + 3, 0, 6) (Relu6 of x + 3), binding x.
pattern::Pattern Relu6OfXPlus3(int64_t opset);
// True when `n` is a HardSigmoid computing Clip(x / 6 + 0.5, 0, 1).
bool IsHardSigmoidOfSixth(const ir::Node* n);
// Tolerance of the 1/6 and 0.5 constants (exporters write 0.16666667 or 0.1666).
inline constexpr double kHardTolerance = 1e-4;

}  // namespace graphopt
