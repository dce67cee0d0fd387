// Removes Identity nodes by reading their input directly.
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class EliminateIdentity : public RuleSetPass {
 public:
  EliminateIdentity();
};

}  // namespace graphopt
