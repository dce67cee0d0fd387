// Pooling: MaxPool (with Indices), AveragePool, LpPool, their Global forms, and MaxUnpool.
// Each windowed pool builds one table of in-bounds taps per output position and reuses it
// for every (batch, channel) plane.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset
#include "backends/reference/kernels/float_compute.h"
#include "backends/reference/kernels/spatial_util.h"

namespace graphopt::reference {
namespace {

// Per axis and output index: the kernel taps [k_begin, k_end) that land inside the input, and how
// many taps fall inside the padded input (the divisor of AveragePool with count_include_pad).
// Taps along one axis form an arithmetic progression, so a range describes them.
struct AxisWindows {
  std::vector<int64_t> k_begin, k_end, padded;
};

struct WindowTable {
  AxisWindows axis[3];
};

WindowTable BuildWindowTable(const Geometry3D& g) {
  WindowTable t;
  for (int a = 0; a < 3; ++a) {
    AxisWindows& w = t.axis[a];
    for (int64_t o = 0; o < g.out[a]; ++o) {
      int64_t begin = g.kernel[a], end = 0, padded = 0;
      for (int64_t k = 0; k < g.kernel[a]; ++k) {
        const int64_t i = o * g.stride[a] - g.pad[a] + k * g.dilation[a];
        if (i >= 0 && i < g.in[a]) {
          begin = std::min(begin, k);
          end = k + 1;
        }
        if (i >= -g.pad[a] && i < g.in[a] + g.pad_end[a]) ++padded;
      }
      w.k_begin.push_back(std::min(begin, end));
      w.k_end.push_back(end);
      w.padded.push_back(padded);
    }
  }
  return t;
}

// Calls visit(output_index, tap_count, padded_count, tap_fn) for every output position, where
// tap_fn(f) calls f(plane_offset) for each in-bounds tap of that window.
template <typename Visit>
void ForEachWindow(const Geometry3D& g, const WindowTable& t, Visit&& visit) {
  int64_t o = 0;
  for (int64_t oz = 0; oz < g.out[0]; ++oz) {
    const size_t z = static_cast<size_t>(oz);
    for (int64_t oy = 0; oy < g.out[1]; ++oy) {
      const size_t y = static_cast<size_t>(oy);
      for (int64_t ox = 0; ox < g.out[2]; ++ox, ++o) {
        const size_t x = static_cast<size_t>(ox);
        const int64_t kz0 = t.axis[0].k_begin[z], kz1 = t.axis[0].k_end[z];
        const int64_t ky0 = t.axis[1].k_begin[y], ky1 = t.axis[1].k_end[y];
        const int64_t kx0 = t.axis[2].k_begin[x], kx1 = t.axis[2].k_end[x];
        const int64_t taps = (kz1 - kz0) * (ky1 - ky0) * (kx1 - kx0);
        const int64_t padded = t.axis[0].padded[z] * t.axis[1].padded[y] * t.axis[2].padded[x];
        const int64_t bz = oz * g.stride[0] - g.pad[0];
        const int64_t by = oy * g.stride[1] - g.pad[1];
        const int64_t bx = ox * g.stride[2] - g.pad[2];
        visit(o, taps, padded, [&](auto&& f) {
          for (int64_t kz = kz0; kz < kz1; ++kz) {
            const int64_t iz = bz + kz * g.dilation[0];
            for (int64_t ky = ky0; ky < ky1; ++ky) {
              const int64_t row = (iz * g.in[1] + by + ky * g.dilation[1]) * g.in[2] + bx;
              for (int64_t kx = kx0; kx < kx1; ++kx) f(row + kx * g.dilation[2]);
            }
          }
        });
      }
    }
  }
}

// Geometry of a windowed pool from kernel_shape and the window attributes.
Status PoolGeometry(const KernelContext& ctx, const Tensor& x, SpatialGeometry* geo,
                    Geometry3D* g) {
  if (x.rank() < 3)
    return ctx.Fail("input must be [N, C, D1, ...], got " + ShapeToString(x.shape()));
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  if (kernel.empty()) return ctx.Fail("kernel_shape attribute is required");
  const bool ceil_mode = ctx.node().GetInt("ceil_mode", 0) != 0;
  Status st =
      ComputeSpatialGeometry(ctx, {x.shape().begin() + 2, x.shape().end()}, kernel, ceil_mode, geo);
  if (!st.ok()) return st;
  if (!ToGeometry3D(*geo, g)) return ctx.Unsupported("more than 3 spatial dims");
  return Status::Ok();
}

Shape PooledShape(const Tensor& x, const SpatialGeometry& geo) {
  Shape s = {x.shape()[0], x.shape()[1]};
  s.insert(s.end(), geo.output.begin(), geo.output.end());
  return s;
}

// Flat index of a plane offset in column-major order of the spatial dims (storage_order=1).
int64_t ColumnMajorIndex(int64_t offset, const std::vector<int64_t>& dims) {
  int64_t index = 0, scale = 1;
  std::vector<int64_t> coord(dims.size());
  for (size_t a = dims.size(); a-- > 0;) {
    coord[a] = offset % dims[a];
    offset /= dims[a];
  }
  for (size_t a = 0; a < dims.size(); ++a) {
    index += coord[a] * scale;
    scale *= dims[a];
  }
  return index;
}

template <typename T>
Status MaxPoolTyped(KernelContext& ctx, const Tensor& x) {
  SpatialGeometry geo;
  Geometry3D g;
  Status st = PoolGeometry(ctx, x, &geo, &g);
  if (!st.ok()) return st;
  const WindowTable table = BuildWindowTable(g);
  const Shape y_shape = PooledShape(x, geo);
  Tensor y(x.dtype(), y_shape);
  const bool want_indices = ctx.output_requested(1);
  Tensor indices(DataType::kInt64, want_indices ? y_shape : Shape{0});
  const bool column_major = ctx.node().GetInt("storage_order", 0) == 1;
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t in_size = g.InputSize(), out_size = g.OutputSize();
  const T* xp = x.data<T>();
  T* yp = y.mutable_data<T>();
  int64_t* ip = want_indices ? indices.mutable_data<int64_t>() : nullptr;
  for (int64_t p = 0; p < planes; ++p) {
    const T* xc = xp + p * in_size;
    T* yc = yp + p * out_size;
    int64_t* ic = ip ? ip + p * out_size : nullptr;
    ForEachWindow(g, table, [&](int64_t o, int64_t, int64_t, auto&& taps) {
      T best = std::numeric_limits<T>::lowest();
      if (!ic) {
        // Branch-free max: random data would mispredict a compare-and-branch on every tap.
        taps([&](int64_t at) { best = std::max(best, xc[at]); });
        yc[o] = best;
        return;
      }
      int64_t best_at = -1;
      taps([&](int64_t at) {
        if (best_at < 0 || xc[at] > best) {
          best = xc[at];
          best_at = at;
        }
      });
      yc[o] = best;
      {
        const int64_t local =
            best_at < 0 ? 0 : (column_major ? ColumnMajorIndex(best_at, geo.input) : best_at);
        ic[o] = p * in_size + local;
      }
    });
  }
  ctx.SetOutput(0, std::move(y));
  if (want_indices) ctx.SetOutput(1, std::move(indices));
  return Status::Ok();
}

Status MaxPoolKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  if (!x) return ctx.Fail("input X is missing");
  if (x->dtype() == DataType::kInt8) return MaxPoolTyped<int8_t>(ctx, *x);
  if (x->dtype() == DataType::kUint8) return MaxPoolTyped<uint8_t>(ctx, *x);
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return MaxPoolTyped<decltype(tag)>(ctx, *in[0]);
  });
}

