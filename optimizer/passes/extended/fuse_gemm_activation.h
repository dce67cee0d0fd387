// Fuses Gemm + activation (Relu, Tanh, Sigmoid, LeakyRelu, HardSigmoid, Elu, Selu, Softplus,
// Softsign, ThresholdedRelu) into com.microsoft.FusedGemm, for the activations the target takes.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseGemmActivation : public RulePass {
 public:
  FuseGemmActivation();
};

}  // namespace graphopt
