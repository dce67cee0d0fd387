// Raising a model's default-domain opset with libonnx's version converter, so operators of a
// newer opset (e.g. LayerNormalization-17) become available to the passes.
#pragma once

#include <cstdint>

#include "optimizer/ir/graph.h"

namespace graphopt::ir {

// The newest default-domain opset the linked libonnx can convert to and check.
inline constexpr int64_t kMaxConvertibleOpset = 17;

// Converts `model` in place to default-domain opset `target_opset` and raises its IR version
// to the minimum that opset needs. A model already at `target_opset` is left untouched.
// Weights are not copied: large initializers stay in the IR while the converter sees only their
// types, and are re-attached to the converted graph. Fails with INVALID_ARGUMENT when the
// target is lower than the model's opset or above kMaxConvertibleOpset, or when the converter
// has no adapter for an operator of the model; the model is unchanged on failure.
Status ConvertOpset(Model& model, int64_t target_opset);

// The minimum ONNX IR version a model importing default-domain opset `opset` must declare.
int64_t MinIrVersionForOpset(int64_t opset);

}  // namespace graphopt::ir
