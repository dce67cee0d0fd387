// Constant folding through the reference executor: a deterministic node whose inputs are all
// constant becomes an initializer; Shape/Size of a statically shaped value become constants.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class FoldConstants : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
