#include "backends/reference/kernels/quantize_util.h"

#include <algorithm>
#include <string>

#include "backends/reference/kernel_util.h"

namespace graphopt::reference {

bool QuantRangeOf(DataType type, QuantRange* range) {
  int64_t lo = 0, hi = 0;
  if (!QuantizedRange(type, &lo, &hi)) return false;
  *range = {lo, hi};
  return true;
}

void StoreQuantized(const std::vector<int64_t>& values, Tensor* out) {
  DispatchNumeric(out->dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = out->mutable_data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
}

DynamicQuantized DynamicQuantizeUint8(const float* x, const Shape& shape) {
  const int64_t n = NumElements(shape);
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  constexpr QuantRange kUint8{0, 255};
  DynamicQuantized r;
  r.scale = (hi == lo ? 1.0f : hi - lo) / 255.0f;
  const float initial_zero = 0.0f - lo / r.scale;
  r.zero_point = static_cast<uint8_t>(std::nearbyint(std::clamp(initial_zero, 0.0f, 255.0f)));
  r.q = Tensor(DataType::kUint8, shape);
  uint8_t* q = r.q.mutable_data<uint8_t>();
  for (int64_t i = 0; i < n; ++i) {
    q[i] = static_cast<uint8_t>(RoundAndSaturate(x[i] / r.scale, r.zero_point, kUint8));
  }
  return r;
}

Result<QuantParamIndex> QuantParamIndex::Make(const KernelContext& ctx, const Shape& x,
                                              const Shape& param, int64_t axis,
                                              int64_t block_size) {
  QuantParamIndex index;
  if (NumElements(param) == 1 && block_size <= 0) return index;  // per tensor
  const int64_t rank = static_cast<int64_t>(x.size());
  if (!NormalizeAxis(axis, rank) || rank == 0) {
    return ctx.Fail("axis " + std::to_string(axis) + " is out of range for x " + ShapeToString(x));
  }
  const auto a = static_cast<size_t>(axis);
  index.dim_ = x[a];
  index.inner_ = Strides(x)[a];
  if (block_size <= 0) {
    if (param.size() != 1 || param[0] != x[a]) {
      return ctx.Fail("a per-axis scale must be 1-D with " + std::to_string(x[a]) +
                      " values (axis " + std::to_string(axis) + " of x " + ShapeToString(x) +
                      "), got " + ShapeToString(param));
    }
    index.mode_ = kAxis;
    return index;
  }
  // Blocked: same rank, equal dims except along axis, where ceil(D / block_size) blocks.
  const int64_t blocks = (x[a] + block_size - 1) / block_size;
  bool fits = param.size() == x.size();
  for (size_t d = 0; fits && d < x.size(); ++d) fits = param[d] == (d == a ? blocks : x[d]);
  if (!fits) {
    return ctx.Fail("a blocked scale for x " + ShapeToString(x) + ", axis " + std::to_string(axis) +
                    " and block_size " + std::to_string(block_size) + " must have shape with " +
                    std::to_string(blocks) + " along the axis, got " + ShapeToString(param));
  }
  index.mode_ = kBlocked;
  index.block_ = block_size;
  index.param_dim_ = blocks;
  return index;
}

}  // namespace graphopt::reference
