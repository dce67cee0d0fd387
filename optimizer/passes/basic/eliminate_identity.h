// Removes Identity nodes by reading their input directly.
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class EliminateIdentity : public RulePass {
 public:
  EliminateIdentity();
};

}  // namespace graphopt
