// Fuses a residual Add (with an optional constant bias Add) in front of a layer normalization
// into com.microsoft.SkipLayerNormalization (SkipSimplifiedLayerNormalization for the RMS form);
// when the sum is read elsewhere too, the fused op's input_skip_bias_sum output provides it.
#pragma once

#include "optimizer/pass/pattern.h"

namespace graphopt {

class FuseSkipLayerNorm : public RulePass {
 public:
  FuseSkipLayerNorm();
};

}  // namespace graphopt
