// Conv, ConvTranspose, ConvInteger and QLinearConv: im2col + BLAS GEMM per group, a direct loop
// for depthwise convolutions (one input channel per group), col2im for the transposed form.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/blas_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset
#include "backends/reference/kernels/float_compute.h"
#include "backends/reference/kernels/quantize_util.h"
#include "backends/reference/kernels/spatial_util.h"

namespace graphopt::reference {
namespace {

// A per-thread scratch area for im2col/col2im columns, reused across calls so each Conv does not
// pay for allocating, zero-filling and page-faulting megabytes; very large requests get a
// temporary buffer instead of being retained.
template <typename T>
class ColumnBuffer {
 public:
  explicit ColumnBuffer(size_t n) {
    constexpr size_t kRetainLimit = size_t{16} << 20;  // elements kept per thread at most
    thread_local std::vector<T> cached;
    if (n > kRetainLimit) {
      owned_.resize(n);
      data_ = owned_.data();
      return;
    }
    if (cached.size() < n) cached.resize(n);
    data_ = cached.data();
  }
  T* data() { return data_; }

 private:
  std::vector<T> owned_;
  T* data_ = nullptr;
};

// Unfolds the input of `channels` channels into rows (c, kz, ky, kx) x columns (oz, oy, ox).
template <typename T>
void Im2Col(const T* x, int64_t channels, const Geometry3D& g, T* col) {
  const int64_t out_size = g.OutputSize();
  const int64_t in_size = g.InputSize();
  T* row = col;
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * in_size;
    for (int64_t kz = 0; kz < g.kernel[0]; ++kz) {
      const int64_t off_z = kz * g.dilation[0] - g.pad[0];
      int64_t z0, z1;
      ValidOutputRange(g.out[0], g.stride[0], off_z, g.in[0], &z0, &z1);
      for (int64_t ky = 0; ky < g.kernel[1]; ++ky) {
        const int64_t off_y = ky * g.dilation[1] - g.pad[1];
        int64_t y0, y1;
        ValidOutputRange(g.out[1], g.stride[1], off_y, g.in[1], &y0, &y1);
        for (int64_t kx = 0; kx < g.kernel[2]; ++kx, row += out_size) {
          const int64_t off_x = kx * g.dilation[2] - g.pad[2];
          int64_t x0, x1;
          ValidOutputRange(g.out[2], g.stride[2], off_x, g.in[2], &x0, &x1);
          const bool full =
              z0 == 0 && z1 == g.out[0] && y0 == 0 && y1 == g.out[1] && x0 == 0 && x1 == g.out[2];
          if (!full) std::fill(row, row + out_size, T(0));
          for (int64_t oz = z0; oz < z1; ++oz) {
            const int64_t iz = oz * g.stride[0] + off_z;
            for (int64_t oy = y0; oy < y1; ++oy) {
              const int64_t iy = oy * g.stride[1] + off_y;
              const T* src = xc + (iz * g.in[1] + iy) * g.in[2];
              T* dst = row + (oz * g.out[1] + oy) * g.out[2];
              if (g.stride[2] == 1) {
                std::memcpy(dst + x0, src + x0 + off_x, sizeof(T) * static_cast<size_t>(x1 - x0));
              } else {
                for (int64_t ox = x0; ox < x1; ++ox) dst[ox] = src[ox * g.stride[2] + off_x];
              }
            }
          }
        }
      }
    }
  }
}

// The adjoint of Im2Col: adds each column entry back into the image it came from.
template <typename T>
void Col2Im(const T* col, int64_t channels, const Geometry3D& g, T* x) {
  const int64_t out_size = g.OutputSize();
  const int64_t in_size = g.InputSize();
  const T* row = col;
  for (int64_t c = 0; c < channels; ++c) {
    T* xc = x + c * in_size;
    for (int64_t kz = 0; kz < g.kernel[0]; ++kz) {
      const int64_t off_z = kz * g.dilation[0] - g.pad[0];
      int64_t z0, z1;
      ValidOutputRange(g.out[0], g.stride[0], off_z, g.in[0], &z0, &z1);
      for (int64_t ky = 0; ky < g.kernel[1]; ++ky) {
        const int64_t off_y = ky * g.dilation[1] - g.pad[1];
        int64_t y0, y1;
        ValidOutputRange(g.out[1], g.stride[1], off_y, g.in[1], &y0, &y1);
        for (int64_t kx = 0; kx < g.kernel[2]; ++kx, row += out_size) {
          const int64_t off_x = kx * g.dilation[2] - g.pad[2];
          int64_t x0, x1;
          ValidOutputRange(g.out[2], g.stride[2], off_x, g.in[2], &x0, &x1);
          for (int64_t oz = z0; oz < z1; ++oz) {
            const int64_t iz = oz * g.stride[0] + off_z;
            for (int64_t oy = y0; oy < y1; ++oy) {
              const int64_t iy = oy * g.stride[1] + off_y;
              T* dst = xc + (iz * g.in[1] + iy) * g.in[2];
              const T* src = row + (oz * g.out[1] + oy) * g.out[2];
              for (int64_t ox = x0; ox < x1; ++ox) dst[ox * g.stride[2] + off_x] += src[ox];
            }
          }
        }
      }
    }
  }
}

// dst[i] += w * src[i * stride] over n elements; restrict lets the compiler vectorize.
template <typename T>
void ScaledAccumulate(T* __restrict dst, const T* __restrict src, T w, int64_t n, int64_t stride) {
  if (stride == 1) {
    for (int64_t i = 0; i < n; ++i) dst[i] += w * src[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] += w * src[i * stride];
  }
}

// Depthwise convolution (one input channel per group, `multiplier` outputs per group) as a
// direct loop: kernel taps outermost so the innermost loop runs along a contiguous output row.
template <typename T>
void DepthwiseConv(const T* x, const T* w, int64_t batch, int64_t channels, int64_t multiplier,
                   const Geometry3D& g, T* y) {
  const int64_t in_size = g.InputSize();
  const int64_t out_size = g.OutputSize();
  const int64_t ksize = g.KernelSize();
  const int64_t out_channels = channels * multiplier;
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t m = 0; m < out_channels; ++m) {
      const T* xc = x + (n * channels + m / multiplier) * in_size;
      const T* wm = w + m * ksize;
      T* ym = y + (n * out_channels + m) * out_size;
      for (int64_t kz = 0; kz < g.kernel[0]; ++kz) {
        const int64_t off_z = kz * g.dilation[0] - g.pad[0];
        int64_t z0, z1;
        ValidOutputRange(g.out[0], g.stride[0], off_z, g.in[0], &z0, &z1);
        for (int64_t ky = 0; ky < g.kernel[1]; ++ky) {
          const int64_t off_y = ky * g.dilation[1] - g.pad[1];
          int64_t y0, y1;
          ValidOutputRange(g.out[1], g.stride[1], off_y, g.in[1], &y0, &y1);
          for (int64_t kx = 0; kx < g.kernel[2]; ++kx) {
            const T wv = wm[(kz * g.kernel[1] + ky) * g.kernel[2] + kx];
            if (wv == T(0)) continue;
            const int64_t off_x = kx * g.dilation[2] - g.pad[2];
            int64_t x0, x1;
            ValidOutputRange(g.out[2], g.stride[2], off_x, g.in[2], &x0, &x1);
            const int64_t sx = g.stride[2];
            for (int64_t oz = z0; oz < z1; ++oz) {
              const int64_t iz = oz * g.stride[0] + off_z;
              for (int64_t oy = y0; oy < y1; ++oy) {
                const int64_t iy = oy * g.stride[1] + off_y;
                const T* src = xc + (iz * g.in[1] + iy) * g.in[2];
                T* dst = ym + (oz * g.out[1] + oy) * g.out[2];
                if (x1 > x0) ScaledAccumulate(dst + x0, src + x0 * sx + off_x, wv, x1 - x0, sx);
              }
            }
          }
        }
      }
    }
  }
}

