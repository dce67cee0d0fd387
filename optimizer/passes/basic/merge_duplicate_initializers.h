// Merges initializers with the same type, shape and bytes into one.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class MergeDuplicateInitializers : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
