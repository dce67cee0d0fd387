// Fuses Conv + activation (Relu, Clip, Sigmoid, HardSigmoid, LeakyRelu, Tanh) and Conv + Add
// (+ activation) into com.microsoft.FusedConv, for the activations the target's FusedConv takes.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseConvActivation : public RulePass {
 public:
  FuseConvActivation();
};

}  // namespace graphopt
