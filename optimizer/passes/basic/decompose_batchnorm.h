// Rewrites an inference BatchNormalization that cannot fold into a preceding Conv or Gemm as
// Mul + Add by constant per-channel scale and shift (standard ONNX every backend runs fast).
#pragma once

#include "optimizer/pass/rule.h"

namespace graphopt {

class DecomposeBatchNorm : public RulePass {
 public:
  DecomposeBatchNorm();
};

}  // namespace graphopt
