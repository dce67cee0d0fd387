// Reductions of the default ONNX domain: the Reduce* family (axes as attribute in old opsets, as
// input in new ones), ArgMax/ArgMin, CumSum and TopK.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>

#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// Accumulators: double for floating types, 64-bit for integers (wrapping like T would).
template <typename T>
using AccumulatorOf =
    std::conditional_t<std::is_floating_point_v<T>, double,
                       std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <typename A>
A InitialValue(Reduce op) {
  switch (op) {
    case Reduce::kProd:
      return A{1};
    case Reduce::kMax:
      return std::is_floating_point_v<A> ? -std::numeric_limits<A>::infinity()
                                         : std::numeric_limits<A>::lowest();
    case Reduce::kMin:
      return std::is_floating_point_v<A> ? std::numeric_limits<A>::infinity()
                                         : std::numeric_limits<A>::max();
    default:
      return A{0};
  }
}

template <typename A>
A Combine(Reduce op, A acc, A v) {
  switch (op) {
    case Reduce::kProd:
      return acc * v;
    case Reduce::kMax:
      if constexpr (std::is_floating_point_v<A>) {
        if (std::isnan(v)) return v;
      }
      return v > acc ? v : acc;
    case Reduce::kMin:
      if constexpr (std::is_floating_point_v<A>) {
        if (std::isnan(v)) return v;
      }
      return v < acc ? v : acc;
    case Reduce::kL1:
      if constexpr (std::is_signed_v<A>) return acc + (v < 0 ? -v : v);
      return acc + v;
    case Reduce::kL2:
    case Reduce::kSumSquare:
      return acc + v * v;
    case Reduce::kLogSumExp:
      if constexpr (std::is_floating_point_v<A>) return acc + std::exp(v);
      return acc + static_cast<A>(std::exp(static_cast<double>(v)));
    default:
      return acc + v;
  }
}

template <typename A>
A Finish(Reduce op, A acc, int64_t count) {
  switch (op) {
    case Reduce::kMean:
      if constexpr (std::is_floating_point_v<A>) return acc / static_cast<A>(count);
      return count == 0 ? A{0} : static_cast<A>(acc / static_cast<A>(count));
    case Reduce::kL2:
      return static_cast<A>(std::sqrt(static_cast<double>(acc)));
    case Reduce::kLogSum:
    case Reduce::kLogSumExp:
      return static_cast<A>(std::log(static_cast<double>(acc)));
    default:
      return acc;
  }
}

// Which axes a reduction covers and the shapes around it.
struct ReductionShape {
  Shape keep_shape;   // input shape with reduced dims set to 1
  Shape out_shape;    // keep_shape, or without the reduced dims when keepdims=0
  int64_t count = 1;  // elements folded into each output
};

Result<ReductionShape> ResolveReduction(const KernelContext& ctx, const Shape& in,
                                        std::vector<int64_t> axes, bool keepdims) {
  const auto rank = static_cast<int64_t>(in.size());
  std::vector<bool> reduced(in.size(), axes.empty());
  for (int64_t axis : axes) {
    const int64_t original = axis;
    if (axis < -rank || axis >= rank) {
      return ctx.Fail("axis " + std::to_string(original) + " is out of range for rank " +
                      std::to_string(rank));
    }
    if (axis < 0) axis += rank;
    reduced[static_cast<size_t>(axis)] = true;
  }
  ReductionShape r;
  for (size_t i = 0; i < in.size(); ++i) {
    r.keep_shape.push_back(reduced[i] ? 1 : in[i]);
    if (reduced[i]) r.count *= in[i];
    if (!reduced[i] || keepdims) r.out_shape.push_back(reduced[i] ? 1 : in[i]);
  }
  return r;
}

