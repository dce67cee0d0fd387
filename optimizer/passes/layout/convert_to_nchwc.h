// Converts convolutions and what surrounds them to ONNX Runtime's NCHWc blocked layout
// (com.microsoft.nchwc), for targets whose profile gives a block size: Conv and FusedConv
// (activation and residual Sum fused in), pools, nearest Upsample, elementwise Add/Mul and the
// activations, channel Concat, per-channel affine maps (BatchNormalization, Mul/Add by
// constants) as depthwise convolutions. Weights are reordered once into initializers;
// ReorderInput/ReorderOutput stay only where a blocked value meets an unconverted reader.
#pragma once

#include "optimizer/pass/pass.h"

namespace graphopt {

class ConvertToNchwc : public Pass {
 public:
  Result<int64_t> Run(PassContext& ctx) override;
};

}  // namespace graphopt
