// Removes Dropout, which is the identity at inference (unless training_mode is set).
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class EliminateDropout : public RulePass {
 public:
  EliminateDropout();
};

}  // namespace graphopt