// The op is a template parameter so Combine inlines into the loops.
template <typename T, Reduce kOp>
void ReduceTyped(const Tensor& x, const ReductionShape& rs, Tensor* out) {
  using A = AccumulatorOf<T>;
  const int64_t out_size = NumElements(rs.keep_shape);
  BroadcastPlan plan;
  MakeBroadcastPlanTo({rs.keep_shape}, x.shape(), &plan);
  const T* src = x.data<T>();
  // LogSumExp subtracts each output's maximum first so exp() cannot overflow.
  std::vector<A> shift(static_cast<size_t>(out_size), A{0});
  if constexpr (kOp == Reduce::kLogSumExp) {
    std::vector<A> max(static_cast<size_t>(out_size), InitialValue<A>(Reduce::kMax));
    ForEachBroadcastRun(plan, [&](int64_t o, const int64_t* off, const int64_t* step, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        A& m = max[static_cast<size_t>(off[0] + i * step[0])];
        m = Combine(Reduce::kMax, m, static_cast<A>(src[o + i]));
      }
    });
    for (size_t i = 0; i < max.size(); ++i) {
      if (std::isfinite(static_cast<double>(max[i]))) shift[i] = max[i];
    }
  }
  std::vector<A> acc(static_cast<size_t>(out_size), InitialValue<A>(kOp));
  ForEachBroadcastRun(plan, [&](int64_t o, const int64_t* off, const int64_t* step, int64_t n) {
    const T* p = src + o;
    if (step[0] == 0) {
      // The whole run folds into one output (reducing the innermost axes).
      const auto j = static_cast<size_t>(off[0]);
      A a = acc[j];
      const A s = shift[j];
      for (int64_t i = 0; i < n; ++i) a = Combine(kOp, a, static_cast<A>(p[i]) - s);
      acc[j] = a;
    } else {
      A* dst = acc.data() + off[0];
      const A* s = shift.data() + off[0];
      for (int64_t i = 0; i < n; ++i) dst[i] = Combine(kOp, dst[i], static_cast<A>(p[i]) - s[i]);
    }
  });
  T* dst = out->mutable_data<T>();
  for (size_t i = 0; i < acc.size(); ++i) {
    dst[i] = static_cast<T>(Finish(kOp, acc[i], rs.count) + shift[i]);
  }
}

template <typename T>
void ReduceDispatch(const Tensor& x, const ReductionShape& rs, Reduce op, Tensor* out) {
  switch (op) {
    case Reduce::kSum:
      return ReduceTyped<T, Reduce::kSum>(x, rs, out);
    case Reduce::kMean:
      return ReduceTyped<T, Reduce::kMean>(x, rs, out);
    case Reduce::kMax:
      return ReduceTyped<T, Reduce::kMax>(x, rs, out);
    case Reduce::kMin:
      return ReduceTyped<T, Reduce::kMin>(x, rs, out);
    case Reduce::kProd:
      return ReduceTyped<T, Reduce::kProd>(x, rs, out);
    case Reduce::kL1:
      return ReduceTyped<T, Reduce::kL1>(x, rs, out);
    case Reduce::kL2:
      return ReduceTyped<T, Reduce::kL2>(x, rs, out);
    case Reduce::kLogSum:
      return ReduceTyped<T, Reduce::kLogSum>(x, rs, out);
    case Reduce::kLogSumExp:
      return ReduceTyped<T, Reduce::kLogSumExp>(x, rs, out);
    case Reduce::kSumSquare:
      return ReduceTyped<T, Reduce::kSumSquare>(x, rs, out);
  }
}

// `axes_input`: whether this opset takes axes as input 1 (else as an attribute).
Status RunReduce(KernelContext& ctx, Reduce op, bool axes_input) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  const ir::Node& node = ctx.node();
  const bool keepdims = node.GetInt("keepdims", 1) != 0;
  std::vector<int64_t> axes = node.GetInts("axes");
  if (axes_input) {
    ASSIGN_OR_RETURN(axes, OptionalIntegerInput(ctx, 1));
  }
  if (axes.empty() && node.GetInt("noop_with_empty_axes", 0) != 0) {
    ctx.SetOutput(0, *input);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(ReductionShape rs, ResolveReduction(ctx, input->shape(), axes, keepdims));
  const Tensor x = ToFloatTensor(*input);
  Tensor out(x.dtype(), rs.keep_shape);
  const bool ok = DispatchTypeClass<TypeClass::kNumericOrBool>(
      x.dtype(), [&](auto tag) { ReduceDispatch<decltype(tag)>(x, rs, op, &out); });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, FromFloatTensor(out, input->dtype()).Reshaped(rs.out_shape));
  return Status::Ok();
}

// One pair of kernels per Reduce op: axes as attribute before `input_since`, as input after.
template <Reduce kOp>
Status ReduceAttrKernel(KernelContext& ctx) {
  return RunReduce(ctx, kOp, false);
}
template <Reduce kOp>
Status ReduceInputKernel(KernelContext& ctx) {
  return RunReduce(ctx, kOp, true);
}

// ---- ArgMax / ArgMin ----

// X viewed as [outer, len, inner] around one axis.
struct AxisView {
  int64_t outer = 1, len = 1, inner = 1;
};

