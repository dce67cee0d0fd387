// Folds QuantizeLinear that undoes a DequantizeLinear of the same parameters (DQ -> Q, and so
// Q -> DQ -> Q chains), and drops a Relu/Clip whose clamp the following QuantizeLinear already
// applies by saturating.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class FoldQdqPairs : public RulePass {
 public:
  FoldQdqPairs();
};

}  // namespace graphopt
