// Helpers shared by the com.microsoft contrib kernels: running a standard kernel as one step of a
// fused operator (so FusedConv reuses Conv instead of copying it), the activations fused
// operators carry, and float views of float16/bfloat16 tensors.
#pragma once

#include <string>
#include <vector>

#include "backends/reference/kernel.h"

namespace graphopt::reference {

// The default-domain opset whose kernels fused operators are composed from.
inline constexpr int kComposeOpset = 17;

// Runs the registered default-domain kernel `op` on `inputs` with the attributes of the node
// being executed (FusedConv's pads/strides serve Conv, FusedGemm's alpha/transA serve Gemm).
Result<std::vector<Tensor>> RunStandardKernel(const KernelContext& ctx, const std::string& op,
                                              const std::vector<const Tensor*>& inputs);

// An activation fused into another operator, with its parameters resolved.
struct FusedActivation {
  std::string kind;  // empty: identity
  float alpha = 0, beta = 0, gamma = 0;
};

// FusedConv's form: `activation` + `activation_params` (LeakyRelu [alpha], Clip [min, max],
// HardSigmoid [alpha, beta]); the parameter count must match, as ONNX Runtime requires.
Result<FusedActivation> ReadConvActivation(const KernelContext& ctx);
// FusedGemm's form: `activation` + `activation_alpha` / `activation_beta` / `activation_gamma`;
// parameters an activation needs must be present, as ONNX Runtime's functors require.
Result<FusedActivation> ReadGemmActivation(const KernelContext& ctx);

// Applies `act` in place to a float, double, float16 or bfloat16 tensor.
Status ApplyFusedActivation(const KernelContext& ctx, const FusedActivation& act, Tensor* t);

// a += b for tensors of one shape and float type (float16/bfloat16 computed in float).
Status AddInPlace(const KernelContext& ctx, const Tensor& b, Tensor* a);

// A float32 copy of a float16/bfloat16 tensor, or the tensor itself (shared bytes) otherwise.
Tensor AsComputeTensor(const Tensor& t);

}  // namespace graphopt::reference
