// Merges a constant-mode Pad on spatial axes into the pads of the Conv, AveragePool or
// MaxPool that reads it, when the pad value is what the consumer's own padding means.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FusePadConv : public RulePass {
 public:
  FusePadConv();
};

}  // namespace graphopt
