// Rewrites an inference BatchNormalization that cannot fold into a preceding Conv or Gemm as
// Mul + Add by constant per-channel scale and shift (standard ONNX every backend runs fast).
#pragma once

#include "optimizer/pass/rule_set.h"

namespace graphopt {

class DecomposeBatchNorm : public RuleSetPass {
 public:
  DecomposeBatchNorm();
};

}  // namespace graphopt
