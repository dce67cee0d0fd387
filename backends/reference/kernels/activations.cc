// Activation functions of the default ONNX domain: the Relu family, sigmoids, Gelu/Mish, Shrink,
// and the normalizing Softmax/LogSoftmax/Hardmax (flatten-to-2D before opset 13, one axis after).
#include <cmath>
#include <limits>
#include <type_traits>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

// Branch-free on purpose: for very negative x, exp(-x) overflows to inf and 1/inf is exactly 0,
// so no stable two-sided form is needed, and random signs cost no mispredictions.
template <typename T>
T Sigmoid(T x) {
  return T{1} / (T{1} + std::exp(-x));
}

// log(1 + exp(x)) without overflow for large x.
template <typename T>
T StableSoftplus(T x) {
  if (x > T{0}) return x + std::log1p(std::exp(-x));
  return std::log1p(std::exp(x));
}

// float32 Relu with SSE max: under IEEE trapping semantics compilers keep a branch for the
// scalar form, and activations' random signs make that branch mispredict half the time.
void ReluFloat32(const float* x, float* y, int64_t n) {
  int64_t i = 0;
#if defined(__SSE__)
  const __m128 zero = _mm_setzero_ps();
  // max(0, x) returns its second operand when either is NaN, so NaN stays NaN.
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(y + i, _mm_max_ps(zero, _mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) y[i] = x[i] < 0 ? 0.0f : x[i];
}

Status ReluKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  if (x->dtype() == DataType::kFloat) {
    Tensor y(DataType::kFloat, x->shape());
    ReluFloat32(x->data<float>(), y.mutable_data<float>(), x->size());
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  }
  return RunUnary<TypeClass::kSigned>(ctx, [](auto v) { return v < 0 ? decltype(v){0} : v; });
}

Status LeakyReluKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 0.01f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha](auto x) {
    using T = decltype(x);
    return x < 0 ? static_cast<T>(alpha) * x : x;
  });
}

Status PReluKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* slope, RequiredInput(ctx, 1));
  // Before opset 7 a per-channel slope [C] applies along axis 1 of NCHW-like inputs.
  Tensor s = *slope;
  if (ctx.opset() < 7 && s.rank() == 1 && s.size() != 1 && x->rank() >= 2) {
    Shape shape(static_cast<size_t>(x->rank()), 1);
    shape[1] = s.size();
    s = s.Reshaped(shape);
  }
  ASSIGN_OR_RETURN(Tensor y, (BinaryElementwise<TypeClass::kSigned, BinaryResult::kSameType>(
                                 ctx, *x, s, [](auto v, auto a) {
                                   using T = decltype(v);
                                   return v < 0 ? static_cast<T>(a * v) : v;
                                 })));
  if (y.shape() != x->shape()) {
    return ctx.Fail("slope of shape " + ShapeToString(slope->shape()) +
                    " does not broadcast to X's shape " + ShapeToString(x->shape()));
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status EluKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 1.0f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha](auto x) {
    using T = decltype(x);
    return x < 0 ? static_cast<T>(alpha) * std::expm1(x) : x;
  });
}

Status SeluKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 1.67326319217681884765625f);
  const float gamma = ctx.node().GetFloat("gamma", 1.05070102214813232421875f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha, gamma](auto x) {
    using T = decltype(x);
    const T g = static_cast<T>(gamma);
    return x > 0 ? g * x : g * (static_cast<T>(alpha) * std::exp(x) - static_cast<T>(alpha));
  });
}

Status CeluKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 1.0f);
  if (alpha == 0.0f) return ctx.Fail("attribute alpha must not be 0");
  return RunUnary<TypeClass::kFloat>(ctx, [alpha](auto x) {
    using T = decltype(x);
    const T a = static_cast<T>(alpha);
    return std::max(T{0}, x) + std::min(T{0}, a * std::expm1(x / a));
  });
}

Status SigmoidKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return Sigmoid(x); });
}

Status HardSigmoidKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 0.2f);
  const float beta = ctx.node().GetFloat("beta", 0.5f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha, beta](auto x) {
    using T = decltype(x);
    const T v = static_cast<T>(alpha) * x + static_cast<T>(beta);
    return std::max(T{0}, std::min(T{1}, v));
  });
}

Status HardSwishKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) {
    using T = decltype(x);
    return x * std::max(T{0}, std::min(T{1}, x / T{6} + T{0.5}));
  });
}

Status TanhKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return std::tanh(x); });
}

Status SoftplusKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return StableSoftplus(x); });
}

Status SoftsignKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx,
                                     [](auto x) { return x / (decltype(x){1} + std::fabs(x)); });
}

Status ThresholdedReluKernel(KernelContext& ctx) {
  const float alpha = ctx.node().GetFloat("alpha", 1.0f);
  return RunUnary<TypeClass::kFloat>(ctx, [alpha](auto x) {
    using T = decltype(x);
    return x > static_cast<T>(alpha) ? x : T{0};
  });
}

Status GeluKernel(KernelContext& ctx) {
  const std::string approximate = ctx.node().GetString("approximate", "none");
  if (approximate == "tanh") {
    return RunUnary<TypeClass::kFloat>(ctx, [](auto x) {
      using T = decltype(x);
      const T k = static_cast<T>(std::sqrt(2.0 / M_PI));
      return T{0.5} * x * (T{1} + std::tanh(k * (x + T{0.044715} * x * x * x)));
    });
  }
  if (approximate != "none") {
    return ctx.Fail("attribute approximate must be 'none' or 'tanh', got '" + approximate + "'");
  }
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) {
    using T = decltype(x);
    return T{0.5} * x * (T{1} + std::erf(x / static_cast<T>(M_SQRT2)));
  });
}

