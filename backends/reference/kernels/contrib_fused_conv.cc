// com.microsoft.FusedConv: Conv (the standard kernel, reused) + optional Z summand + activation,
// Y = activation(Conv(X, W, B) + Z), as ONNX Runtime's CPU and CUDA providers compute it.
#include "backends/reference/kernel.h"
#include "backends/reference/kernels/contrib_util.h"

namespace graphopt::reference {
namespace {

Status FusedConvKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(FusedActivation activation, ReadConvActivation(ctx));
  if (!ctx.input(0) || !ctx.input(1)) return ctx.Fail("inputs X and W are required");
  ASSIGN_OR_RETURN(std::vector<Tensor> conv,
                   RunStandardKernel(ctx, "Conv", {ctx.input(0), ctx.input(1), ctx.input(2)}));
  Tensor y = std::move(conv[0]);
  // Z is accumulated into the convolution's output before the activation, so it must have Y's
  // shape exactly (ONNX Runtime feeds it as the GEMM's beta=1 operand).
  if (const Tensor* z = ctx.input(3)) RETURN_IF_ERROR(AddInPlace(ctx, *z, &y));
  RETURN_IF_ERROR(ApplyFusedActivation(ctx, activation, &y));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("com.microsoft", "FusedConv", 1, 1, FusedConvKernel);

}  // namespace graphopt::reference
