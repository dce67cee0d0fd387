// Element-wise math of the default ONNX domain: arithmetic with broadcasting, unary math,
// variadic Min/Max/Sum/Mean, Clip, bitwise ops and BitShift.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

template <typename T>
constexpr bool kIsInt = std::is_integral_v<T>;

// Signed integer arithmetic wraps (as ONNX runtimes do) instead of being undefined behaviour.
template <typename T, typename Op>
T Wrapping(T x, T y, Op op) {
  if constexpr (kIsInt<T> && sizeof(T) >= sizeof(int)) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(op(static_cast<U>(x), static_cast<U>(y)));
  } else {
    return static_cast<T>(op(x, y));
  }
}

template <typename T>
bool IsNan(T v) {
  if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
  return false;
}

// True when an integer divisor tensor holds a zero: integer division by zero would trap.
bool HasIntegerZero(const Tensor& t) {
  if (!IsInteger(t.dtype())) return false;
  for (int64_t i = 0, n = t.size(); i < n; ++i) {
    if (t.GetInt64(i) == 0) return true;
  }
  return false;
}

Status AddKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return Wrapping(x, y, [](auto p, auto q) { return p + q; }); });
}

Status SubKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return Wrapping(x, y, [](auto p, auto q) { return p - q; }); });
}

Status MulKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return Wrapping(x, y, [](auto p, auto q) { return p * q; }); });
}

Status DivKernel(KernelContext& ctx) {
  if (ctx.input(1) && HasIntegerZero(*ctx.input(1))) return ctx.Fail("integer division by zero");
  return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(ctx, [](auto x, auto y) {
    using T = decltype(x);
    // INT_MIN / -1 traps on x86; -x with wrap-around is the answer runtimes give.
    if constexpr (kIsInt<T> && std::is_signed_v<T>) {
      if (y == -1) return Wrapping(T{0}, x, [](auto p, auto q) { return p - q; });
    }
    return static_cast<T>(x / y);
  });
}

Status ModKernel(KernelContext& ctx) {
  if (ctx.input(1) && HasIntegerZero(*ctx.input(1))) return ctx.Fail("integer modulo by zero");
  if (ctx.node().GetInt("fmod", 0) != 0) {
    // C fmod: the result takes the dividend's sign.
    return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(ctx, [](auto x, auto y) {
      using T = decltype(x);
      if constexpr (kIsInt<T>) {
        if constexpr (std::is_signed_v<T>) {
          if (y == -1) return T{0};
        }
        return static_cast<T>(x % y);
      } else {
        return static_cast<T>(std::fmod(x, y));
      }
    });
  }
  // Python-style modulo: the result takes the divisor's sign.
  return RunBinary<TypeClass::kNumeric, BinaryResult::kSameType>(ctx, [](auto x, auto y) {
    using T = decltype(x);
    if constexpr (kIsInt<T>) {
      if constexpr (std::is_signed_v<T>) {
        if (y == -1) return T{0};
        T r = static_cast<T>(x % y);
        if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
        return r;
      } else {
        return static_cast<T>(x % y);
      }
    } else {
      T r = static_cast<T>(std::fmod(x, y));
      if (r != 0 && ((r < 0) != (y < 0))) r = static_cast<T>(r + y);
      return r;
    }
  });
}

// Pow(T, T1): the exponent may have another numeric type; the result has the base's type.
Status PowKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* base, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* exponent, RequiredInput(ctx, 1));
  if (!IsFloatingPoint(exponent->dtype()) && !IsInteger(exponent->dtype())) {
    return UnsupportedType(ctx, exponent->dtype());
  }
  ASSIGN_OR_RETURN(Tensor aligned, AlignLegacyBroadcast(ctx, *base, *exponent));
  const Tensor e = aligned.CastTo(DataType::kDouble);
  const Tensor b = ToFloatTensor(*base);
  BroadcastPlan plan;
  if (!MakeBroadcastPlan({b.shape(), e.shape()}, &plan)) {
    return ctx.Fail("shapes " + ShapesToString({b.shape(), e.shape()}) + " do not broadcast");
  }
  Tensor out(b.dtype(), plan.out_shape);
  // Squares (LayerNorm's variance, L2 norms) skip the general pow().
  if (e.size() == 1 && IsFloatingPoint(b.dtype()) && b.size() == plan.out_size) {
    const double p = e.data<double>()[0];
    if (p == 2.0 || p == 1.0) {
      DispatchFloat(b.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = b.data<T>();
        T* dst = out.mutable_data<T>();
        const int64_t n = b.size();
        if (p == 2.0) {
          for (int64_t i = 0; i < n; ++i) dst[i] = src[i] * src[i];
        } else {
          std::copy(src, src + n, dst);
        }
      });
      ctx.SetOutput(0, FromFloatTensor(out, base->dtype()));
      return Status::Ok();
    }
  }
  const bool ok = DispatchTypeClass<TypeClass::kNumeric>(b.dtype(), [&](auto tag) {
    using T = decltype(tag);
    BinaryMap(b.data<T>(), b.size(), e.data<double>(), e.size(), out.mutable_data<T>(), plan,
              [](T x, double y) {
                if constexpr (std::is_same_v<T, float>) {
                  return std::pow(x, static_cast<float>(y));
                } else {
                  return std::pow(static_cast<double>(x), y);
                }
              });
  });
  if (!ok) return UnsupportedType(ctx, base->dtype());
  ctx.SetOutput(0, FromFloatTensor(out, base->dtype()));
  return Status::Ok();
}

