// Removes Dropout, which is the identity at inference (unless training_mode is set).
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class EliminateDropout : public RuleSetPass {
 public:
  EliminateDropout();
};

}  // namespace graphopt
