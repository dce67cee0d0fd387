// Fuses decomposed layer normalizations over the last axis: mean/variance form (ReduceMean, Sub,
// Pow or Mul, ReduceMean, Add eps, Sqrt, Div or Reciprocal+Mul, optional Mul gamma and Add beta)
// into LayerNormalization, and the RMS form (x / Sqrt(mean(x^2) + eps) * gamma) into
// SimplifiedLayerNormalization.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseLayerNorm : public RulePass {
 public:
  FuseLayerNorm();
};

}  // namespace graphopt
