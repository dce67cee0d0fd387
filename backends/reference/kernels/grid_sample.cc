// AffineGrid builds sampling grids from affine matrices; GridSample (opsets 16..) samples X [N, C,
// D1..Dk] at the normalized positions of grid [N, O1..Om, k] (last axis first), with
// nearest/linear/cubic interpolation and zeros, border or reflection padding. Interpolation is
// separable: per axis a few taps, then their product.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset
#include "backends/reference/kernels/float_compute.h"

namespace graphopt::reference {
namespace {

enum class Padding { kZeros, kBorder, kReflection };

// Folds x back into [lo, hi] by mirroring at the borders, as often as needed.
double Reflect(double x, double lo, double hi) {
  const double range = hi - lo;
  if (range <= 0) return lo;
  if (x < lo) {
    const double dx = lo - x;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (x > hi) {
    const double dx = x - hi;
    const int64_t n = static_cast<int64_t>(dx / range);
    const double r = dx - static_cast<double>(n) * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return x;
}

double CubicWeight(double x) {
  constexpr double a = -0.75;
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

struct Tap {
  int64_t index;  // -1: reads zero padding
  double weight;
};

// The taps of one axis of length `len` for the unnormalized coordinate x.
void AxisTaps(const std::string& mode, Padding padding, bool align_corners, double x, int64_t len,
              std::vector<Tap>* taps) {
  taps->clear();
  const double lo = align_corners ? 0.0 : -0.5;
  const double hi = align_corners ? static_cast<double>(len - 1) : static_cast<double>(len) - 0.5;
  // Where a tap index lands after padding: -1 for zeros outside the input.
  auto pixel = [&](int64_t i) -> int64_t {
    if (i >= 0 && i < len) return i;
    if (padding == Padding::kZeros) return -1;
    if (padding == Padding::kBorder) return std::clamp<int64_t>(i, 0, len - 1);
    return std::clamp<int64_t>(static_cast<int64_t>(Reflect(static_cast<double>(i), lo, hi)), 0,
                               len - 1);
  };
  if (mode == "nearest") {
    // Half to even for every rank: the ONNX backend data for 3-D grids expect it too.
    x = std::nearbyint(x);
  }
  if (x < lo || x > hi) {
    if (padding == Padding::kBorder) x = std::clamp(x, 0.0, static_cast<double>(len - 1));
    if (padding == Padding::kReflection) x = Reflect(x, lo, hi);
  }
  if (mode == "nearest") {
    taps->push_back({pixel(static_cast<int64_t>(x)), 1.0});
    return;
  }
  const double x0 = std::floor(x);
  const double r = x - x0;
  const int64_t i0 = static_cast<int64_t>(x0);
  if (mode == "linear") {
    taps->push_back({pixel(i0), 1 - r});
    taps->push_back({pixel(i0 + 1), r});
    return;
  }
  taps->push_back({pixel(i0 - 1), CubicWeight(r + 1)});
  taps->push_back({pixel(i0), CubicWeight(r)});
  taps->push_back({pixel(i0 + 1), CubicWeight(1 - r)});
  taps->push_back({pixel(i0 + 2), CubicWeight(2 - r)});
}

Status GridSampleKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    if (!in[1]) return ctx.Fail("grid input is required");
    const Tensor& x = *in[0];
    const Tensor grid = in[1]->dtype() == x.dtype() ? *in[1] : in[1]->CastTo(x.dtype());
    const int64_t rank = x.rank() - 2;
    if (rank < 1 || grid.rank() != rank + 2 || grid.shape()[0] != x.shape()[0] ||
        grid.shape().back() != rank) {
      return ctx.Fail("grid " + ShapeToString(grid.shape()) + " does not fit input " +
                      ShapeToString(x.shape()));
    }
    std::string mode = ctx.node().GetString("mode", ctx.opset() >= 20 ? "linear" : "bilinear");
    if (mode == "bilinear") mode = "linear";
    if (mode == "bicubic") mode = "cubic";
    if (mode != "linear" && mode != "nearest" && mode != "cubic") {
      return ctx.Fail("unknown mode '" + mode + "'");
    }
    const std::string pad_name = ctx.node().GetString("padding_mode", "zeros");
    Padding padding;
    if (pad_name == "zeros")
      padding = Padding::kZeros;
    else if (pad_name == "border")
      padding = Padding::kBorder;
    else if (pad_name == "reflection")
      padding = Padding::kReflection;
    else
      return ctx.Fail("unknown padding_mode '" + pad_name + "'");
    const bool align_corners = ctx.node().GetInt("align_corners", 0) != 0;

    const int64_t batch = x.shape()[0], channels = x.shape()[1];
    const Shape in_dims(x.shape().begin() + 2, x.shape().end());
    const Shape out_dims(grid.shape().begin() + 1, grid.shape().end() - 1);
    Shape y_shape = {batch, channels};
    y_shape.insert(y_shape.end(), out_dims.begin(), out_dims.end());
    Tensor y(x.dtype(), y_shape);
    const int64_t in_size = NumElements(in_dims), out_size = NumElements(out_dims);
    const std::vector<int64_t> in_strides = Strides(in_dims);
    const T* xp = x.data<T>();
    const T* gp = grid.data<T>();
    T* yp = y.mutable_data<T>();
    std::vector<std::vector<Tap>> taps(static_cast<size_t>(rank));
    std::vector<size_t> counter(static_cast<size_t>(rank));
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t o = 0; o < out_size; ++o) {
        const T* g = gp + (n * out_size + o) * rank;
        for (int64_t a = 0; a < rank; ++a) {
          // The grid lists coordinates innermost axis first.
          const double v = static_cast<double>(g[rank - 1 - a]);
          const double len = static_cast<double>(in_dims[static_cast<size_t>(a)]);
          const double pos = align_corners ? (v + 1) / 2 * (len - 1) : ((v + 1) * len - 1) / 2;
          AxisTaps(mode, padding, align_corners, pos, in_dims[static_cast<size_t>(a)],
                   &taps[static_cast<size_t>(a)]);
        }
        for (int64_t c = 0; c < channels; ++c) {
          const T* plane = xp + (n * channels + c) * in_size;
          double acc = 0;
          std::fill(counter.begin(), counter.end(), 0);
          while (true) {
            double w = 1;
            int64_t offset = 0;
            bool zero = false;
            for (size_t a = 0; a < counter.size(); ++a) {
              const Tap& t = taps[a][counter[a]];
              w *= t.weight;
              if (t.index < 0)
                zero = true;
              else
                offset += t.index * in_strides[a];
            }
            if (!zero) acc += w * static_cast<double>(plane[offset]);
            size_t a = counter.size();
            while (a-- > 0) {
              if (++counter[a] < taps[a].size()) break;
              counter[a] = 0;
            }
            if (a == static_cast<size_t>(-1)) break;
          }
          yp[(n * channels + c) * out_size + o] = static_cast<T>(acc);
        }
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// Normalized coordinate of index i along an axis of n points: corners at -1 and 1 with
// align_corners, pixel centres otherwise.
double GridCoordinate(int64_t i, int64_t n, bool align_corners) {
  if (align_corners)
    return n == 1 ? -1.0 : -1.0 + 2.0 * static_cast<double>(i) / static_cast<double>(n - 1);
  return (2.0 * static_cast<double>(i) + 1.0) / static_cast<double>(n) - 1.0;
}

// AffineGrid (opset 20): theta [N, k, k+1] maps each output point's homogeneous normalized
// coordinates (innermost axis first) to a grid [N, D1..Dk, k] for GridSample.
Status AffineGridKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    if (!in[1]) return ctx.Fail("size input is required");
    const Tensor& theta = *in[0];
    const std::vector<int64_t> size = in[1]->ToInt64Vector();
    const int64_t k = static_cast<int64_t>(size.size()) - 2;
    if ((k != 2 && k != 3) || theta.rank() != 3 || theta.shape()[0] != size[0] ||
        theta.shape()[1] != k || theta.shape()[2] != k + 1) {
      return ctx.Fail("theta " + ShapeToString(theta.shape()) + " does not fit size " +
                      ShapeToString(size));
    }
    const Shape spatial(size.begin() + 2, size.end());
    for (int64_t d : spatial) {
      if (d <= 0) return ctx.Fail("size must be positive");
    }
    const bool align_corners = ctx.node().GetInt("align_corners", 0) != 0;
    Shape y_shape = {size[0]};
    y_shape.insert(y_shape.end(), spatial.begin(), spatial.end());
    y_shape.push_back(k);
    Tensor y(theta.dtype(), y_shape);
    T* yp = y.mutable_data<T>();
    const T* tp = theta.data<T>();
    const int64_t points = NumElements(spatial);
    std::vector<double> base(static_cast<size_t>(k + 1), 1.0);
    for (int64_t n = 0; n < size[0]; ++n) {
      const T* m = tp + n * k * (k + 1);
      for (int64_t p = 0; p < points; ++p) {
        // base = [x (innermost axis), y, (z), 1].
        int64_t rest = p;
        for (int64_t a = k - 1; a >= 0; --a) {
          const int64_t len = spatial[static_cast<size_t>(a)];
          base[static_cast<size_t>(k - 1 - a)] = GridCoordinate(rest % len, len, align_corners);
          rest /= len;
        }
        for (int64_t r = 0; r < k; ++r) {
          double v = 0;
          for (int64_t c = 0; c <= k; ++c)
            v += static_cast<double>(m[r * (k + 1) + c]) * base[static_cast<size_t>(c)];
          yp[(n * points + p) * k + r] = static_cast<T>(v);
        }
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

}  // namespace

REGISTER_KERNEL("", "AffineGrid", 20, kLatestOpset, AffineGridKernel);
REGISTER_KERNEL("", "GridSample", 16, kLatestOpset, GridSampleKernel);

}  // namespace graphopt::reference