// ---- unary math ----

Status NegKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kSigned>(ctx, [](auto x) {
    using T = decltype(x);
    return Wrapping(T{0}, x, [](auto p, auto q) { return p - q; });
  });
}

Status AbsKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kNumeric>(ctx, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_unsigned_v<T>) {
      return x;
    } else if constexpr (kIsInt<T>) {
      return x < 0 ? Wrapping(T{0}, x, [](auto p, auto q) { return p - q; }) : x;
    } else {
      return std::fabs(x);
    }
  });
}

Status SignKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kNumeric>(ctx, [](auto x) {
    using T = decltype(x);
    if (IsNan(x)) return x;
    return static_cast<T>((T{0} < x) - (x < T{0}));
  });
}

#define GRAPHOPT_FLOAT_UNARY(Name, expr)                                    \
  Status Name##Kernel(KernelContext& ctx) {                                 \
    return RunUnary<TypeClass::kFloat>(ctx, [](auto x) { return (expr); }); \
  }

GRAPHOPT_FLOAT_UNARY(Sqrt, std::sqrt(x))
GRAPHOPT_FLOAT_UNARY(Exp, std::exp(x))
GRAPHOPT_FLOAT_UNARY(Log, std::log(x))
GRAPHOPT_FLOAT_UNARY(Reciprocal, decltype(x){1} / x)
GRAPHOPT_FLOAT_UNARY(Floor, std::floor(x))
GRAPHOPT_FLOAT_UNARY(Ceil, std::ceil(x))
// nearbyint rounds halves to even under the default rounding mode, as ONNX Round requires.
GRAPHOPT_FLOAT_UNARY(Round, std::nearbyint(x))
GRAPHOPT_FLOAT_UNARY(Sin, std::sin(x))
GRAPHOPT_FLOAT_UNARY(Cos, std::cos(x))
GRAPHOPT_FLOAT_UNARY(Tan, std::tan(x))
GRAPHOPT_FLOAT_UNARY(Asin, std::asin(x))
GRAPHOPT_FLOAT_UNARY(Acos, std::acos(x))
GRAPHOPT_FLOAT_UNARY(Atan, std::atan(x))
GRAPHOPT_FLOAT_UNARY(Sinh, std::sinh(x))
GRAPHOPT_FLOAT_UNARY(Cosh, std::cosh(x))
GRAPHOPT_FLOAT_UNARY(Asinh, std::asinh(x))
GRAPHOPT_FLOAT_UNARY(Acosh, std::acosh(x))
GRAPHOPT_FLOAT_UNARY(Atanh, std::atanh(x))
GRAPHOPT_FLOAT_UNARY(Erf, std::erf(x))

#undef GRAPHOPT_FLOAT_UNARY

// ---- variadic ops: fold the inputs pairwise with broadcasting ----

template <TypeClass kClass, typename Fn>
Status RunVariadic(KernelContext& ctx, Fn&& fn, Tensor* result) {
  ASSIGN_OR_RETURN(const Tensor* first, RequiredInput(ctx, 0));
  Tensor acc = *first;
  if (ctx.num_inputs() == 1) {
    // Still reject types the op does not accept.
    if (!IsHalfLike(acc.dtype()) && !DispatchTypeClass<kClass>(acc.dtype(), [](auto) {})) {
      return UnsupportedType(ctx, acc.dtype());
    }
  }
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    ASSIGN_OR_RETURN(const Tensor* next, RequiredInput(ctx, i));
    ASSIGN_OR_RETURN(acc,
                     (BinaryElementwise<kClass, BinaryResult::kSameType>(ctx, acc, *next, fn)));
  }
  *result = std::move(acc);
  return Status::Ok();
}