// AveragePool and LpPool share the windowed-sum loop; `p` == 0 selects the average.
template <typename T>
Status SumPoolTyped(KernelContext& ctx, const Tensor& x, double p) {
  SpatialGeometry geo;
  Geometry3D g;
  Status st = PoolGeometry(ctx, x, &geo, &g);
  if (!st.ok()) return st;
  const WindowTable table = BuildWindowTable(g);
  Tensor y(x.dtype(), PooledShape(x, geo));
  const bool include_pad = ctx.node().GetInt("count_include_pad", 0) != 0;
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t in_size = g.InputSize(), out_size = g.OutputSize();
  const T* xp = x.data<T>();
  T* yp = y.mutable_data<T>();
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xc = xp + pl * in_size;
    T* yc = yp + pl * out_size;
    ForEachWindow(g, table, [&](int64_t o, int64_t count, int64_t padded, auto&& taps) {
      double acc = 0;
      if (p == 0) {
        taps([&](int64_t at) { acc += static_cast<double>(xc[at]); });
        const int64_t divisor = include_pad ? padded : count;
        yc[o] = static_cast<T>(divisor > 0 ? acc / static_cast<double>(divisor) : 0.0);
      } else {
        taps([&](int64_t at) { acc += std::pow(std::abs(static_cast<double>(xc[at])), p); });
        yc[o] = static_cast<T>(std::pow(acc, 1.0 / p));
      }
    });
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// LpPool's p: an int since opset 2, a float in opset 1.
double LpExponent(const KernelContext& ctx) {
  const ir::Attribute* a = ctx.node().attr("p");
  if (!a) return 2.0;
  return a->type == ir::AttrType::kFloat ? static_cast<double>(a->f) : static_cast<double>(a->i);
}

Status AveragePoolKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return SumPoolTyped<decltype(tag)>(ctx, *in[0], 0.0);
  });
}

