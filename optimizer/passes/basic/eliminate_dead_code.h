// Removes nodes whose outputs nobody reads and initializers nobody uses.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class EliminateDeadCode : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