auto MinOf = [](auto x, auto y) {
  if (IsNan(x)) return x;
  if (IsNan(y)) return y;
  return y < x ? y : x;
};
auto MaxOf = [](auto x, auto y) {
  if (IsNan(x)) return x;
  if (IsNan(y)) return y;
  return x < y ? y : x;
};

Status MinKernel(KernelContext& ctx) {
  Tensor out;
  RETURN_IF_ERROR(RunVariadic<TypeClass::kNumeric>(ctx, MinOf, &out));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status MaxKernel(KernelContext& ctx) {
  Tensor out;
  RETURN_IF_ERROR(RunVariadic<TypeClass::kNumeric>(ctx, MaxOf, &out));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status SumKernel(KernelContext& ctx) {
  Tensor out;
  RETURN_IF_ERROR(RunVariadic<TypeClass::kNumeric>(
      ctx, [](auto x, auto y) { return Wrapping(x, y, [](auto p, auto q) { return p + q; }); },
      &out));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status MeanKernel(KernelContext& ctx) {
  Tensor sum;
  RETURN_IF_ERROR(RunVariadic<TypeClass::kFloat>(
      ctx, [](auto x, auto y) { return x + y; }, &sum));
  const double count = static_cast<double>(ctx.num_inputs());
  ASSIGN_OR_RETURN(Tensor mean, UnaryElementwise<TypeClass::kFloat>(ctx, sum, [count](auto x) {
                     return static_cast<decltype(x)>(x / count);
                   }));
  ctx.SetOutput(0, std::move(mean));
  return Status::Ok();
}

// ---- Clip ----

// A double bound as T, saturated to T's range (an infinite bound on an integer type).
template <typename T>
T SaturateTo(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) {
      return std::numeric_limits<T>::lowest();
    }
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Y = min(max(X, lo), hi): lower bound first, so with min > max every value becomes max.
// std::max/min keep a NaN X (their comparisons are false) and compile without branches.
Status ClipBetween(KernelContext& ctx, const Tensor& x, double lo, double hi) {
  const Tensor xf = ToFloatTensor(x);
  Tensor y(xf.dtype(), xf.shape());
  const bool ok = DispatchTypeClass<TypeClass::kNumeric>(xf.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T lo_t = SaturateTo<T>(lo), hi_t = SaturateTo<T>(hi);
    const T* src = xf.data<T>();
    T* dst = y.mutable_data<T>();
    for (int64_t i = 0, n = xf.size(); i < n; ++i) dst[i] = std::min(std::max(src[i], lo_t), hi_t);
  });
  if (!ok) return UnsupportedType(ctx, x.dtype());
  ctx.SetOutput(0, FromFloatTensor(y, x.dtype()));
  return Status::Ok();
}

// Opsets 1-10: bounds are attributes.
Status ClipAttrKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  const double lo = ctx.node().GetFloat("min", -std::numeric_limits<float>::max());
  const double hi = ctx.node().GetFloat("max", std::numeric_limits<float>::max());
  return ClipBetween(ctx, *x, lo, hi);
}

// Opset 11+: bounds are optional scalar inputs of X's type.
Status ClipInputKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  if (!IsFloatingPoint(x->dtype()) && !IsInteger(x->dtype()))
    return UnsupportedType(ctx, x->dtype());
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  for (size_t i = 1; i <= 2; ++i) {
    const Tensor* bound = ctx.input(i);
    if (!bound) continue;
    if (bound->size() != 1) return ctx.Fail("min/max must be scalars");
    if (bound->dtype() != x->dtype()) return ctx.Fail("min/max must have the input's type");
    (i == 1 ? lo : hi) = bound->GetDouble(0);
  }
  return ClipBetween(ctx, *x, lo, hi);
}

// ---- bitwise ----

Status BitwiseAndKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kInteger, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return static_cast<decltype(x)>(x & y); });
}

Status BitwiseOrKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kInteger, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return static_cast<decltype(x)>(x | y); });
}

Status BitwiseXorKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kInteger, BinaryResult::kSameType>(
      ctx, [](auto x, auto y) { return static_cast<decltype(x)>(x ^ y); });
}

Status BitwiseNotKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kInteger>(ctx, [](auto x) { return static_cast<decltype(x)>(~x); });
}

