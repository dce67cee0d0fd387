// Shared machinery of the element-wise kernel families (math, activations, comparisons,
// reductions): broadcast plans that walk several inputs without per-element index tables, type
// dispatch by type class, and unary/binary map front-ends that handle float16/bfloat16.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace graphopt::reference {


// How N inputs broadcast to one output shape. Output dims of extent 1 are dropped and adjacent
// dims merged where every input broadcasts the same way, so the innermost run is as long as
// possible. strides[k][d] is input k's element stride along merged dim d (0 = broadcast).
struct BroadcastPlan {
  Shape out_shape;
  int64_t out_size = 0;
  std::vector<int64_t> dims;
  std::vector<std::vector<int64_t>> strides;
};

// Numpy (multidirectional) broadcasting of `inputs`; false when they are incompatible.
bool MakeBroadcastPlan(const std::vector<Shape>& inputs, BroadcastPlan* plan);
// Each input broadcast to the given `out` shape (unidirectional); false when one cannot be.
bool MakeBroadcastPlanTo(const std::vector<Shape>& inputs, const Shape& out, BroadcastPlan* plan);
// "[2,3] vs [4]" for error messages.
std::string ShapesToString(const std::vector<Shape>& shapes);

// Calls run(out_offset, in_offsets, in_steps, count) once per innermost run of the output:
// output elements [out_offset, out_offset + count) read input k at in_offsets[k] + i * in_steps[k].
template <typename Fn>
void ForEachBroadcastRun(const BroadcastPlan& plan, Fn&& run) {
  if (plan.out_size == 0) return;
  const size_t n = plan.strides.size();
  const size_t d = plan.dims.size();
  const int64_t inner = plan.dims[d - 1];
  std::vector<int64_t> offsets(n, 0), steps(n), counter(d, 0);
  for (size_t k = 0; k < n; ++k) steps[k] = plan.strides[k][d - 1];
  for (int64_t out = 0; out < plan.out_size; out += inner) {
    run(out, offsets.data(), steps.data(), inner);
    for (int64_t ax = static_cast<int64_t>(d) - 2; ax >= 0; --ax) {
      const auto a = static_cast<size_t>(ax);
      for (size_t k = 0; k < n; ++k) offsets[k] += plan.strides[k][a];
      if (++counter[a] < plan.dims[a]) break;
      for (size_t k = 0; k < n; ++k) offsets[k] -= plan.strides[k][a] * plan.dims[a];
      counter[a] = 0;
    }
  }
}

// out[i] = fn(a[.], b[.]) over a two-input plan. Equal sizes and scalar operands loop directly.
template <typename A, typename B, typename O, typename Fn>
void BinaryMap(const A* a, int64_t a_size, const B* b, int64_t b_size, O* out,
               const BroadcastPlan& plan, Fn&& fn) {
  const int64_t n = plan.out_size;
  if (a_size == n && b_size == n) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<O>(fn(a[i], b[i]));
    return;
  }
  if (b_size == 1 && a_size == n) {
    const B y = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<O>(fn(a[i], y));
    return;
  }
  if (a_size == 1 && b_size == n) {
    const A x = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<O>(fn(x, b[i]));
    return;
  }
  ForEachBroadcastRun(plan, [&](int64_t o, const int64_t* off, const int64_t* step, int64_t count) {
    const A* pa = a + off[0];
    const B* pb = b + off[1];
    O* po = out + o;
    if (step[0] && step[1]) {
      for (int64_t i = 0; i < count; ++i) po[i] = static_cast<O>(fn(pa[i], pb[i]));
    } else if (step[0]) {
      const B y = pb[0];
      for (int64_t i = 0; i < count; ++i) po[i] = static_cast<O>(fn(pa[i], y));
    } else if (step[1]) {
      const A x = pa[0];
      for (int64_t i = 0; i < count; ++i) po[i] = static_cast<O>(fn(x, pb[i]));
    } else {
      const auto v = static_cast<O>(fn(pa[0], pb[0]));
      for (int64_t i = 0; i < count; ++i) po[i] = v;
    }
  });
}

// Which element types a kernel accepts. float16/bfloat16 join kFloat/kNumeric classes through
// the front-ends below, which compute them in float32. Bool is dispatched as uint8_t.
enum class TypeClass { kFloat, kSigned, kNumeric, kInteger, kUnsigned, kBool, kNumericOrBool };

template <TypeClass kClass>
constexpr bool TypeClassHasFloat() {
  return kClass == TypeClass::kFloat || kClass == TypeClass::kSigned ||
         kClass == TypeClass::kNumeric || kClass == TypeClass::kNumericOrBool;
}

