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

// For each output position: the plane offsets of its in-bounds taps, and how many taps fall
// inside the padded input (the divisor of AveragePool with count_include_pad).
struct WindowTable {
  std::vector<int64_t> begin;  // taps of output o are taps[begin[o] .. begin[o+1])
  std::vector<int64_t> taps;
  std::vector<int64_t> padded_count;
};

WindowTable BuildWindowTable(const Geometry3D& g) {
  WindowTable t;
  const int64_t out_size = g.OutputSize();
  t.begin.reserve(static_cast<size_t>(out_size + 1));
  t.padded_count.reserve(static_cast<size_t>(out_size));
  // Per axis and output index: in-bounds input positions and the padded-range count.
  std::vector<std::vector<int64_t>> axis_taps[3];
  std::vector<int64_t> axis_padded[3];
  for (int a = 0; a < 3; ++a) {
    axis_taps[a].resize(static_cast<size_t>(g.out[a]));
    axis_padded[a].resize(static_cast<size_t>(g.out[a]));
    for (int64_t o = 0; o < g.out[a]; ++o) {
      int64_t padded = 0;
      for (int64_t k = 0; k < g.kernel[a]; ++k) {
        const int64_t i = o * g.stride[a] - g.pad[a] + k * g.dilation[a];
        if (i >= 0 && i < g.in[a]) axis_taps[a][static_cast<size_t>(o)].push_back(i);
        if (i >= -g.pad[a] && i < g.in[a] + g.pad_end[a]) ++padded;
      }
      axis_padded[a][static_cast<size_t>(o)] = padded;
    }
  }
  for (int64_t oz = 0; oz < g.out[0]; ++oz) {
    for (int64_t oy = 0; oy < g.out[1]; ++oy) {
      for (int64_t ox = 0; ox < g.out[2]; ++ox) {
        t.begin.push_back(static_cast<int64_t>(t.taps.size()));
        for (int64_t iz : axis_taps[0][static_cast<size_t>(oz)]) {
          for (int64_t iy : axis_taps[1][static_cast<size_t>(oy)]) {
            for (int64_t ix : axis_taps[2][static_cast<size_t>(ox)]) {
              t.taps.push_back((iz * g.in[1] + iy) * g.in[2] + ix);
            }
          }
        }
        t.padded_count.push_back(axis_padded[0][static_cast<size_t>(oz)] *
                                 axis_padded[1][static_cast<size_t>(oy)] *
                                 axis_padded[2][static_cast<size_t>(ox)]);
      }
    }
  }
  t.begin.push_back(static_cast<int64_t>(t.taps.size()));
  return t;
}

// Geometry of a windowed pool from kernel_shape and the window attributes.
Status PoolGeometry(const KernelContext& ctx, const Tensor& x, SpatialGeometry* geo,
                    Geometry3D* g) {
  if (x.rank() < 3) return ctx.Fail("input must be [N, C, D1, ...], got " + ShapeToString(x.shape()));
  const std::vector<int64_t> kernel = ctx.node().GetInts("kernel_shape");
  if (kernel.empty()) return ctx.Fail("kernel_shape attribute is required");
  const bool ceil_mode = ctx.node().GetInt("ceil_mode", 0) != 0;
  Status st = ComputeSpatialGeometry(ctx, {x.shape().begin() + 2, x.shape().end()}, kernel,
                                     ceil_mode, geo);
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
    for (int64_t o = 0; o < out_size; ++o) {
      T best = std::numeric_limits<T>::lowest();
      int64_t best_at = -1;
      for (int64_t t = table.begin[static_cast<size_t>(o)];
           t < table.begin[static_cast<size_t>(o) + 1]; ++t) {
        const int64_t at = table.taps[static_cast<size_t>(t)];
        if (best_at < 0 || xc[at] > best) {
          best = xc[at];
          best_at = at;
        }
      }
      yp[p * out_size + o] = best;
      if (ip) {
        const int64_t local = best_at < 0 ? 0 : (column_major ? ColumnMajorIndex(best_at, geo.input)
                                                              : best_at);
        ip[p * out_size + o] = p * in_size + local;
      }
    }
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
    for (int64_t o = 0; o < out_size; ++o) {
      const int64_t t0 = table.begin[static_cast<size_t>(o)];
      const int64_t t1 = table.begin[static_cast<size_t>(o) + 1];
      double acc = 0;
      if (p == 0) {
        for (int64_t t = t0; t < t1; ++t) acc += xc[table.taps[static_cast<size_t>(t)]];
        const int64_t count = include_pad ? table.padded_count[static_cast<size_t>(o)] : t1 - t0;
        yp[pl * out_size + o] = static_cast<T>(count > 0 ? acc / static_cast<double>(count) : 0.0);
      } else {
        for (int64_t t = t0; t < t1; ++t) {
          acc += std::pow(std::abs(static_cast<double>(xc[table.taps[static_cast<size_t>(t)]])), p);
        }
        yp[pl * out_size + o] = static_cast<T>(std::pow(acc, 1.0 / p));
      }
    }
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
      if (kind == GlobalReduce::kAverage) acc += v;
      else if (kind == GlobalReduce::kMax) acc = std::max(acc, v);
      else acc += std::pow(std::abs(v), p);
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

}  // namespace

REGISTER_KERNEL("", "MaxPool", 1, kLatestOpset, MaxPoolKernel);
REGISTER_KERNEL("", "AveragePool", 1, kLatestOpset, AveragePoolKernel);
REGISTER_KERNEL("", "LpPool", 1, kLatestOpset, LpPoolKernel);
REGISTER_KERNEL("", "GlobalAveragePool", 1, kLatestOpset, GlobalAveragePoolKernel);
REGISTER_KERNEL("", "GlobalMaxPool", 1, kLatestOpset, GlobalMaxPoolKernel);
REGISTER_KERNEL("", "GlobalLpPool", 1, kLatestOpset, GlobalLpPoolKernel);
REGISTER_KERNEL("", "MaxUnpool", 9, kLatestOpset, MaxUnpoolKernel);

}  // namespace graphopt::reference
