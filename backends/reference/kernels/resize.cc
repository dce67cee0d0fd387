// Resize (opsets 10..22) and Upsample (7..9): nearest/linear/cubic interpolation along each
// resized axis, all coordinate transformation modes, antialiasing, axes and aspect-ratio
// policies. N-D interpolation is separable, so it runs as one 1-D pass per resized axis.
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

struct ResizeOptions {
  std::string mode = "nearest";  // nearest | linear | cubic
  std::string coordinate_mode = "half_pixel";
  std::string nearest_mode = "round_prefer_floor";  // or "legacy" for opset < 11
  double cubic_a = -0.75;
  bool exclude_outside = false;
  bool antialias = false;
  double extrapolation_value = 0.0;
};

// The input taps and weights of each output index along one axis.
struct AxisPlan {
  int64_t taps = 1;
  std::vector<int64_t> index;  // [out * taps], already clamped into the input
  std::vector<double> weight;  // [out * taps]
  std::vector<char> outside;   // [out]: tf_crop_and_resize extrapolation
  bool IsIdentity(int64_t in_len) const {
    if (taps != 1 || static_cast<int64_t>(index.size()) != in_len) return false;
    for (size_t o = 0; o < index.size(); ++o) {
      if (index[o] != static_cast<int64_t>(o) || weight[o] != 1.0 || outside[o]) return false;
    }
    return true;
  }
};

// Output coordinate -> input coordinate, per the coordinate_transformation_mode.
double SourceCoordinate(const ResizeOptions& opt, double x, int64_t in_len, int64_t out_len,
                        double scale, double roi_start, double roi_end) {
  const double out_width = scale * static_cast<double>(in_len);
  const std::string& m = opt.coordinate_mode;
  if (m == "align_corners") {
    return out_width == 1 ? 0.0 : x * static_cast<double>(in_len - 1) / (out_width - 1);
  }
  if (m == "asymmetric") return x / scale;
  if (m == "tf_crop_and_resize") {
    const double len = static_cast<double>(in_len - 1);
    const double base = out_width == 1 ? (roi_end - roi_start) * len / 2
                                       : x * (roi_end - roi_start) * len / (out_width - 1);
    return base + roi_start * len;
  }
  if (m == "pytorch_half_pixel") return out_width == 1 ? -0.5 : (x + 0.5) / scale - 0.5;
  if (m == "half_pixel_symmetric") {
    const double adjustment = static_cast<double>(out_len) / out_width;
    const double center = static_cast<double>(in_len) / 2;
    return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
  }
  if (m == "tf_half_pixel_for_nn") return (x + 0.5) / scale;
  return (x + 0.5) / scale - 0.5;  // half_pixel
}

double CubicKernel(double x, double a) {
  x = std::abs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0.0;
}

