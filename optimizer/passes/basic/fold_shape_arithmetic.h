// Shape arithmetic (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write it)
// folded with symbolic dims: integer values that depend only on static dims become constants,
// a Reshape whose target is known symbolically gets a constant target using 0 and -1, so it
// keeps working for every batch and sequence length, and a symbolic dim is read from the graph
// input that has it rather than from an intermediate value. No symbolic dim is ever frozen.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class FoldShapeArithmetic : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