Status BitShiftKernel(KernelContext& ctx) {
  const std::string direction = ctx.node().GetString("direction", "");
  if (direction != "LEFT" && direction != "RIGHT") {
    return ctx.Fail("attribute direction must be LEFT or RIGHT, got '" + direction + "'");
  }
  const bool left = direction == "LEFT";
  return RunBinary<TypeClass::kUnsigned, BinaryResult::kSameType>(ctx, [left](auto x, auto y) {
    using T = decltype(x);
    // Shifting by the width or more is undefined in C++; every bit is shifted out.
    if (y >= static_cast<T>(sizeof(T) * 8)) return T{0};
    return static_cast<T>(left ? x << y : x >> y);
  });
}

}  // namespace

REGISTER_KERNEL("", "Add", 1, kLatestOpset, AddKernel);
REGISTER_KERNEL("", "Sub", 1, kLatestOpset, SubKernel);
REGISTER_KERNEL("", "Mul", 1, kLatestOpset, MulKernel);
REGISTER_KERNEL("", "Div", 1, kLatestOpset, DivKernel);
REGISTER_KERNEL("", "Pow", 1, kLatestOpset, PowKernel);
REGISTER_KERNEL("", "Mod", 10, kLatestOpset, ModKernel);
REGISTER_KERNEL("", "Neg", 1, kLatestOpset, NegKernel);
REGISTER_KERNEL("", "Abs", 1, kLatestOpset, AbsKernel);
REGISTER_KERNEL("", "Sqrt", 1, kLatestOpset, SqrtKernel);
REGISTER_KERNEL("", "Exp", 1, kLatestOpset, ExpKernel);
REGISTER_KERNEL("", "Log", 1, kLatestOpset, LogKernel);
REGISTER_KERNEL("", "Reciprocal", 1, kLatestOpset, ReciprocalKernel);
REGISTER_KERNEL("", "Floor", 1, kLatestOpset, FloorKernel);
REGISTER_KERNEL("", "Ceil", 1, kLatestOpset, CeilKernel);
REGISTER_KERNEL("", "Round", 11, kLatestOpset, RoundKernel);
REGISTER_KERNEL("", "Sign", 9, kLatestOpset, SignKernel);
REGISTER_KERNEL("", "Sin", 7, kLatestOpset, SinKernel);
REGISTER_KERNEL("", "Cos", 7, kLatestOpset, CosKernel);
REGISTER_KERNEL("", "Tan", 7, kLatestOpset, TanKernel);
REGISTER_KERNEL("", "Asin", 7, kLatestOpset, AsinKernel);
REGISTER_KERNEL("", "Acos", 7, kLatestOpset, AcosKernel);
REGISTER_KERNEL("", "Atan", 7, kLatestOpset, AtanKernel);
REGISTER_KERNEL("", "Sinh", 9, kLatestOpset, SinhKernel);
REGISTER_KERNEL("", "Cosh", 9, kLatestOpset, CoshKernel);
REGISTER_KERNEL("", "Asinh", 9, kLatestOpset, AsinhKernel);
REGISTER_KERNEL("", "Acosh", 9, kLatestOpset, AcoshKernel);
REGISTER_KERNEL("", "Atanh", 9, kLatestOpset, AtanhKernel);
REGISTER_KERNEL("", "Erf", 9, kLatestOpset, ErfKernel);
REGISTER_KERNEL("", "Min", 1, kLatestOpset, MinKernel);
REGISTER_KERNEL("", "Max", 1, kLatestOpset, MaxKernel);
REGISTER_KERNEL("", "Sum", 1, kLatestOpset, SumKernel);
REGISTER_KERNEL("", "Mean", 1, kLatestOpset, MeanKernel);
REGISTER_KERNEL("", "Clip", 1, 10, ClipAttrKernel);
REGISTER_KERNEL("", "Clip", 11, kLatestOpset, ClipInputKernel);
REGISTER_KERNEL("", "BitwiseAnd", 18, kLatestOpset, BitwiseAndKernel);
REGISTER_KERNEL("", "BitwiseOr", 18, kLatestOpset, BitwiseOrKernel);
REGISTER_KERNEL("", "BitwiseXor", 18, kLatestOpset, BitwiseXorKernel);
REGISTER_KERNEL("", "BitwiseNot", 18, kLatestOpset, BitwiseNotKernel);
REGISTER_KERNEL("", "BitShift", 11, kLatestOpset, BitShiftKernel);

}  // namespace graphopt::reference
