#include "optimizer/ir/nchwc_layout.h"

#include <algorithm>

namespace graphopt::ir {
namespace {

int64_t SpatialSize(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 2; i < s.size(); ++i) n *= s[i];
  return n;
}

// Offset of filter element (o, i, k) in a blocked filter with `inputs` input channels and
// `kernel` taps per channel.
int64_t FilterOffset(FilterLayout layout, int64_t block, int64_t inputs, int64_t kernel,
                     int64_t o, int64_t i, int64_t k) {
  const int64_t out_block = (o / block) * inputs * kernel * block;
  if (layout == FilterLayout::kOIHWBo) return out_block + (i * kernel + k) * block + o % block;
  return out_block + ((i / block) * kernel + k) * block * block + (i % block) * block + o % block;
}

}  // namespace

std::optional<NchwcConvForm> NchwcConvFormFor(int64_t in_per_group, int64_t out, int64_t group,
                                              int64_t block) {
  if (block <= 0) return std::nullopt;
  if (group > 1) {
    if (out % kNchwcChannelAlignment != 0) return std::nullopt;
    if (in_per_group == 1 && out == group) {  // depthwise
      return NchwcConvForm{FilterLayout::kOIHWBo, true, 1, AlignChannels(out, block)};
    }
    if (in_per_group % block != 0 || out % group != 0 || (out / group) % block != 0) {
      return std::nullopt;
    }
    return NchwcConvForm{FilterLayout::kOIHWBiBo, true, in_per_group, group};
  }
  if (in_per_group < block) return NchwcConvForm{FilterLayout::kOIHWBo, false, in_per_group, 1};
  if (in_per_group % kNchwcChannelAlignment != 0) return std::nullopt;
  return NchwcConvForm{FilterLayout::kOIHWBiBo, true, AlignChannels(in_per_group, block), 1};
}

Tensor PadFilterInputs(const Tensor& oihw, int64_t inputs) {
  const Shape& s = oihw.shape();
  if (s[1] == inputs) return oihw;
  const int64_t kernel = SpatialSize(s);
  Shape padded = s;
  padded[1] = inputs;
  Tensor out(DataType::kFloat, padded);
  const float* src = oihw.data<float>();
  float* dst = out.mutable_data<float>();
  for (int64_t o = 0; o < s[0]; ++o) {
    std::copy(src + o * s[1] * kernel, src + (o + 1) * s[1] * kernel, dst + o * inputs * kernel);
  }
  return out;
}

Tensor BlockActivations(const Tensor& nchw, int64_t block) {
  const Shape& s = nchw.shape();
  const int64_t n = s[0], c = s[1], plane = SpatialSize(s);
  const int64_t aligned = AlignChannels(c, block);
  Shape out_shape = s;
  out_shape[1] = aligned;
  Tensor out(DataType::kFloat, out_shape);  // zero-filled: the padded channels stay 0
  const float* x = nchw.data<float>();
  float* y = out.mutable_data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < c; ++ch) {
      const float* src = x + (b * c + ch) * plane;
      float* dst = y + b * aligned * plane + (ch / block) * plane * block + ch % block;
      for (int64_t p = 0; p < plane; ++p) dst[p * block] = src[p];
    }
  }
  return out;
}

Tensor UnblockActivations(const Tensor& blocked, int64_t channels, int64_t block) {
  const Shape& s = blocked.shape();
  const int64_t n = s[0], aligned = s[1], plane = SpatialSize(s);
  Shape out_shape = s;
  out_shape[1] = channels;
  Tensor out(DataType::kFloat, out_shape);
  const float* x = blocked.data<float>();
  float* y = out.mutable_data<float>();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      const float* src = x + b * aligned * plane + (ch / block) * plane * block + ch % block;
      float* dst = y + (b * channels + ch) * plane;
      for (int64_t p = 0; p < plane; ++p) dst[p] = src[p * block];
    }
  }
  return out;
}

Tensor ReorderFilter(const Tensor& oihw, FilterLayout layout, int64_t block) {
  const Shape& s = oihw.shape();
  const int64_t outs = s[0], ins = s[1], kernel = SpatialSize(s);
  Shape out_shape = s;
  out_shape[0] = AlignChannels(outs, block);
  Tensor out(DataType::kFloat, out_shape);
  const float* w = oihw.data<float>();
  float* d = out.mutable_data<float>();
  for (int64_t o = 0; o < outs; ++o)
    for (int64_t i = 0; i < ins; ++i)
      for (int64_t k = 0; k < kernel; ++k)
        d[FilterOffset(layout, block, ins, kernel, o, i, k)] = w[(o * ins + i) * kernel + k];
  return out;
}

Tensor UnreorderFilter(const Tensor& blocked, FilterLayout layout, int64_t block) {
  const Shape& s = blocked.shape();
  const int64_t outs = s[0], ins = s[1], kernel = SpatialSize(s);
  Tensor out(DataType::kFloat, s);
  const float* w = blocked.data<float>();
  float* d = out.mutable_data<float>();
  for (int64_t o = 0; o < outs; ++o)
    for (int64_t i = 0; i < ins; ++i)
      for (int64_t k = 0; k < kernel; ++k)
        d[(o * ins + i) * kernel + k] = w[FilterOffset(layout, block, ins, kernel, o, i, k)];
  return out;
}

}  // namespace graphopt::ir