Result<AxisView> ViewAroundAxis(const KernelContext& ctx, const Shape& shape, int64_t& axis) {
  const auto rank = static_cast<int64_t>(shape.size());
  const int64_t original = axis;
  if (rank == 0 || axis < -rank || axis >= rank) {
    return ctx.Fail("axis " + std::to_string(original) + " is out of range for rank " +
                    std::to_string(rank));
  }
  if (axis < 0) axis += rank;
  AxisView v;
  for (int64_t d = 0; d < rank; ++d) {
    const int64_t dim = shape[static_cast<size_t>(d)];
    if (d < axis)
      v.outer *= dim;
    else if (d == axis)
      v.len = dim;
    else
      v.inner *= dim;
  }
  return v;
}

Status RunArgExtreme(KernelContext& ctx, bool want_max) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  int64_t axis = ctx.node().GetInt("axis", 0);
  const bool keepdims = ctx.node().GetInt("keepdims", 1) != 0;
  const bool last = ctx.node().GetInt("select_last_index", 0) != 0;
  ASSIGN_OR_RETURN(AxisView v, ViewAroundAxis(ctx, input->shape(), axis));
  if (v.len == 0) return ctx.Fail("cannot take an arg-extreme over an empty axis");
  Shape out_shape = input->shape();
  if (keepdims) {
    out_shape[static_cast<size_t>(axis)] = 1;
  } else {
    out_shape.erase(out_shape.begin() + axis);
  }
  const Tensor x = ToFloatTensor(*input);
  Tensor out(DataType::kInt64, out_shape);
  int64_t* dst = out.mutable_data<int64_t>();
  const bool ok = DispatchTypeClass<TypeClass::kNumericOrBool>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* p = src + o * v.len * v.inner + i;
        int64_t best = 0;
        for (int64_t j = 1; j < v.len; ++j) {
          const T cur = p[j * v.inner];
          const T b = p[best * v.inner];
          const bool better = want_max ? (last ? cur >= b : cur > b) : (last ? cur <= b : cur < b);
          if (better) best = j;
        }
        dst[o * v.inner + i] = best;
      }
    }
  });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status ArgMaxKernel(KernelContext& ctx) { return RunArgExtreme(ctx, true); }
Status ArgMinKernel(KernelContext& ctx) { return RunArgExtreme(ctx, false); }

// ---- CumSum ----

Status CumSumKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* axis_tensor, RequiredInput(ctx, 1));
  if (axis_tensor->size() != 1 || !IsInteger(axis_tensor->dtype())) {
    return ctx.Fail("axis must be an integer scalar");
  }
  int64_t axis = axis_tensor->GetInt64(0);
  const bool exclusive = ctx.node().GetInt("exclusive", 0) != 0;
  const bool reverse = ctx.node().GetInt("reverse", 0) != 0;
  ASSIGN_OR_RETURN(AxisView v, ViewAroundAxis(ctx, input->shape(), axis));
  const Tensor x = ToFloatTensor(*input);
  Tensor out(x.dtype(), x.shape());
  const bool ok = DispatchTypeClass<TypeClass::kNumeric>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using A = AccumulatorOf<T>;
    const T* src = x.data<T>();
    T* dst = out.mutable_data<T>();
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const int64_t base = o * v.len * v.inner + i;
        A sum = 0;
        for (int64_t k = 0; k < v.len; ++k) {
          const int64_t j = reverse ? v.len - 1 - k : k;
          const int64_t at = base + j * v.inner;
          if (exclusive) {
            dst[at] = static_cast<T>(sum);
            sum += static_cast<A>(src[at]);
          } else {
            sum += static_cast<A>(src[at]);
            dst[at] = static_cast<T>(sum);
          }
        }
      }
    }
  });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, FromFloatTensor(out, input->dtype()));
  return Status::Ok();
}

// ---- TopK ----