// Adds bias[m] to every element of output channel m.
template <typename T>
void AddChannelBias(const T* bias, int64_t batch, int64_t channels, int64_t plane, T* y) {
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t m = 0; m < channels; ++m) {
      T* p = y + (n * channels + m) * plane;
      const T b = bias[m];
      for (int64_t i = 0; i < plane; ++i) p[i] += b;
    }
  }
}

std::vector<int64_t> SpatialDims(const Shape& s) { return {s.begin() + 2, s.end()}; }

// Checks `kernel_shape` (when given) against the weight's spatial dims.
Status CheckKernelShape(const KernelContext& ctx, const std::vector<int64_t>& weight_spatial) {
  const std::vector<int64_t> ks = ctx.node().GetInts("kernel_shape");
  if (!ks.empty() && ks != weight_spatial) {
    return ctx.Fail("kernel_shape attribute " + ShapeToString(ks) + " does not match weight dims " +
                    ShapeToString(weight_spatial));
  }
  return Status::Ok();
}

// The convolution of x [N, C, ...] with w [M, C/group, ...] plus optional bias [M], computed in T.
template <typename T>
Result<Tensor> ConvForward(const KernelContext& ctx, const Tensor& x, const Tensor& w,
                           const Tensor* bias) {
  if (x.rank() < 3)
    return ctx.Fail("input must be [N, C, D1, ...], got " + ShapeToString(x.shape()));
  if (w.rank() != x.rank()) {
    return ctx.Fail("weight rank " + std::to_string(w.rank()) + " differs from input rank " +
                    std::to_string(x.rank()));
  }
  const int64_t group = ctx.node().GetInt("group", 1);
  const int64_t batch = x.shape()[0], channels = x.shape()[1];
  const int64_t out_channels = w.shape()[0], group_channels = w.shape()[1];
  if (group <= 0 || channels != group_channels * group || out_channels % group != 0) {
    return ctx.Fail("input " + ShapeToString(x.shape()) + " and weight " +
                    ShapeToString(w.shape()) + " do not fit group=" + std::to_string(group));
  }
  if (bias && bias->size() != out_channels) {
    return ctx.Fail("bias has " + std::to_string(bias->size()) + " values for " +
                    std::to_string(out_channels) + " output channels");
  }
  Status st = CheckKernelShape(ctx, SpatialDims(w.shape()));
  if (!st.ok()) return st;
  SpatialGeometry geo;
  st = ComputeSpatialGeometry(ctx, SpatialDims(x.shape()), SpatialDims(w.shape()), false, &geo);
  if (!st.ok()) return st;
  Geometry3D g;
  if (!ToGeometry3D(geo, &g)) return ctx.Unsupported("more than 3 spatial dims");

  Shape y_shape = {batch, out_channels};
  y_shape.insert(y_shape.end(), geo.output.begin(), geo.output.end());
  Tensor y(FloatTypeOf<T>(), y_shape);
  T* yp = y.mutable_data<T>();
  const T* xp = x.data<T>();
  const T* wp = w.data<T>();
  const int64_t in_size = g.InputSize(), out_size = g.OutputSize(), ksize = g.KernelSize();
  const int64_t out_per_group = out_channels / group;

  if (group_channels == 1 && group > 1) {
    DepthwiseConv(xp, wp, batch, channels, out_per_group, g, yp);
  } else {
    const bool pointwise = ksize == 1 && in_size == out_size && g.pad[0] == 0 && g.pad[1] == 0 &&
                           g.pad[2] == 0 && g.stride[0] == 1 && g.stride[1] == 1 &&
                           g.stride[2] == 1;
    ColumnBuffer<T> col(pointwise ? 0 : static_cast<size_t>(group_channels * ksize * out_size));
    const int64_t k = group_channels * ksize;
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t gi = 0; gi < group; ++gi) {
        const T* xg = xp + (n * channels + gi * group_channels) * in_size;
        const T* cols = xg;
        if (!pointwise) {
          Im2Col(xg, group_channels, g, col.data());
          cols = col.data();
        }
        T* yg = yp + (n * out_channels + gi * out_per_group) * out_size;
        Gemm(false, false, out_per_group, out_size, k, T(1), wp + gi * out_per_group * k, k, cols,
             out_size, T(0), yg, out_size);
      }
    }
  }
  if (bias) AddChannelBias(bias->data<T>(), batch, out_channels, out_size, yp);
  return y;
}