Status MishKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return x * std::tanh(StableSoftplus(x)); });
}

Status ShrinkKernel(KernelContext& ctx) {
  const double lambd = ctx.node().GetFloat("lambd", 0.5f);
  const double bias = ctx.node().GetFloat("bias", 0.0f);
  return RunUnary<TypeClass::kNumeric>(ctx, [lambd, bias](auto x) {
    using T = decltype(x);
    const double v = static_cast<double>(x);
    if (v < -lambd) return static_cast<T>(v + bias);
    if (v > lambd) return static_cast<T>(v - bias);
    return T{0};
  });
}

// ---- Softmax family ----

enum class Normalize { kSoftmax, kLogSoftmax, kHardmax };

// Applies `mode` along the middle dim of X viewed as [outer, len, inner].
template <typename T>
void NormalizeRows(const T* x, T* y, int64_t outer, int64_t len, int64_t inner, Normalize mode) {
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      auto at = [&](int64_t j) { return base + j * inner; };
      T max = -std::numeric_limits<T>::infinity();
      int64_t argmax = 0;
      for (int64_t j = 0; j < len; ++j) {
        if (x[at(j)] > max) {
          max = x[at(j)];
          argmax = j;
        }
      }
      if (mode == Normalize::kHardmax) {
        for (int64_t j = 0; j < len; ++j) y[at(j)] = j == argmax ? T{1} : T{0};
        continue;
      }
      T sum = 0;
      if (mode == Normalize::kSoftmax) {
        // exp() once per element: store it, then scale.
        for (int64_t j = 0; j < len; ++j) sum += (y[at(j)] = std::exp(x[at(j)] - max));
        const T inv = T{1} / sum;
        for (int64_t j = 0; j < len; ++j) y[at(j)] *= inv;
      } else {
        for (int64_t j = 0; j < len; ++j) sum += std::exp(x[at(j)] - max);
        const T log_sum = std::log(sum);
        for (int64_t j = 0; j < len; ++j) y[at(j)] = x[at(j)] - max - log_sum;
      }
    }
  }
}

Status RunNormalize(KernelContext& ctx, Normalize mode) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  const bool flatten = ctx.opset() < 13;
  int64_t axis = ctx.node().GetInt("axis", flatten ? 1 : -1);
  const int64_t rank = input->rank();
  if (!NormalizeAxis(axis, rank)) {
    return ctx.Fail("axis " + std::to_string(axis) + " is out of range for rank " +
                    std::to_string(rank));
  }
  const Shape& shape = input->shape();
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t dim = shape[static_cast<size_t>(d)];
    if (d < axis) {
      outer *= dim;
    } else if (d == axis || flatten) {
      // Before opset 13 every dim from `axis` on forms one row.
      len *= dim;
    } else {
      inner *= dim;
    }
  }
  const Tensor x = ToFloatTensor(*input);
  Tensor y(x.dtype(), x.shape());
  const bool ok = DispatchFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    NormalizeRows(x.data<T>(), y.mutable_data<T>(), outer, len, inner, mode);
  });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, FromFloatTensor(y, input->dtype()));
  return Status::Ok();
}

Status SoftmaxKernel(KernelContext& ctx) { return RunNormalize(ctx, Normalize::kSoftmax); }
Status LogSoftmaxKernel(KernelContext& ctx) { return RunNormalize(ctx, Normalize::kLogSoftmax); }
Status HardmaxKernel(KernelContext& ctx) { return RunNormalize(ctx, Normalize::kHardmax); }

}  // namespace

REGISTER_KERNEL("", "Relu", 1, kLatestOpset, ReluKernel);
REGISTER_KERNEL("", "LeakyRelu", 1, kLatestOpset, LeakyReluKernel);
REGISTER_KERNEL("", "PRelu", 1, kLatestOpset, PReluKernel);
REGISTER_KERNEL("", "Elu", 1, kLatestOpset, EluKernel);
REGISTER_KERNEL("", "Selu", 1, kLatestOpset, SeluKernel);
REGISTER_KERNEL("", "Celu", 12, kLatestOpset, CeluKernel);
REGISTER_KERNEL("", "Sigmoid", 1, kLatestOpset, SigmoidKernel);
REGISTER_KERNEL("", "HardSigmoid", 1, kLatestOpset, HardSigmoidKernel);
REGISTER_KERNEL("", "HardSwish", 14, kLatestOpset, HardSwishKernel);
REGISTER_KERNEL("", "Tanh", 1, kLatestOpset, TanhKernel);
REGISTER_KERNEL("", "Softplus", 1, kLatestOpset, SoftplusKernel);
REGISTER_KERNEL("", "Softsign", 1, kLatestOpset, SoftsignKernel);
REGISTER_KERNEL("", "ThresholdedRelu", 10, kLatestOpset, ThresholdedReluKernel);
REGISTER_KERNEL("", "Gelu", 20, kLatestOpset, GeluKernel);
REGISTER_KERNEL("", "Mish", 18, kLatestOpset, MishKernel);
REGISTER_KERNEL("", "Shrink", 9, kLatestOpset, ShrinkKernel);
REGISTER_KERNEL("", "Softmax", 1, 12, SoftmaxKernel);
REGISTER_KERNEL("", "Softmax", 13, kLatestOpset, SoftmaxKernel);
REGISTER_KERNEL("", "LogSoftmax", 1, 12, LogSoftmaxKernel);
REGISTER_KERNEL("", "LogSoftmax", 13, kLatestOpset, LogSoftmaxKernel);
REGISTER_KERNEL("", "Hardmax", 1, 12, HardmaxKernel);
REGISTER_KERNEL("", "Hardmax", 13, kLatestOpset, HardmaxKernel);

}  // namespace graphopt::reference