// Calls fn(tag) with a value of the C++ type for `t` when `t` is in `kClass`; false otherwise.
template <TypeClass kClass, typename Fn>
bool DispatchTypeClass(DataType t, Fn&& fn) {
  constexpr bool kFloats = TypeClassHasFloat<kClass>();
  constexpr bool kSignedInts = kClass == TypeClass::kSigned || kClass == TypeClass::kNumeric ||
                               kClass == TypeClass::kInteger || kClass == TypeClass::kNumericOrBool;
  constexpr bool kUnsignedInts = kClass == TypeClass::kNumeric || kClass == TypeClass::kInteger ||
                                 kClass == TypeClass::kUnsigned ||
                                 kClass == TypeClass::kNumericOrBool;
  constexpr bool kBools = kClass == TypeClass::kBool || kClass == TypeClass::kNumericOrBool;
  switch (t) {
    case DataType::kFloat:
      if constexpr (kFloats) {
        fn(float{});
        return true;
      }
      break;
    case DataType::kDouble:
      if constexpr (kFloats) {
        fn(double{});
        return true;
      }
      break;
    case DataType::kInt8:
      if constexpr (kSignedInts) {
        fn(int8_t{});
        return true;
      }
      break;
    case DataType::kInt16:
      if constexpr (kSignedInts) {
        fn(int16_t{});
        return true;
      }
      break;
    case DataType::kInt32:
      if constexpr (kSignedInts) {
        fn(int32_t{});
        return true;
      }
      break;
    case DataType::kInt64:
      if constexpr (kSignedInts) {
        fn(int64_t{});
        return true;
      }
      break;
    case DataType::kUint8:
      if constexpr (kUnsignedInts) {
        fn(uint8_t{});
        return true;
      }
      break;
    case DataType::kUint16:
      if constexpr (kUnsignedInts) {
        fn(uint16_t{});
        return true;
      }
      break;
    case DataType::kUint32:
      if constexpr (kUnsignedInts) {
        fn(uint32_t{});
        return true;
      }
      break;
    case DataType::kUint64:
      if constexpr (kUnsignedInts) {
        fn(uint64_t{});
        return true;
      }
      break;
    case DataType::kBool:
      if constexpr (kBools) {
        fn(uint8_t{});
        return true;
      }
      break;
    default:
      break;
  }
  return false;
}

// Fails naming the input when it is missing.
Result<const Tensor*> RequiredInput(const KernelContext& ctx, size_t i);
Status UnsupportedType(const KernelContext& ctx, DataType t);
// An optional integer 1-D input (axes, K...) as int64s; empty when omitted, an error when the
// tensor is not of an integer type.
Result<std::vector<int64_t>> OptionalIntegerInput(const KernelContext& ctx, size_t i);

// y = fn(x) element-wise, y of x's dtype. fn is generic over the element type.
template <TypeClass kClass, typename Fn>
Result<Tensor> UnaryElementwise(const KernelContext& ctx, const Tensor& x, Fn&& fn) {
  if constexpr (TypeClassHasFloat<kClass>()) {
    if (IsHalfLike(x.dtype())) {
      const Tensor xf = ToFloatTensor(x);
      Tensor out(DataType::kFloat, xf.shape());
      const float* src = xf.data<float>();
      float* dst = out.mutable_data<float>();
      for (int64_t i = 0, n = xf.size(); i < n; ++i) dst[i] = static_cast<float>(fn(src[i]));
      return FromFloatTensor(out, x.dtype());
    }
  }
  Tensor out(x.dtype(), x.shape());
  const bool ok = DispatchTypeClass<kClass>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* dst = out.mutable_data<T>();
    for (int64_t i = 0, n = x.size(); i < n; ++i) dst[i] = static_cast<T>(fn(src[i]));
  });
  if (!ok) return UnsupportedType(ctx, x.dtype());
  return out;
}

// Kernel body for a one-input, one-output op: Y = fn(X).
template <TypeClass kClass, typename Fn>
Status RunUnary(KernelContext& ctx, Fn&& fn) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(Tensor y, UnaryElementwise<kClass>(ctx, *x, fn));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// What a binary op's output element type is.
enum class BinaryResult { kSameType, kBool };

// out = fn(a, b) with numpy broadcasting; a and b must share a dtype in `kClass`.
template <TypeClass kClass, BinaryResult kResult, typename Fn>
Result<Tensor> BinaryElementwise(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                                 Fn&& fn) {
  if (a.dtype() != b.dtype()) {
    return ctx.Fail("inputs have different types " + std::string(DataTypeName(a.dtype())) +
                    " and " + std::string(DataTypeName(b.dtype())));
  }
  BroadcastPlan plan;
  if (!MakeBroadcastPlan({a.shape(), b.shape()}, &plan)) {
    return ctx.Fail("shapes " + ShapesToString({a.shape(), b.shape()}) + " do not broadcast");
  }
  const bool half = IsHalfLike(a.dtype()) && TypeClassHasFloat<kClass>();
  const Tensor af = half ? ToFloatTensor(a) : a;
  const Tensor bf = half ? ToFloatTensor(b) : b;
  const DataType out_type = kResult == BinaryResult::kBool ? DataType::kBool : af.dtype();
  Tensor out(out_type, plan.out_shape);
  const bool ok = DispatchTypeClass<kClass>(af.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using O = std::conditional_t<kResult == BinaryResult::kBool, uint8_t, T>;
    BinaryMap(af.data<T>(), af.size(), bf.data<T>(), bf.size(), out.mutable_data<O>(), plan, fn);
  });
  if (!ok) return UnsupportedType(ctx, a.dtype());
  if (half && kResult == BinaryResult::kSameType) return FromFloatTensor(out, a.dtype());
  return out;
}

// Opsets before 7 broadcast only with attribute broadcast=1, aligning B's dims with A's starting
// at attribute `axis` (default: trailing). Returns B reshaped so numpy broadcasting gives that.
Result<Tensor> AlignLegacyBroadcast(const KernelContext& ctx, const Tensor& a, const Tensor& b);

// Kernel body for a two-input op: C = fn(A, B) with broadcasting.
template <TypeClass kClass, BinaryResult kResult, typename Fn>
Status RunBinary(KernelContext& ctx, Fn&& fn) {
  ASSIGN_OR_RETURN(const Tensor* a, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* b, RequiredInput(ctx, 1));
  ASSIGN_OR_RETURN(Tensor b_aligned, AlignLegacyBroadcast(ctx, *a, *b));
  ASSIGN_OR_RETURN(Tensor c, (BinaryElementwise<kClass, kResult>(ctx, *a, b_aligned, fn)));
  ctx.SetOutput(0, std::move(c));
  return Status::Ok();
}

}  // namespace graphopt::reference