Status ConvKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    if (!in[1]) return ctx.Fail("weight input is missing");
    if (in[1]->dtype() != in[0]->dtype() || (in[2] && in[2]->dtype() != in[0]->dtype())) {
      return ctx.Fail("input, weight and bias must share one element type");
    }
    Result<Tensor> y = ConvForward<T>(ctx, *in[0], *in[1], in[2]);
    if (!y.ok()) return y.status();
    ctx.SetOutput(0, std::move(y.value()));
    return Status::Ok();
  });
}

// Output size and pads of ConvTranspose from output_shape, auto_pad or explicit pads.
Status ConvTransposeGeometry(const KernelContext& ctx, const Shape& x_shape,
                             const std::vector<int64_t>& kernel, SpatialGeometry* geo) {
  const std::vector<int64_t> in = SpatialDims(x_shape);
  Status st = ReadWindowAttributes(ctx, in, kernel, geo);
  if (!st.ok()) return st;
  const size_t rank = in.size();
  std::vector<int64_t> output_padding = ctx.node().GetInts("output_padding");
  if (output_padding.empty()) output_padding.assign(rank, 0);
  if (output_padding.size() != rank) return ctx.Fail("output_padding has wrong length");
  std::vector<int64_t> output_shape = ctx.node().GetInts("output_shape");
  if (output_shape.size() == rank + 2)
    output_shape.erase(output_shape.begin(), output_shape.begin() + 2);
  if (!output_shape.empty() && output_shape.size() != rank) {
    return ctx.Fail("output_shape has wrong length");
  }
  const std::string auto_pad = AutoPad(ctx);
  geo->output.assign(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t s = geo->strides[i];
    const int64_t extent = (kernel[i] - 1) * geo->dilations[i] + 1;
    const int64_t full = s * (in[i] - 1) + output_padding[i] + extent;
    if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      const int64_t out = output_shape.empty() ? in[i] * s : output_shape[i];
      const int64_t total = full - out;
      // Floor division, so a negative total (output larger than the full result) also splits.
      const int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      // Extra padding goes at the end for SAME_UPPER, at the beginning for SAME_LOWER.
      geo->pad_begin[i] = auto_pad == "SAME_UPPER" ? half : total - half;
      geo->pad_end[i] = total - geo->pad_begin[i];
      geo->output[i] = out;
    } else {
      if (auto_pad == "VALID") geo->pad_begin[i] = geo->pad_end[i] = 0;
      // An explicit output_shape keeps the begin pads and crops or zero-extends at the end.
      geo->output[i] =
          output_shape.empty() ? full - geo->pad_begin[i] - geo->pad_end[i] : output_shape[i];
      geo->pad_end[i] = full - geo->pad_begin[i] - geo->output[i];
    }
    if (geo->output[i] <= 0) return ctx.Fail("output spatial size would be non-positive");
  }
  return Status::Ok();
}