Status TopKKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  int64_t k = 0;
  if (ctx.opset() < 10) {
    if (!ctx.node().HasAttr("k")) return ctx.Fail("attribute k is missing");
    k = ctx.node().GetInt("k", 0);
  } else {
    ASSIGN_OR_RETURN(const Tensor* k_tensor, RequiredInput(ctx, 1));
    if (k_tensor->size() != 1 || !IsInteger(k_tensor->dtype())) {
      return ctx.Fail("K must be a single integer");
    }
    k = k_tensor->GetInt64(0);
  }
  int64_t axis = ctx.node().GetInt("axis", -1);
  const bool largest = ctx.node().GetInt("largest", 1) != 0;
  ASSIGN_OR_RETURN(AxisView v, ViewAroundAxis(ctx, input->shape(), axis));
  if (k < 0 || k > v.len) {
    return ctx.Fail("K=" + std::to_string(k) + " is outside [0, " + std::to_string(v.len) + "]");
  }
  Shape out_shape = input->shape();
  out_shape[static_cast<size_t>(axis)] = k;
  const Tensor x = ToFloatTensor(*input);
  Tensor values(x.dtype(), out_shape);
  Tensor indices(DataType::kInt64, out_shape);
  int64_t* idx_out = indices.mutable_data<int64_t>();
  const bool ok = DispatchTypeClass<TypeClass::kNumeric>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    T* val_out = values.mutable_data<T>();
    std::vector<int64_t> order(static_cast<size_t>(v.len));
    for (int64_t o = 0; o < v.outer; ++o) {
      for (int64_t i = 0; i < v.inner; ++i) {
        const T* p = src + o * v.len * v.inner + i;
        std::iota(order.begin(), order.end(), 0);
        // Equal values keep ascending index order, as the spec requires.
        auto before = [&](int64_t a, int64_t b) {
          const T va = p[a * v.inner], vb = p[b * v.inner];
          if (va != vb) return largest ? va > vb : va < vb;
          return a < b;
        };
        std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        for (int64_t j = 0; j < k; ++j) {
          const int64_t at = o * k * v.inner + j * v.inner + i;
          idx_out[at] = order[static_cast<size_t>(j)];
          val_out[at] = p[order[static_cast<size_t>(j)] * v.inner];
        }
      }
    }
  });
  if (!ok) return UnsupportedType(ctx, input->dtype());
  ctx.SetOutput(0, FromFloatTensor(values, input->dtype()));
  if (ctx.num_outputs() > 1) ctx.SetOutput(1, std::move(indices));
  return Status::Ok();
}

}  // namespace

// ReduceSum takes axes as an input from opset 13, the other reductions from opset 18.
REGISTER_KERNEL("", "ReduceSum", 1, 12, ReduceAttrKernel<Reduce::kSum>);
REGISTER_KERNEL("", "ReduceSum", 13, kLatestOpset, ReduceInputKernel<Reduce::kSum>);
REGISTER_KERNEL("", "ReduceMean", 1, 17, ReduceAttrKernel<Reduce::kMean>);
REGISTER_KERNEL("", "ReduceMean", 18, kLatestOpset, ReduceInputKernel<Reduce::kMean>);
REGISTER_KERNEL("", "ReduceMax", 1, 17, ReduceAttrKernel<Reduce::kMax>);
REGISTER_KERNEL("", "ReduceMax", 18, kLatestOpset, ReduceInputKernel<Reduce::kMax>);
REGISTER_KERNEL("", "ReduceMin", 1, 17, ReduceAttrKernel<Reduce::kMin>);
REGISTER_KERNEL("", "ReduceMin", 18, kLatestOpset, ReduceInputKernel<Reduce::kMin>);
REGISTER_KERNEL("", "ReduceProd", 1, 17, ReduceAttrKernel<Reduce::kProd>);
REGISTER_KERNEL("", "ReduceProd", 18, kLatestOpset, ReduceInputKernel<Reduce::kProd>);
REGISTER_KERNEL("", "ReduceL1", 1, 17, ReduceAttrKernel<Reduce::kL1>);
REGISTER_KERNEL("", "ReduceL1", 18, kLatestOpset, ReduceInputKernel<Reduce::kL1>);
REGISTER_KERNEL("", "ReduceL2", 1, 17, ReduceAttrKernel<Reduce::kL2>);
REGISTER_KERNEL("", "ReduceL2", 18, kLatestOpset, ReduceInputKernel<Reduce::kL2>);
REGISTER_KERNEL("", "ReduceLogSum", 1, 17, ReduceAttrKernel<Reduce::kLogSum>);
REGISTER_KERNEL("", "ReduceLogSum", 18, kLatestOpset, ReduceInputKernel<Reduce::kLogSum>);
REGISTER_KERNEL("", "ReduceLogSumExp", 1, 17, ReduceAttrKernel<Reduce::kLogSumExp>);
REGISTER_KERNEL("", "ReduceLogSumExp", 18, kLatestOpset, ReduceInputKernel<Reduce::kLogSumExp>);
REGISTER_KERNEL("", "ReduceSumSquare", 1, 17, ReduceAttrKernel<Reduce::kSumSquare>);
REGISTER_KERNEL("", "ReduceSumSquare", 18, kLatestOpset, ReduceInputKernel<Reduce::kSumSquare>);
REGISTER_KERNEL("", "ArgMax", 1, kLatestOpset, ArgMaxKernel);
REGISTER_KERNEL("", "ArgMin", 1, kLatestOpset, ArgMinKernel);
REGISTER_KERNEL("", "CumSum", 11, kLatestOpset, CumSumKernel);
REGISTER_KERNEL("", "TopK", 1, kLatestOpset, TopKKernel);

}  // namespace graphopt::reference