AxisPlan PlanAxis(const ResizeOptions& opt, int64_t in_len, int64_t out_len, double scale,
                  double roi_start, double roi_end) {
  AxisPlan plan;
  const bool nearest = opt.mode == "nearest";
  const bool cubic = opt.mode == "cubic";
  // Coefficient window: taps at floor-ish(x) + start + i, i in [0, taps).
  int64_t start = 0;
  double aa_scale = 1.0;
  if (!nearest) {
    aa_scale = opt.antialias ? std::min(scale, 1.0) : 1.0;
    start = cubic ? static_cast<int64_t>(std::floor(-2 / aa_scale)) + 1
                  : static_cast<int64_t>(std::floor(-1 / aa_scale)) + 1;
    plan.taps = 2 - 2 * start;
  }
  plan.index.resize(static_cast<size_t>(out_len * plan.taps));
  plan.weight.resize(static_cast<size_t>(out_len * plan.taps));
  plan.outside.assign(static_cast<size_t>(out_len), 0);
  for (int64_t o = 0; o < out_len; ++o) {
    const double x =
        SourceCoordinate(opt, static_cast<double>(o), in_len, out_len, scale, roi_start, roi_end);
    int64_t* idx = &plan.index[static_cast<size_t>(o * plan.taps)];
    double* w = &plan.weight[static_cast<size_t>(o * plan.taps)];
    if (opt.coordinate_mode == "tf_crop_and_resize" &&
        (x < 0 || x > static_cast<double>(in_len - 1))) {
      plan.outside[static_cast<size_t>(o)] = 1;
      for (int64_t k = 0; k < plan.taps; ++k) idx[k] = 0, w[k] = 0;
      continue;
    }
    const double fl = std::floor(x);
    const bool integral = fl == x;
    if (nearest) {
      int64_t i;
      const double ratio = x - fl;
      if (integral) {
        i = static_cast<int64_t>(x);
      } else if (opt.nearest_mode == "legacy") {
        // Opset < 11 (and Upsample): floor when enlarging, ceil when shrinking.
        i = static_cast<int64_t>(scale < 1 ? std::ceil(x) : fl);
      } else if (opt.nearest_mode == "round_prefer_ceil") {
        i = static_cast<int64_t>(ratio < 0.5 ? fl : fl + 1);
      } else if (opt.nearest_mode == "floor") {
        i = static_cast<int64_t>(fl);
      } else if (opt.nearest_mode == "ceil") {
        i = static_cast<int64_t>(fl + 1);
      } else {
        i = static_cast<int64_t>(ratio <= 0.5 ? fl : fl + 1);
      }
      idx[0] = std::clamp<int64_t>(i, 0, in_len - 1);
      w[0] = 1.0;
      continue;
    }
    // The coefficients prefer the pixel left of x: ratio in (0, 1].
    const int64_t base = static_cast<int64_t>(fl) - (integral ? 1 : 0);
    const double ratio = x - static_cast<double>(base);
    double sum = 0;
    for (int64_t k = 0; k < plan.taps; ++k) {
      const double dist = static_cast<double>(start + k) - ratio;
      double c;
      if (cubic) {
        c = CubicKernel(dist * aa_scale, opt.cubic_a);
      } else {
        c = std::clamp(1 - std::abs(dist * aa_scale), 0.0, 1.0);
      }
      w[k] = c;
      sum += c;
    }
    if (opt.antialias && sum != 0) {
      for (int64_t k = 0; k < plan.taps; ++k) w[k] /= sum;
    }
    // The taps are the `taps` nearest positions of an edge-padded input (pad = ceil(taps/2)),
    // so near the border the window slides inward while the coefficients stay put.
    const int64_t pad = (plan.taps + 1) / 2;
    int64_t lo = base + start;
    lo = std::max(lo, -pad);
    lo = std::min(lo, in_len - 1 + pad - (plan.taps - 1));
    double kept = 0;
    for (int64_t k = 0; k < plan.taps; ++k) {
      const int64_t pos = lo + k;
      if (opt.exclude_outside && (pos < 0 || pos >= in_len)) w[k] = 0;
      kept += w[k];
      idx[k] = std::clamp<int64_t>(pos, 0, in_len - 1);
    }
    if (opt.exclude_outside && kept != 0) {
      for (int64_t k = 0; k < plan.taps; ++k) w[k] /= kept;
    }
  }
  return plan;
}