Status LpPoolKernel(KernelContext& ctx) {
  const double p = LpExponent(ctx);
  if (p <= 0) return ctx.Fail("p must be positive");
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return SumPoolTyped<decltype(tag)>(ctx, *in[0], p);
  });
}

enum class GlobalReduce { kAverage, kMax, kLp };

// Global pools reduce every spatial axis to 1.
template <typename T>
Status GlobalPoolTyped(KernelContext& ctx, const Tensor& x, GlobalReduce kind, double p) {
  if (x.rank() < 2) return ctx.Fail("input must be [N, C, ...], got " + ShapeToString(x.shape()));
  Shape y_shape = x.shape();
  for (size_t i = 2; i < y_shape.size(); ++i) y_shape[i] = 1;
  const int64_t planes = x.shape()[0] * x.shape()[1];
  const int64_t plane = planes == 0 ? 0 : x.size() / planes;
  Tensor y(x.dtype(), y_shape);
  const T* xp = x.data<T>();
  T* yp = y.mutable_data<T>();
  for (int64_t pl = 0; pl < planes; ++pl) {
    const T* xc = xp + pl * plane;
    double acc = kind == GlobalReduce::kMax ? -std::numeric_limits<double>::infinity() : 0.0;
    for (int64_t i = 0; i < plane; ++i) {
      const double v = static_cast<double>(xc[i]);
      if (kind == GlobalReduce::kAverage)
        acc += v;
      else if (kind == GlobalReduce::kMax)
        acc = std::max(acc, v);
      else
        acc += std::pow(std::abs(v), p);
    }
    if (kind == GlobalReduce::kAverage) acc = plane ? acc / static_cast<double>(plane) : 0.0;
    if (kind == GlobalReduce::kLp) acc = std::pow(acc, 1.0 / p);
    yp[pl] = static_cast<T>(acc);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status GlobalAveragePoolKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return GlobalPoolTyped<decltype(tag)>(ctx, *in[0], GlobalReduce::kAverage, 0);
  });
}

Status GlobalMaxPoolKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return GlobalPoolTyped<decltype(tag)>(ctx, *in[0], GlobalReduce::kMax, 0);
  });
}

Status GlobalLpPoolKernel(KernelContext& ctx) {
  const double p = LpExponent(ctx);
  if (p <= 0) return ctx.Fail("p must be positive");
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return GlobalPoolTyped<decltype(tag)>(ctx, *in[0], GlobalReduce::kLp, p);
  });
}

