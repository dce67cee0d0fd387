// Helpers shared by the quantized kernel families (quantize.cc, contrib_quantized.cc): the
// integer ranges of quantized types, ONNX's round-half-to-even-then-saturate step, and the map
// from an element of x to its scale/zero-point entry (per tensor, per axis or blocked).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/reference/kernel.h"

namespace graphopt::reference {

// The saturation range of an integer quantized type.
struct QuantRange {
  int64_t lo = 0, hi = 0;
};

// uint8/int8/uint16/int16 (and int32, which DequantizeLinear accepts); false for any other type.
bool QuantRangeOf(DataType type, QuantRange* range);

// saturate(round_half_to_even(scaled) + zero_point), the quantization step of the ONNX spec
// (QuantizeLinear, DynamicQuantizeLinear) and of ONNX Runtime's requantizing kernels.
inline int64_t RoundAndSaturate(double scaled, int64_t zero_point, QuantRange r);

// Writes `values[i]` (already rounded and saturated) into an integer tensor of `type`.
void StoreQuantized(const std::vector<int64_t>& values, Tensor* out);

// DynamicQuantizeLinear's uint8 quantization of a float tensor: the range [min, max] widened to
// include 0, scale = (max - min) / 255 (1/255 for an all-zero range), zero point =
// saturate(round(-min / scale)). ONNX Runtime's DynamicQuantizeMatMul quantizes A the same way.
struct DynamicQuantized {
  Tensor q;  // uint8, x's shape
  float scale = 1.0f;
  uint8_t zero_point = 0;
};
DynamicQuantized DynamicQuantizeUint8(const float* x, const Shape& shape);

// Maps a flat element index of x to the flat index of its scale (and zero point): one entry for
// the whole tensor, one per index of `axis` (1-D parameter), or, with block_size > 0, one per
// block of `block_size` consecutive indices along `axis` (parameter of x's rank whose `axis` dim
// is ceil(D/block_size), the last block possibly shorter).
class QuantParamIndex {
 public:
  // Checks the parameter's shape against x's; fails with a message naming the mismatch.
  static Result<QuantParamIndex> Make(const KernelContext& ctx, const Shape& x, const Shape& param,
                                      int64_t axis, int64_t block_size);
  int64_t operator()(int64_t i) const {
    if (mode_ == kTensor) return 0;
    const int64_t c = (i / inner_) % dim_;
    if (mode_ == kAxis) return c;
    const int64_t outer = i / (inner_ * dim_);
    return (outer * param_dim_ + c / block_) * inner_ + i % inner_;
  }

 private:
  enum Mode { kTensor, kAxis, kBlocked };
  Mode mode_ = kTensor;
  int64_t inner_ = 1, dim_ = 1, block_ = 1, param_dim_ = 1;
};

inline int64_t RoundAndSaturate(double scaled, int64_t zero_point, QuantRange r) {
  const double v = std::nearbyint(scaled) + static_cast<double>(zero_point);
  if (!(v >= static_cast<double>(r.lo))) return std::isnan(v) ? zero_point : r.lo;
  if (v > static_cast<double>(r.hi)) return r.hi;
  return static_cast<int64_t>(v);
}

}  // namespace graphopt::reference