// Resizes axis `axis` of `data` (shape `shape`) by `plan`, in place of both.
template <typename T>
void ApplyAxis(const AxisPlan& plan, size_t axis, double extrapolation, Shape* shape,
               std::vector<T>* data) {
  const int64_t in_len = (*shape)[axis];
  const int64_t out_len = static_cast<int64_t>(plan.outside.size());
  int64_t outer = 1, inner = 1;
  for (size_t i = 0; i < axis; ++i) outer *= (*shape)[i];
  for (size_t i = axis + 1; i < shape->size(); ++i) inner *= (*shape)[i];
  std::vector<T> out(static_cast<size_t>(outer * out_len * inner));
  std::vector<double> acc(static_cast<size_t>(inner));
  for (int64_t b = 0; b < outer; ++b) {
    const T* src = data->data() + b * in_len * inner;
    T* dst = out.data() + b * out_len * inner;
    for (int64_t o = 0; o < out_len; ++o) {
      T* row = dst + o * inner;
      if (plan.outside[static_cast<size_t>(o)]) {
        std::fill(row, row + inner, static_cast<T>(extrapolation));
        continue;
      }
      if (plan.taps == 1) {
        const T* s = src + plan.index[static_cast<size_t>(o)] * inner;
        std::copy(s, s + inner, row);
        continue;
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t k = 0; k < plan.taps; ++k) {
        const double w = plan.weight[static_cast<size_t>(o * plan.taps + k)];
        if (w == 0) continue;
        const T* s = src + plan.index[static_cast<size_t>(o * plan.taps + k)] * inner;
        for (int64_t i = 0; i < inner; ++i)
          acc[static_cast<size_t>(i)] += w * static_cast<double>(s[i]);
      }
      for (int64_t i = 0; i < inner; ++i) row[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
    }
  }
  (*shape)[axis] = out_len;
  *data = std::move(out);
}

// What the node asks for: the options, and per axis the output size, scale and roi.
struct ResizeRequest {
  ResizeOptions options;
  Shape out_shape;
  std::vector<double> scales;
  std::vector<double> roi_start, roi_end;
};

bool Present(const Tensor* t) { return t && t->size() > 0; }

Status BuildRequest(const KernelContext& ctx, const Shape& in_shape, bool is_upsample,
                    ResizeRequest* req) {
  const ir::Node& node = ctx.node();
  const int64_t opset = ctx.opset();
  const size_t rank = in_shape.size();
  ResizeOptions& opt = req->options;
  opt.mode = node.GetString("mode", "nearest");
  if (opt.mode == "bilinear" || opt.mode == "trilinear") opt.mode = "linear";
  if (opt.mode != "nearest" && opt.mode != "linear" && opt.mode != "cubic") {
    return ctx.Fail("unknown mode '" + opt.mode + "'");
  }
  const bool legacy = is_upsample || opset < 11;
  if (legacy) {
    opt.coordinate_mode = "asymmetric";
    opt.nearest_mode = "legacy";
    if (opt.mode == "cubic") return ctx.Fail("cubic mode needs opset 11");
  } else {
    opt.coordinate_mode = node.GetString("coordinate_transformation_mode", "half_pixel");
    opt.nearest_mode = node.GetString("nearest_mode", "round_prefer_floor");
    opt.cubic_a = node.GetFloat("cubic_coeff_a", -0.75f);
    opt.exclude_outside = node.GetInt("exclude_outside", 0) != 0;
    opt.antialias = node.GetInt("antialias", 0) != 0;
    opt.extrapolation_value = node.GetFloat("extrapolation_value", 0.0f);
  }
  static const char* kModes[] = {
      "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
      "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
  if (std::find(std::begin(kModes), std::end(kModes), opt.coordinate_mode) == std::end(kModes)) {
    return ctx.Fail("unknown coordinate_transformation_mode '" + opt.coordinate_mode + "'");
  }

  // Which inputs hold roi / scales / sizes depends on the op and opset.
  const Tensor* roi = nullptr;
  const Tensor* scales = nullptr;
  const Tensor* sizes = nullptr;
  std::vector<double> scale_values;
  if (is_upsample && opset < 9) {
    for (float f : node.GetFloats("scales")) scale_values.push_back(f);
    if (scale_values.empty()) return ctx.Fail("scales attribute is required");
  } else if (legacy) {
    scales = ctx.input(1);
    if (!Present(scales)) return ctx.Fail("scales input is required");
  } else {
    roi = ctx.input(1);
    scales = ctx.input(2);
    sizes = ctx.input(3);
  }
  if (Present(scales)) {
    const Tensor s = ToFloatTensor(*scales);
    for (int64_t i = 0; i < s.size(); ++i) scale_values.push_back(s.GetDouble(i));
  }
  const bool has_sizes = Present(sizes);
  if (has_sizes && !scale_values.empty())
    return ctx.Fail("only one of scales and sizes may be given");
  if (!has_sizes && scale_values.empty()) return ctx.Fail("one of scales and sizes is required");

  std::vector<int64_t> axes = opset >= 18 ? node.GetInts("axes") : std::vector<int64_t>();
  if (axes.empty()) {
    for (size_t i = 0; i < rank; ++i) axes.push_back(static_cast<int64_t>(i));
  }
  for (int64_t& a : axes) {
    if (!NormalizeAxis(a, static_cast<int64_t>(rank))) return ctx.Fail("axes value out of range");
  }
  const size_t n = axes.size();
  req->scales.assign(rank, 1.0);
  req->out_shape = in_shape;
  req->roi_start.assign(rank, 0.0);
  req->roi_end.assign(rank, 1.0);
  if (Present(roi)) {
    const Tensor r = ToFloatTensor(*roi);
    if (static_cast<size_t>(r.size()) != 2 * n) return ctx.Fail("roi must have 2 values per axis");
    for (size_t i = 0; i < n; ++i) {
      req->roi_start[static_cast<size_t>(axes[i])] = r.GetDouble(static_cast<int64_t>(i));
      req->roi_end[static_cast<size_t>(axes[i])] = r.GetDouble(static_cast<int64_t>(n + i));
    }
  } else if (opt.coordinate_mode == "tf_crop_and_resize") {
    return ctx.Fail("tf_crop_and_resize needs roi");
  }
  if (!has_sizes) {
    if (scale_values.size() != n) {
      return ctx.Fail("scales has " + std::to_string(scale_values.size()) + " values for " +
                      std::to_string(n) + " axes");
    }
    for (size_t i = 0; i < n; ++i) {
      const size_t a = static_cast<size_t>(axes[i]);
      if (scale_values[i] <= 0) return ctx.Fail("scales must be positive");
      req->scales[a] = scale_values[i];
      req->out_shape[a] = static_cast<int64_t>(scale_values[i] * static_cast<double>(in_shape[a]));
    }
    return Status::Ok();
  }
  const std::vector<int64_t> size_values = sizes->ToInt64Vector();
  if (size_values.size() != n) return ctx.Fail("sizes has wrong length");
  for (size_t i = 0; i < n; ++i) {
    const size_t a = static_cast<size_t>(axes[i]);
    if (size_values[i] < 0) return ctx.Fail("sizes must not be negative");
    req->out_shape[a] = size_values[i];
    req->scales[a] =
        in_shape[a] ? static_cast<double>(size_values[i]) / static_cast<double>(in_shape[a]) : 1.0;
  }
  const std::string policy =
      opset >= 18 ? node.GetString("keep_aspect_ratio_policy", "stretch") : std::string("stretch");
  if (policy == "not_larger" || policy == "not_smaller") {
    double scale = req->scales[static_cast<size_t>(axes[0])];
    for (int64_t a : axes) {
      const double s = req->scales[static_cast<size_t>(a)];
      scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
    }
    for (int64_t a : axes) {
      req->scales[static_cast<size_t>(a)] = scale;
      req->out_shape[static_cast<size_t>(a)] =
          static_cast<int64_t>(scale * static_cast<double>(in_shape[static_cast<size_t>(a)]) + 0.5);
    }
  } else if (policy != "stretch") {
    return ctx.Fail("unknown keep_aspect_ratio_policy '" + policy + "'");
  }
  return Status::Ok();
}

template <typename T>
Tensor ResizeTyped(const ResizeRequest& req, const Tensor& x) {
  Shape shape = x.shape();
  std::vector<T> data(x.data<T>(), x.data<T>() + x.size());
  // Shrinking axes first keeps the intermediate tensors small.
  std::vector<size_t> order(shape.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return req.out_shape[a] * x.shape()[b] < req.out_shape[b] * x.shape()[a];
  });
  for (size_t a : order) {
    if (x.shape()[a] == 0 || req.out_shape[a] == 0) {
      shape[a] = req.out_shape[a];
      data.assign(static_cast<size_t>(NumElements(shape)), T(0));
      continue;
    }
    const AxisPlan plan = PlanAxis(req.options, x.shape()[a], req.out_shape[a], req.scales[a],
                                   req.roi_start[a], req.roi_end[a]);
    if (plan.IsIdentity(x.shape()[a])) continue;
    ApplyAxis(plan, a, req.options.extrapolation_value, &shape, &data);
  }
  return Tensor::FromVector<T>(x.dtype(), shape, data);
}

Status ResizeCommon(KernelContext& ctx, bool is_upsample) {
  const Tensor* x = ctx.input(0);
  if (!x) return ctx.Fail("input X is missing");
  if (x->rank() == 0) return ctx.Fail("input must have at least one axis");
  ResizeRequest req;
  Status st = BuildRequest(ctx, x->shape(), is_upsample, &req);
  if (!st.ok()) return st;
  // Scales are data, so a bad one could ask for an absurd tensor: refuse before allocating.
  constexpr double kMaxOutputBytes = 8.0 * (1ull << 30);
  double bytes =
      static_cast<double>(ElementSize(IsHalfLike(x->dtype()) ? DataType::kFloat : x->dtype()));
  for (int64_t d : req.out_shape) bytes *= static_cast<double>(d);
  if (bytes > kMaxOutputBytes) {
    return ctx.Fail("output " + ShapeToString(req.out_shape) + " would exceed 8 GiB");
  }
  if (IsHalfLike(x->dtype())) {
    ctx.SetOutput(0, FromFloatTensor(ResizeTyped<float>(req, ToFloatTensor(*x)), x->dtype()));
    return Status::Ok();
  }
  Tensor y;
  if (!DispatchNumeric(x->dtype(), [&](auto tag) { y = ResizeTyped<decltype(tag)>(req, *x); })) {
    return ctx.Unsupported("element type " + std::string(DataTypeName(x->dtype())));
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status ResizeKernel(KernelContext& ctx) { return ResizeCommon(ctx, false); }
Status UpsampleKernel(KernelContext& ctx) { return ResizeCommon(ctx, true); }

}  // namespace

REGISTER_KERNEL("", "Resize", 10, kLatestOpset, ResizeKernel);
REGISTER_KERNEL("", "Upsample", 7, 9, UpsampleKernel);

}  // namespace graphopt::reference
