// Straightforward loop implementations of 2-D convolution and transposed convolution, written
// independently of the kernels (no im2col, no BLAS) to serve as expected values in tests.
#pragma once

#include <cstdint>
#include <vector>

#include "optimizer/ir/tensor.h"

namespace graphopt::testing {

struct Conv2DParams {
  int64_t group = 1;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

// y[n, m, oh, ow] = b[m] + sum_{c in group, kh, kw} x[n, c, ih, iw] * w[m, c', kh, kw].
inline Tensor NaiveConv2D(const Tensor& x, const Tensor& w, const Tensor* b,
                          const Conv2DParams& p) {
  const int64_t n_ = x.shape()[0], c_ = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
  const int64_t m_ = w.shape()[0], cg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  const int64_t oh =
      (h + p.pad_top + p.pad_bottom - (p.dilation_h * (kh - 1) + 1)) / p.stride_h + 1;
  const int64_t ow =
      (wd + p.pad_left + p.pad_right - (p.dilation_w * (kw - 1) + 1)) / p.stride_w + 1;
  const int64_t mg = m_ / p.group;
  std::vector<float> y(static_cast<size_t>(n_ * m_ * oh * ow), 0.f);
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t m = 0; m < m_; ++m)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double acc = b ? b->data<float>()[m] : 0.0;
          const int64_t g = m / mg;
          for (int64_t c = 0; c < cg; ++c)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                const int64_t ih = i * p.stride_h - p.pad_top + a * p.dilation_h;
                const int64_t iw = j * p.stride_w - p.pad_left + e * p.dilation_w;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += static_cast<double>(xp[((n * c_ + g * cg + c) * h + ih) * wd + iw]) *
                       wp[((m * cg + c) * kh + a) * kw + e];
              }
          y[static_cast<size_t>(((n * m_ + m) * oh + i) * ow + j)] = static_cast<float>(acc);
        }
  return Tensor::FromVector<float>(DataType::kFloat, {n_, m_, oh, ow}, y);
}

// Transposed convolution by scattering each input pixel times the kernel (w: [C, M/group, kh, kw]),
// then cropping pads; `out_h`/`out_w` are the cropped output size.
inline Tensor NaiveConvTranspose2D(const Tensor& x, const Tensor& w, const Conv2DParams& p,
                                   int64_t out_h, int64_t out_w) {
  const int64_t n_ = x.shape()[0], c_ = x.shape()[1], h = x.shape()[2], wd = x.shape()[3];
  const int64_t mg = w.shape()[1], kh = w.shape()[2], kw = w.shape()[3];
  const int64_t m_ = mg * p.group, cg = c_ / p.group;
  std::vector<float> y(static_cast<size_t>(n_ * m_ * out_h * out_w), 0.f);
  const float* xp = x.data<float>();
  const float* wp = w.data<float>();
  for (int64_t n = 0; n < n_; ++n)
    for (int64_t c = 0; c < c_; ++c)
      for (int64_t i = 0; i < h; ++i)
        for (int64_t j = 0; j < wd; ++j)
          for (int64_t mm = 0; mm < mg; ++mm)
            for (int64_t a = 0; a < kh; ++a)
              for (int64_t e = 0; e < kw; ++e) {
                const int64_t oi = i * p.stride_h + a * p.dilation_h - p.pad_top;
                const int64_t oj = j * p.stride_w + e * p.dilation_w - p.pad_left;
                if (oi < 0 || oi >= out_h || oj < 0 || oj >= out_w) continue;
                const int64_t m = (c / cg) * mg + mm;
                y[static_cast<size_t>(((n * m_ + m) * out_h + oi) * out_w + oj)] +=
                    xp[((n * c_ + c) * h + i) * wd + j] * wp[((c * mg + mm) * kh + a) * kw + e];
              }
  return Tensor::FromVector<float>(DataType::kFloat, {n_, m_, out_h, out_w}, y);
}

}  // namespace graphopt::testing
