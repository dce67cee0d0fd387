// The com.microsoft GELU family: Gelu (erf form), FastGelu (tanh approximation, optional bias),
// BiasGelu (Gelu of A + B) and QuickGelu (x * sigmoid(alpha * x)). Computed in double per element.
#include <cmath>
#include <string>

#include "backends/reference/kernel.h"
#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

constexpr double kSqrtHalf = 0.70710678118654752440;
constexpr double kSqrtTwoOverPi = 0.79788456080286535588;

double GeluErf(double x) { return 0.5 * x * (1.0 + std::erf(x * kSqrtHalf)); }

double GeluTanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(kSqrtTwoOverPi * (x + 0.044715 * x * x * x)));
}

// X + bias, with bias broadcast (ONNX Runtime's bias is 1-D over the last axis).
Result<Tensor> AddBias(const KernelContext& ctx, const Tensor& x, const Tensor& bias) {
  return BinaryElementwise<TypeClass::kFloat, BinaryResult::kSameType>(
      ctx, x, bias, [](auto a, auto b) { return a + b; });
}

Status GeluKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return GeluErf(static_cast<double>(x)); });
}

Status FastGeluKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  Tensor sum = *x;
  if (const Tensor* bias = ctx.input(1)) {
    ASSIGN_OR_RETURN(sum, AddBias(ctx, *x, *bias));
  }
  ASSIGN_OR_RETURN(Tensor y, UnaryElementwise<TypeClass::kFloat>(ctx, sum, [](auto v) {
                     return GeluTanh(static_cast<double>(v));
                   }));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status BiasGeluKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* a, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* b, RequiredInput(ctx, 1));
  ASSIGN_OR_RETURN(Tensor sum, AddBias(ctx, *a, *b));
  ASSIGN_OR_RETURN(Tensor y, UnaryElementwise<TypeClass::kFloat>(
                                 ctx, sum, [](auto v) { return GeluErf(static_cast<double>(v)); }));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status QuickGeluKernel(KernelContext& ctx) {
  const double alpha = ctx.node().GetFloat("alpha", 1.702f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha](auto v) {
    const double x = static_cast<double>(v);
    return x / (1.0 + std::exp(-alpha * x));
  });
}

}  // namespace

REGISTER_KERNEL("com.microsoft", "Gelu", 1, 1, GeluKernel);
REGISTER_KERNEL("com.microsoft", "FastGelu", 1, 1, FastGeluKernel);
REGISTER_KERNEL("com.microsoft", "BiasGelu", 1, 1, BiasGeluKernel);
REGISTER_KERNEL("com.microsoft", "QuickGelu", 1, 1, QuickGeluKernel);

}  // namespace graphopt::reference
