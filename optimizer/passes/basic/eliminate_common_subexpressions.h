// Common subexpression elimination: nodes with the same operator, inputs and attributes are
// computed once.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class EliminateCommonSubexpressions : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
