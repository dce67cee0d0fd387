// Comparisons, boolean logic, Where and the IsNaN/IsInf predicates of the default ONNX domain.
#include <cmath>
#include <cstring>

#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

Status EqualKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (a && b && a->dtype() == DataType::kString && b->dtype() == DataType::kString) {
    BroadcastPlan plan;
    if (!MakeBroadcastPlan({a->shape(), b->shape()}, &plan)) {
      return ctx.Fail("shapes " + ShapesToString({a->shape(), b->shape()}) + " do not broadcast");
    }
    Tensor out(DataType::kBool, plan.out_shape);
    BinaryMap(a->strings().data(), a->size(), b->strings().data(), b->size(),
              out.mutable_data<uint8_t>(), plan,
              [](const std::string& x, const std::string& y) { return x == y; });
    ctx.SetOutput(0, std::move(out));
    return Status::Ok();
  }
  return RunBinary<TypeClass::kNumericOrBool, BinaryResult::kBool>(
      ctx, [](auto x, auto y) { return x == y; });
}

Status LessKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kBool>(ctx,
                                                             [](auto x, auto y) { return x < y; });
}

Status LessOrEqualKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kBool>(ctx,
                                                             [](auto x, auto y) { return x <= y; });
}

Status GreaterKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kBool>(ctx,
                                                             [](auto x, auto y) { return x > y; });
}

Status GreaterOrEqualKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kNumeric, BinaryResult::kBool>(ctx,
                                                             [](auto x, auto y) { return x >= y; });
}

Status AndKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kBool, BinaryResult::kBool>(
      ctx, [](auto x, auto y) { return x != 0 && y != 0; });
}

Status OrKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kBool, BinaryResult::kBool>(
      ctx, [](auto x, auto y) { return x != 0 || y != 0; });
}

Status XorKernel(KernelContext& ctx) {
  return RunBinary<TypeClass::kBool, BinaryResult::kBool>(
      ctx, [](auto x, auto y) { return (x != 0) != (y != 0); });
}

Status NotKernel(KernelContext& ctx) {
  return RunUnary<TypeClass::kBool>(ctx, [](auto x) { return x == 0 ? 1 : 0; });
}

// Element-wise predicate on a floating-point tensor, producing bool.
template <typename Pred>
Status RunFloatPredicate(KernelContext& ctx, Pred pred) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  const Tensor x = ToFloatTensor(*input);
  Tensor y(DataType::kBool, x.shape());
  uint8_t* dst = y.mutable_data<uint8_t>();
  const bool ok = DispatchFloat(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    for (int64_t i = 0, n = x.size(); i < n; ++i) dst[i] = pred(src[i]) ? 1 : 0;
  });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status IsNaNKernel(KernelContext& ctx) {
  return RunFloatPredicate(ctx, [](auto x) { return std::isnan(x); });
}

Status IsInfKernel(KernelContext& ctx) {
  const bool negative = ctx.node().GetInt("detect_negative", 1) != 0;
  const bool positive = ctx.node().GetInt("detect_positive", 1) != 0;
  return RunFloatPredicate(ctx, [negative, positive](auto x) {
    return std::isinf(x) && ((x > 0 && positive) || (x < 0 && negative));
  });
}

// Copies the chosen elements of X/Y; T is any type of the elements' width.
template <typename T>
void SelectWhere(const uint8_t* cond, const T* x, const T* y, T* out, const BroadcastPlan& plan) {
  ForEachBroadcastRun(plan, [&](int64_t o, const int64_t* off, const int64_t* step, int64_t n) {
    const uint8_t* c = cond + off[0];
    const T* px = x + off[1];
    const T* py = y + off[2];
    for (int64_t i = 0; i < n; ++i) {
      out[o + i] = c[i * step[0]] ? px[i * step[1]] : py[i * step[2]];
    }
  });
}

Status WhereKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* cond, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 1));
  ASSIGN_OR_RETURN(const Tensor* y, RequiredInput(ctx, 2));
  if (cond->dtype() != DataType::kBool) return ctx.Fail("condition must be bool");
  if (x->dtype() != y->dtype()) {
    return ctx.Fail("X and Y have different types " + std::string(DataTypeName(x->dtype())) +
                    " and " + std::string(DataTypeName(y->dtype())));
  }
  BroadcastPlan plan;
  if (!MakeBroadcastPlan({cond->shape(), x->shape(), y->shape()}, &plan)) {
    return ctx.Fail("shapes " + ShapesToString({cond->shape(), x->shape(), y->shape()}) +
                    " do not broadcast");
  }
  const uint8_t* c = cond->data<uint8_t>();
  Tensor out(x->dtype(), plan.out_shape);
  switch (ElementSize(x->dtype())) {
    case 1:
      SelectWhere(c, x->data<uint8_t>(), y->data<uint8_t>(), out.mutable_data<uint8_t>(), plan);
      break;
    case 2:
      SelectWhere(c, x->data<uint16_t>(), y->data<uint16_t>(), out.mutable_data<uint16_t>(), plan);
      break;
    case 4:
      SelectWhere(c, x->data<uint32_t>(), y->data<uint32_t>(), out.mutable_data<uint32_t>(), plan);
      break;
    case 8:
      SelectWhere(c, x->data<uint64_t>(), y->data<uint64_t>(), out.mutable_data<uint64_t>(), plan);
      break;
    default:
      if (x->dtype() != DataType::kString) return UnsupportedType(ctx, x->dtype());
      SelectWhere(c, x->strings().data(), y->strings().data(), out.mutable_strings().data(), plan);
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "Equal", 1, kLatestOpset, EqualKernel);
REGISTER_KERNEL("", "Less", 1, kLatestOpset, LessKernel);
REGISTER_KERNEL("", "LessOrEqual", 12, kLatestOpset, LessOrEqualKernel);
REGISTER_KERNEL("", "Greater", 1, kLatestOpset, GreaterKernel);
REGISTER_KERNEL("", "GreaterOrEqual", 12, kLatestOpset, GreaterOrEqualKernel);
REGISTER_KERNEL("", "And", 1, kLatestOpset, AndKernel);
REGISTER_KERNEL("", "Or", 1, kLatestOpset, OrKernel);
REGISTER_KERNEL("", "Xor", 1, kLatestOpset, XorKernel);
REGISTER_KERNEL("", "Not", 1, kLatestOpset, NotKernel);
REGISTER_KERNEL("", "Where", 9, kLatestOpset, WhereKernel);
REGISTER_KERNEL("", "IsNaN", 9, kLatestOpset, IsNaNKernel);
REGISTER_KERNEL("", "IsInf", 10, kLatestOpset, IsInfKernel);

}  // namespace graphopt::reference