Status ConvTransposeKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor* x = in[0];
    const Tensor* w = in[1];
    const Tensor* bias = in[2];
    if (!w) return ctx.Fail("weight input is missing");
    if (x->rank() < 3 || w->rank() != x->rank()) {
      return ctx.Fail("input " + ShapeToString(x->shape()) + " and weight " +
                      ShapeToString(w->shape()) + " ranks do not fit");
    }
    const int64_t group = ctx.node().GetInt("group", 1);
    const int64_t batch = x->shape()[0], channels = x->shape()[1];
    if (group <= 0 || w->shape()[0] != channels || channels % group != 0) {
      return ctx.Fail("weight " + ShapeToString(w->shape()) + " does not fit input " +
                      ShapeToString(x->shape()) + " with group=" + std::to_string(group));
    }
    const int64_t out_per_group = w->shape()[1];
    const int64_t out_channels = out_per_group * group;
    const int64_t in_per_group = channels / group;
    if (bias && bias->size() != out_channels) return ctx.Fail("bias size does not match outputs");
    Status st = CheckKernelShape(ctx, SpatialDims(w->shape()));
    if (!st.ok()) return st;
    SpatialGeometry geo;
    st = ConvTransposeGeometry(ctx, x->shape(), SpatialDims(w->shape()), &geo);
    if (!st.ok()) return st;
    // Transposed convolution scatters like the adjoint of a convolution whose input is our
    // output and whose output is our input.
    SpatialGeometry adjoint = geo;
    adjoint.input = geo.output;
    adjoint.output = geo.input;
    Geometry3D g;
    if (!ToGeometry3D(adjoint, &g)) return ctx.Unsupported("more than 3 spatial dims");

    Shape y_shape = {batch, out_channels};
    y_shape.insert(y_shape.end(), geo.output.begin(), geo.output.end());
    Tensor y(FloatTypeOf<T>(), y_shape);
    T* yp = y.mutable_data<T>();
    const T* xp = x->data<T>();
    const T* wp = w->data<T>();
    const int64_t x_size = g.OutputSize(), y_size = g.InputSize(), ksize = g.KernelSize();
    const int64_t rows = out_per_group * ksize;
    ColumnBuffer<T> col(static_cast<size_t>(rows * x_size));
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t gi = 0; gi < group; ++gi) {
        const T* xg = xp + (n * channels + gi * in_per_group) * x_size;
        Gemm(true, false, rows, x_size, in_per_group, T(1), wp + gi * in_per_group * rows, rows, xg,
             x_size, T(0), col.data(), x_size);
        Col2Im(col.data(), out_per_group, g, yp + (n * out_channels + gi * out_per_group) * y_size);
      }
    }
    if (bias) AddChannelBias(bias->data<T>(), batch, out_channels, y_size, yp);
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// Col2Im (opset 18): the standalone adjoint of im2col. Input [N, C * prod(block), L] holds one
// column per block position; overlapping contributions add up in the [N, C, image...] output.
Status Col2ImKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    if (!in[1] || !in[2]) return ctx.Fail("image_shape and block_shape are required");
    const Tensor& cols = *in[0];
    const std::vector<int64_t> image = in[1]->ToInt64Vector();
    const std::vector<int64_t> block = in[2]->ToInt64Vector();
    if (cols.rank() != 3) return ctx.Fail("input must be [N, C*prod(block_shape), L]");
    if (image.size() != block.size() || image.empty()) {
      return ctx.Fail("image_shape and block_shape must have the same non-zero length");
    }
    for (int64_t d : image) {
      if (d <= 0) return ctx.Fail("image_shape must be positive");
    }
    SpatialGeometry geo;
    Status st = ComputeSpatialGeometry(ctx, image, block, false, &geo);
    if (!st.ok()) return st;
    Geometry3D g;
    if (!ToGeometry3D(geo, &g)) return ctx.Unsupported("more than 3 spatial dims");
    const int64_t ksize = g.KernelSize();
    if (cols.shape()[1] % ksize != 0 || cols.shape()[2] != g.OutputSize()) {
      return ctx.Fail("input " + ShapeToString(cols.shape()) + " does not fit " +
                      std::to_string(g.OutputSize()) + " blocks of " + std::to_string(ksize));
    }
    const int64_t batch = cols.shape()[0], channels = cols.shape()[1] / ksize;
    Shape y_shape = {batch, channels};
    y_shape.insert(y_shape.end(), image.begin(), image.end());
    Tensor y(FloatTypeOf<T>(), y_shape);
    T* yp = y.mutable_data<T>();
    for (int64_t n = 0; n < batch; ++n) {
      Col2Im(cols.data<T>() + n * cols.shape()[1] * cols.shape()[2], channels, g,
             yp + n * channels * g.InputSize());
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// `t` minus its zero point as doubles; the zero point is a scalar or one value per index of
// `axis` (per output channel for weights).
Result<Tensor> ShiftedToDouble(const KernelContext& ctx, const Tensor& t, const Tensor* zero_point,
                               int64_t axis) {
  Tensor out = t.CastTo(DataType::kDouble);
  if (!zero_point || zero_point->size() == 0) return out;
  double* p = out.mutable_data<double>();
  const int64_t n = out.size();
  if (zero_point->size() == 1) {
    const double z = zero_point->GetDouble(0);
    for (int64_t i = 0; i < n; ++i) p[i] -= z;
    return out;
  }
  if (t.rank() <= axis || zero_point->size() != t.shape()[static_cast<size_t>(axis)]) {
    return ctx.Fail("zero point of shape " + ShapeToString(zero_point->shape()) +
                    " does not fit tensor " + ShapeToString(t.shape()));
  }
  const int64_t inner = Strides(t.shape())[static_cast<size_t>(axis)];
  const int64_t dim = t.shape()[static_cast<size_t>(axis)];
  for (int64_t i = 0; i < n; ++i) p[i] -= zero_point->GetDouble((i / inner) % dim);
  return out;
}

Status ConvIntegerKernel(KernelContext& ctx) {
  if (!ctx.input(0) || !ctx.input(1)) return ctx.Fail("inputs x and w are required");
  Result<Tensor> x = ShiftedToDouble(ctx, *ctx.input(0), ctx.input(2), 1);
  if (!x.ok()) return x.status();
  Result<Tensor> w = ShiftedToDouble(ctx, *ctx.input(1), ctx.input(3), 0);
  if (!w.ok()) return w.status();
  Result<Tensor> y = ConvForward<double>(ctx, x.value(), w.value(), nullptr);
  if (!y.ok()) return y.status();
  ctx.SetOutput(0, y.value().CastTo(DataType::kInt32));
  return Status::Ok();
}

Status QLinearConvKernel(KernelContext& ctx) {
  for (size_t i = 0; i < 8; ++i) {
    if (!ctx.input(i)) return ctx.Fail("input " + std::to_string(i) + " is required");
  }
  Result<Tensor> x = ShiftedToDouble(ctx, *ctx.input(0), ctx.input(2), 1);
  if (!x.ok()) return x.status();
  Result<Tensor> w = ShiftedToDouble(ctx, *ctx.input(3), ctx.input(5), 0);
  if (!w.ok()) return w.status();
  const Tensor* b = ctx.input(8);
  Tensor bias_double;
  if (b) bias_double = b->CastTo(DataType::kDouble);
  Result<Tensor> acc = ConvForward<double>(ctx, x.value(), w.value(), b ? &bias_double : nullptr);
  if (!acc.ok()) return acc.status();
  const Tensor& y_zero = *ctx.input(7);
  const double x_scale = ToFloatTensor(*ctx.input(1)).GetDouble(0);
  const Tensor w_scale = ToFloatTensor(*ctx.input(4));
  const double y_scale = ToFloatTensor(*ctx.input(6)).GetDouble(0);
  const int64_t zero = y_zero.GetInt64(0);
  QuantRange range;
  if (y_zero.dtype() != DataType::kUint8 && y_zero.dtype() != DataType::kInt8) {
    return ctx.Unsupported("output type " + std::string(DataTypeName(y_zero.dtype())));
  }
  QuantRangeOf(y_zero.dtype(), &range);
  std::vector<int64_t> q(static_cast<size_t>(acc.value().size()));
  const Tensor& a = acc.value();
  const int64_t channels = a.shape()[1];
  if (w_scale.size() != 1 && w_scale.size() != channels) {
    return ctx.Fail("w_scale must be a scalar or have one value per output channel");
  }
  const int64_t plane = a.size() / std::max<int64_t>(1, a.shape()[0] * channels);
  Tensor y(y_zero.dtype(), a.shape());
  const double* ap = a.data<double>();
  for (int64_t i = 0; i < a.size(); ++i) {
    const int64_t m = (i / plane) % channels;
    const double scale = x_scale * w_scale.GetDouble(w_scale.size() == 1 ? 0 : m) / y_scale;
    q[static_cast<size_t>(i)] = RoundAndSaturate(ap[i] * scale, zero, range);
  }
  StoreQuantized(q, &y);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "Conv", 1, kLatestOpset, ConvKernel);
REGISTER_KERNEL("", "ConvTranspose", 1, kLatestOpset, ConvTransposeKernel);
REGISTER_KERNEL("", "Col2Im", 18, kLatestOpset, Col2ImKernel);
REGISTER_KERNEL("", "ConvInteger", 10, kLatestOpset, ConvIntegerKernel);
REGISTER_KERNEL("", "QLinearConv", 10, kLatestOpset, QLinearConvKernel);

}  // namespace graphopt::reference