// MaxUnpool scatters X into zeros at the flat positions given by I (MaxPool's Indices).
Status MaxUnpoolKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  const Tensor* ind = ctx.input(1);
  if (!x || !ind) return ctx.Fail("inputs X and I are required");
  if (x->shape() != ind->shape()) return ctx.Fail("X and I shapes differ");
  if (x->rank() < 3) return ctx.Fail("input must be [N, C, D1, ...]");
  // Indices address the inferred (un-pooled) shape; an explicit output_shape only pads that
  // result at the end of each axis.
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  SpatialGeometry geo;
  Status st = ReadWindowAttributes(ctx, {x->shape().begin() + 2, x->shape().end()}, kernel, &geo);
  if (!st.ok()) return st;
  Shape inferred = {x->shape()[0], x->shape()[1]};
  for (size_t i = 0; i < geo.rank(); ++i) {
    inferred.push_back((geo.input[i] - 1) * geo.strides[i] + kernel[i] - geo.pad_begin[i] -
                       geo.pad_end[i]);
  }
  Tensor y(x->dtype(), inferred);
  const size_t esize = ElementSize(x->dtype());
  const std::vector<int64_t> idx = ind->ToInt64Vector();
  const char* src = static_cast<const char*>(x->raw());
  char* dst = static_cast<char*>(y.mutable_raw());
  const int64_t total = y.size();
  for (size_t i = 0; i < idx.size(); ++i) {
    if (idx[i] < 0 || idx[i] >= total) {
      return ctx.Fail("index " + std::to_string(idx[i]) + " outside output of " +
                      std::to_string(total) + " elements");
    }
    std::copy(src + i * esize, src + (i + 1) * esize, dst + static_cast<size_t>(idx[i]) * esize);
  }
  if (ctx.has_input(2)) {
    const Shape out_shape = ctx.input(2)->ToInt64Vector();
    if (out_shape.size() != inferred.size()) return ctx.Fail("output_shape has wrong rank");
    for (size_t i = 0; i < out_shape.size(); ++i) {
      if (out_shape[i] < inferred[i]) {
        return ctx.Fail("output_shape " + ShapeToString(out_shape) + " smaller than " +
                        ShapeToString(inferred));
      }
    }
    if (out_shape != inferred) {
      Tensor padded(x->dtype(), out_shape);
      char* out = static_cast<char*>(padded.mutable_raw());
      const std::vector<int64_t> out_strides = Strides(out_shape);
      std::vector<int64_t> counter(inferred.size(), 0);
      for (size_t k = 0; k < static_cast<size_t>(total); ++k) {
        int64_t o = 0;
        for (size_t d = 0; d < counter.size(); ++d) o += counter[d] * out_strides[d];
        std::copy(dst + k * esize, dst + (k + 1) * esize, out + static_cast<size_t>(o) * esize);
        for (size_t d = counter.size(); d-- > 0;) {
          if (++counter[d] < inferred[d]) break;
          counter[d] = 0;
        }
      }
      y = std::move(padded);
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// MaxRoiPool (Caffe-style ROI max pooling): each roi [batch, x1, y1, x2, y2], scaled by
// spatial_scale and rounded, is split into pooled_shape bins whose maxima form the output.
template <typename T>
Status MaxRoiPoolTyped(KernelContext& ctx, const Tensor& x, const Tensor& rois) {
  if (x.rank() != 4) return ctx.Fail("input must be [N, C, H, W], got " + ShapeToString(x.shape()));
  if (rois.rank() != 2 || rois.shape()[1] != 5) {
    return ctx.Fail("rois must be [num_rois, 5], got " + ShapeToString(rois.shape()));
  }
  const std::vector<int64_t> pooled = ctx.node().GetInts("pooled_shape");
  if (pooled.size() != 2 || pooled[0] <= 0 || pooled[1] <= 0) {
    return ctx.Fail("pooled_shape must hold two positive values");
  }
  const double scale = ctx.node().GetFloat("spatial_scale", 1.0f);
  const int64_t batch = x.shape()[0], channels = x.shape()[1], h = x.shape()[2], w = x.shape()[3];
  const int64_t num_rois = rois.shape()[0], ph = pooled[0], pw = pooled[1];
  Tensor y(x.dtype(), {num_rois, channels, ph, pw});
  const T* xp = x.data<T>();
  T* yp = y.mutable_data<T>();
  for (int64_t r = 0; r < num_rois; ++r) {
    const int64_t n = static_cast<int64_t>(rois.GetDouble(r * 5));
    if (n < 0 || n >= batch)
      return ctx.Fail("roi batch index " + std::to_string(n) + " out of range");
    const int64_t x1 = static_cast<int64_t>(std::round(rois.GetDouble(r * 5 + 1) * scale));
    const int64_t y1 = static_cast<int64_t>(std::round(rois.GetDouble(r * 5 + 2) * scale));
    const int64_t x2 = static_cast<int64_t>(std::round(rois.GetDouble(r * 5 + 3) * scale));
    const int64_t y2 = static_cast<int64_t>(std::round(rois.GetDouble(r * 5 + 4) * scale));
    const double bin_h =
        static_cast<double>(std::max<int64_t>(y2 - y1 + 1, 1)) / static_cast<double>(ph);
    const double bin_w =
        static_cast<double>(std::max<int64_t>(x2 - x1 + 1, 1)) / static_cast<double>(pw);
    for (int64_t c = 0; c < channels; ++c) {
      const T* plane = xp + (n * channels + c) * h * w;
      for (int64_t i = 0; i < ph; ++i) {
        const int64_t hs =
            std::clamp<int64_t>(static_cast<int64_t>(std::floor(i * bin_h)) + y1, 0, h);
        const int64_t he =
            std::clamp<int64_t>(static_cast<int64_t>(std::ceil((i + 1) * bin_h)) + y1, 0, h);
        for (int64_t j = 0; j < pw; ++j) {
          const int64_t ws =
              std::clamp<int64_t>(static_cast<int64_t>(std::floor(j * bin_w)) + x1, 0, w);
          const int64_t we =
              std::clamp<int64_t>(static_cast<int64_t>(std::ceil((j + 1) * bin_w)) + x1, 0, w);
          const bool empty = he <= hs || we <= ws;
          T best = empty ? T(0) : std::numeric_limits<T>::lowest();
          for (int64_t yy = hs; yy < he; ++yy)
            for (int64_t xx = ws; xx < we; ++xx) best = std::max(best, plane[yy * w + xx]);
          yp[((r * channels + c) * ph + i) * pw + j] = best;
        }
      }
    }
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status MaxRoiPoolKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    if (!in[1]) return ctx.Fail("rois input is missing");
    return MaxRoiPoolTyped<decltype(tag)>(ctx, *in[0], *in[1]);
  });
}

}  // namespace

REGISTER_KERNEL("", "MaxPool", 1, kLatestOpset, MaxPoolKernel);
REGISTER_KERNEL("", "AveragePool", 1, kLatestOpset, AveragePoolKernel);
REGISTER_KERNEL("", "LpPool", 1, kLatestOpset, LpPoolKernel);
REGISTER_KERNEL("", "GlobalAveragePool", 1, kLatestOpset, GlobalAveragePoolKernel);
REGISTER_KERNEL("", "GlobalMaxPool", 1, kLatestOpset, GlobalMaxPoolKernel);
REGISTER_KERNEL("", "GlobalLpPool", 1, kLatestOpset, GlobalLpPoolKernel);
REGISTER_KERNEL("", "MaxRoiPool", 1, kLatestOpset, MaxRoiPoolKernel);
REGISTER_KERNEL("", "MaxUnpool", 9, kLatestOpset, MaxUnpoolKernel);

}  // namespace graphopt::reference
