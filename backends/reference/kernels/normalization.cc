// Normalizations: BatchNormalization (inference and training_mode), InstanceNormalization,
// LayerNormalization, GroupNormalization, LpNormalization, LRN, MeanVarianceNormalization.
// Statistics accumulate in double; outputs are written in the input's type.
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

// Checks that a per-channel parameter holds exactly `channels` values.
Status CheckChannels(const KernelContext& ctx, const Tensor* t, const char* name,
                     int64_t channels) {
  if (!t) return ctx.Fail(std::string(name) + " input is missing");
  if (t->size() != channels) {
    return ctx.Fail(std::string(name) + " has " + std::to_string(t->size()) + " values for " +
                    std::to_string(channels) + " channels");
  }
  return Status::Ok();
}

// Mean and population variance of each channel over the batch and spatial axes.
template <typename T>
void ChannelMoments(const T* x, int64_t batch, int64_t channels, int64_t plane,
                    std::vector<double>* mean, std::vector<double>* var) {
  mean->assign(static_cast<size_t>(channels), 0.0);
  var->assign(static_cast<size_t>(channels), 0.0);
  const double count = static_cast<double>(batch * plane);
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < batch; ++n) {
      const T* p = x + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) sum += static_cast<double>(p[i]);
    }
    const double m = count > 0 ? sum / count : 0.0;
    double sq = 0;
    for (int64_t n = 0; n < batch; ++n) {
      const T* p = x + (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        const double d = static_cast<double>(p[i]) - m;
        sq += d * d;
      }
    }
    (*mean)[static_cast<size_t>(c)] = m;
    (*var)[static_cast<size_t>(c)] = count > 0 ? sq / count : 0.0;
  }
}

Status BatchNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    if (x.rank() < 2) return ctx.Fail("input must be [N, C, ...], got " + ShapeToString(x.shape()));
    const int64_t batch = x.shape()[0], channels = x.shape()[1];
    const int64_t plane = batch * channels == 0 ? 0 : x.size() / (batch * channels);
    const char* names[] = {"scale", "B", "input_mean", "input_var"};
    for (size_t i = 1; i <= 4; ++i) {
      Status st = CheckChannels(ctx, in[i], names[i - 1], channels);
      if (!st.ok()) return st;
    }
    const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    const double momentum = ctx.node().GetFloat("momentum", 0.9f);
    const bool training = ctx.opset() >= 14 && ctx.node().GetInt("training_mode", 0) != 0;
    const std::vector<double> scale = ToDoubles(*in[1]), bias = ToDoubles(*in[2]);
    std::vector<double> mean = ToDoubles(*in[3]), var = ToDoubles(*in[4]);
    const T* xp = x.data<T>();
    if (training) {
      std::vector<double> batch_mean, batch_var;
      ChannelMoments(xp, batch, channels, plane, &batch_mean, &batch_var);
      if (ctx.output_requested(1) || ctx.output_requested(2)) {
        Tensor running_mean(in[3]->dtype(), in[3]->shape()),
            running_var(in[4]->dtype(), in[4]->shape());
        for (int64_t c = 0; c < channels; ++c) {
          const size_t i = static_cast<size_t>(c);
          const double rm = mean[i] * momentum + batch_mean[i] * (1 - momentum);
          const double rv = var[i] * momentum + batch_var[i] * (1 - momentum);
          if (in[3]->dtype() == DataType::kDouble) {
            running_mean.mutable_data<double>()[c] = rm;
            running_var.mutable_data<double>()[c] = rv;
          } else {
            running_mean.mutable_data<float>()[c] = static_cast<float>(rm);
            running_var.mutable_data<float>()[c] = static_cast<float>(rv);
          }
        }
        ctx.SetOutput(1, std::move(running_mean));
        ctx.SetOutput(2, std::move(running_var));
      }
      mean = batch_mean;
      var = batch_var;
    }
    Tensor y(x.dtype(), x.shape());
    T* yp = y.mutable_data<T>();
    for (int64_t c = 0; c < channels; ++c) {
      const size_t i = static_cast<size_t>(c);
      const double a = scale[i] / std::sqrt(var[i] + epsilon);
      const T mul = static_cast<T>(a);
      const T add = static_cast<T>(bias[i] - mean[i] * a);
      for (int64_t n = 0; n < batch; ++n) {
        const T* src = xp + (n * channels + c) * plane;
        T* dst = yp + (n * channels + c) * plane;
        for (int64_t k = 0; k < plane; ++k) dst[k] = src[k] * mul + add;
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// Normalizes each of `groups` contiguous runs of `group_size` elements to zero mean and unit
// variance; `affine(run, offset_in_run, normalized)` applies the scale and bias.
template <typename T, typename Affine>
void NormalizeRuns(const T* x, int64_t groups, int64_t group_size, double epsilon, T* y,
                   Affine&& affine, std::vector<double>* means = nullptr,
                   std::vector<double>* inv_stds = nullptr) {
  for (int64_t g = 0; g < groups; ++g) {
    const T* src = x + g * group_size;
    double sum = 0;
    for (int64_t i = 0; i < group_size; ++i) sum += static_cast<double>(src[i]);
    const double mean = group_size ? sum / static_cast<double>(group_size) : 0.0;
    double sq = 0;
    for (int64_t i = 0; i < group_size; ++i) {
      const double d = static_cast<double>(src[i]) - mean;
      sq += d * d;
    }
    const double var = group_size ? sq / static_cast<double>(group_size) : 0.0;
    const double inv_std = 1.0 / std::sqrt(var + epsilon);
    T* dst = y + g * group_size;
    for (int64_t i = 0; i < group_size; ++i) {
      dst[i] = static_cast<T>(affine(g, i, (static_cast<double>(src[i]) - mean) * inv_std));
    }
    if (means) means->push_back(mean);
    if (inv_stds) inv_stds->push_back(inv_std);
  }
}

Status InstanceNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    if (x.rank() < 3)
      return ctx.Fail("input must be [N, C, D1, ...], got " + ShapeToString(x.shape()));
    const int64_t channels = x.shape()[1];
    const int64_t planes = x.shape()[0] * channels;
    Status st = CheckChannels(ctx, in[1], "scale", channels);
    if (st.ok()) st = CheckChannels(ctx, in[2], "B", channels);
    if (!st.ok()) return st;
    const std::vector<double> scale = ToDoubles(*in[1]), bias = ToDoubles(*in[2]);
    const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    Tensor y(x.dtype(), x.shape());
    NormalizeRuns(x.data<T>(), planes, planes ? x.size() / planes : 0, epsilon, y.mutable_data<T>(),
                  [&](int64_t plane, int64_t, double v) {
                    const size_t c = static_cast<size_t>(plane % channels);
                    return v * scale[c] + bias[c];
                  });
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// LayerNormalization is hand-dispatched: Mean and InvStdDev stay float32 (the stash type) even
// for float16 inputs, so ComputeInFloat's output conversion does not fit.
template <typename T>
Status LayerNormTyped(KernelContext& ctx, const Tensor& x, const Tensor& scale, const Tensor* bias,
                      DataType out_type) {
  int64_t axis = ctx.node().GetInt("axis", -1);
  if (!NormalizeAxis(axis, x.rank()) || x.rank() == 0) {
    return ctx.Fail("axis " + std::to_string(axis) + " out of range for rank " +
                    std::to_string(x.rank()));
  }
  const Shape inner_shape(x.shape().begin() + axis, x.shape().end());
  const int64_t inner = NumElements(inner_shape);
  const int64_t outer = inner ? x.size() / inner : 0;
  Shape check;
  if (!BroadcastShapes({scale.shape(), inner_shape}, &check) || check != inner_shape ||
      (bias && (!BroadcastShapes({bias->shape(), inner_shape}, &check) || check != inner_shape))) {
    return ctx.Fail("Scale/B do not broadcast to normalized shape " + ShapeToString(inner_shape));
  }
  const std::vector<int64_t> scale_index = BroadcastIndex(scale.shape(), inner_shape);
  const std::vector<int64_t> bias_index =
      bias ? BroadcastIndex(bias->shape(), inner_shape) : std::vector<int64_t>();
  const std::vector<double> s = ToDoubles(scale);
  const std::vector<double> b = bias ? ToDoubles(*bias) : std::vector<double>();
  const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
  Tensor y(x.dtype(), x.shape());
  std::vector<double> means, inv_stds;
  NormalizeRuns(
      x.data<T>(), outer, inner, epsilon, y.mutable_data<T>(),
      [&](int64_t, int64_t i, double v) {
        const size_t k = static_cast<size_t>(i);
        return v * s[static_cast<size_t>(scale_index[k])] +
               (bias ? b[static_cast<size_t>(bias_index[k])] : 0.0);
      },
      &means, &inv_stds);
  ctx.SetOutput(0, FromFloatTensor(y, out_type));
  Shape stat_shape = x.shape();
  for (size_t i = static_cast<size_t>(axis); i < stat_shape.size(); ++i) stat_shape[i] = 1;
  const DataType stat_type =
      x.dtype() == DataType::kDouble && ctx.node().GetInt("stash_type", 1) != 1 ? DataType::kDouble
                                                                                : DataType::kFloat;
  if (ctx.output_requested(1)) {
    ctx.SetOutput(
        1, Tensor::FromVector<double>(DataType::kDouble, stat_shape, means).CastTo(stat_type));
  }
  if (ctx.output_requested(2)) {
    ctx.SetOutput(
        2, Tensor::FromVector<double>(DataType::kDouble, stat_shape, inv_stds).CastTo(stat_type));
  }
  return Status::Ok();
}

Status LayerNormalizationKernel(KernelContext& ctx) {
  if (!ctx.input(0) || !ctx.input(1)) return ctx.Fail("inputs X and Scale are required");
  const FloatInputs in(ctx);
  const DataType type = ctx.input(0)->dtype();
  if (type == DataType::kDouble) return LayerNormTyped<double>(ctx, *in[0], *in[1], in[2], type);
  if (type == DataType::kFloat || IsHalfLike(type)) {
    return LayerNormTyped<float>(ctx, *in[0], *in[1], in[2], type);
  }
  return ctx.Unsupported("element type " + std::string(DataTypeName(type)));
}

// RMSNormalization (opset 23): x / sqrt(mean(x^2 over axes [axis, rank)) + epsilon) * scale.
Status RmsNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    if (!in[1]) return ctx.Fail("scale input is required");
    const Tensor& x = *in[0];
    const Tensor& scale = *in[1];
    int64_t axis = ctx.node().GetInt("axis", -1);
    if (x.rank() == 0 || !NormalizeAxis(axis, x.rank())) {
      return ctx.Fail("axis out of range for rank " + std::to_string(x.rank()));
    }
    const Shape inner_shape(x.shape().begin() + axis, x.shape().end());
    Shape check;
    if (!BroadcastShapes({scale.shape(), inner_shape}, &check) || check != inner_shape) {
      return ctx.Fail("scale " + ShapeToString(scale.shape()) + " does not broadcast to " +
                      ShapeToString(inner_shape));
    }
    const std::vector<int64_t> scale_index = BroadcastIndex(scale.shape(), inner_shape);
    const std::vector<double> s = ToDoubles(scale);
    const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    const int64_t inner = NumElements(inner_shape);
    const int64_t outer = inner ? x.size() / inner : 0;
    Tensor y(x.dtype(), x.shape());
    const T* xp = x.data<T>();
    T* yp = y.mutable_data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      const T* src = xp + o * inner;
      double sq = 0;
      for (int64_t i = 0; i < inner; ++i)
        sq += static_cast<double>(src[i]) * static_cast<double>(src[i]);
      const double inv = 1.0 / std::sqrt(sq / static_cast<double>(inner) + epsilon);
      for (int64_t i = 0; i < inner; ++i) {
        yp[o * inner + i] =
            static_cast<T>(static_cast<double>(src[i]) * inv *
                           s[static_cast<size_t>(scale_index[static_cast<size_t>(i)])]);
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

Status GroupNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    if (x.rank() < 2) return ctx.Fail("input must be [N, C, ...], got " + ShapeToString(x.shape()));
    if (!in[1] || !in[2]) return ctx.Fail("scale and bias are required");
    const int64_t groups = ctx.node().GetInt("num_groups", 0);
    const int64_t channels = x.shape()[1];
    if (groups <= 0 || channels % groups != 0) {
      return ctx.Fail("num_groups " + std::to_string(groups) + " does not divide " +
                      std::to_string(channels) + " channels");
    }
    // Opset 18 scales per group, opset 21 per channel; equal when groups == channels.
    const int64_t params = in[1]->size();
    if ((params != channels && params != groups) || in[2]->size() != params) {
      return ctx.Fail("scale/bias must have num_groups or C values");
    }
    const bool per_channel = params == channels;
    const std::vector<double> scale = ToDoubles(*in[1]), bias = ToDoubles(*in[2]);
    const double epsilon = ctx.node().GetFloat("epsilon", 1e-5f);
    const int64_t channels_per_group = channels / groups;
    const int64_t plane = x.shape()[0] * channels ? x.size() / (x.shape()[0] * channels) : 0;
    Tensor y(x.dtype(), x.shape());
    NormalizeRuns(x.data<T>(), x.shape()[0] * groups, channels_per_group * plane, epsilon,
                  y.mutable_data<T>(), [&](int64_t run, int64_t i, double v) {
                    const int64_t g = run % groups;
                    const size_t p = static_cast<size_t>(
                        per_channel ? g * channels_per_group + i / std::max<int64_t>(plane, 1) : g);
                    return v * scale[p] + bias[p];
                  });
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

Status LpNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    int64_t axis = ctx.node().GetInt("axis", -1);
    const int64_t p = ctx.node().GetInt("p", 2);
    if (!NormalizeAxis(axis, x.rank()) || x.rank() == 0) return ctx.Fail("axis out of range");
    if (p != 1 && p != 2) return ctx.Fail("p must be 1 or 2, got " + std::to_string(p));
    const int64_t dim = x.shape()[static_cast<size_t>(axis)];
    const int64_t inner = Strides(x.shape())[static_cast<size_t>(axis)];
    const int64_t outer = dim * inner ? x.size() / (dim * inner) : 0;
    Tensor y(x.dtype(), x.shape());
    const T* xp = x.data<T>();
    T* yp = y.mutable_data<T>();
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * dim * inner + i;
        double norm = 0;
        for (int64_t d = 0; d < dim; ++d) {
          const double v = static_cast<double>(xp[base + d * inner]);
          norm += p == 1 ? std::abs(v) : v * v;
        }
        if (p == 2) norm = std::sqrt(norm);
        for (int64_t d = 0; d < dim; ++d) {
          const double v = static_cast<double>(xp[base + d * inner]);
          yp[base + d * inner] = static_cast<T>(norm == 0 ? 0.0 : v / norm);
        }
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

Status LrnKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    if (x.rank() < 2) return ctx.Fail("input must be [N, C, ...]");
    const int64_t size = ctx.node().GetInt("size", 0);
    if (size <= 0) return ctx.Fail("size attribute must be positive");
    const double alpha = ctx.node().GetFloat("alpha", 1e-4f);
    const double beta = ctx.node().GetFloat("beta", 0.75f);
    const double bias = ctx.node().GetFloat("bias", 1.0f);
    const int64_t channels = x.shape()[1];
    const int64_t plane = x.shape()[0] * channels ? x.size() / (x.shape()[0] * channels) : 0;
    const int64_t before = (size - 1) / 2, after = size - 1 - before;
    Tensor y(x.dtype(), x.shape());
    const T* xp = x.data<T>();
    T* yp = y.mutable_data<T>();
    for (int64_t n = 0; n < x.shape()[0]; ++n) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t c0 = std::max<int64_t>(0, c - before);
        const int64_t c1 = std::min<int64_t>(channels - 1, c + after);
        for (int64_t i = 0; i < plane; ++i) {
          double sq = 0;
          for (int64_t k = c0; k <= c1; ++k) {
            const double v = static_cast<double>(xp[(n * channels + k) * plane + i]);
            sq += v * v;
          }
          const int64_t at = (n * channels + c) * plane + i;
          yp[at] = static_cast<T>(static_cast<double>(xp[at]) /
                                  std::pow(bias + alpha / static_cast<double>(size) * sq, beta));
        }
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

Status MeanVarianceNormalizationKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor& x = *in[0];
    std::vector<int64_t> axes = ctx.node().GetInts("axes", {0, 2, 3});
    Shape reduced = x.shape();
    for (int64_t& a : axes) {
      if (!NormalizeAxis(a, x.rank()))
        return ctx.Fail("axis " + std::to_string(a) + " out of range");
      reduced[static_cast<size_t>(a)] = 1;
    }
    // Each element's statistics slot: its index in the reduced shape.
    const std::vector<int64_t> slot = BroadcastIndex(reduced, x.shape());
    const int64_t slots = NumElements(reduced);
    const double count = slots ? static_cast<double>(x.size() / slots) : 0.0;
    std::vector<double> sum(static_cast<size_t>(slots), 0.0), sq(static_cast<size_t>(slots), 0.0);
    const T* xp = x.data<T>();
    for (size_t i = 0; i < slot.size(); ++i) {
      const double v = static_cast<double>(xp[i]);
      sum[static_cast<size_t>(slot[i])] += v;
      sq[static_cast<size_t>(slot[i])] += v * v;
    }
    Tensor y(x.dtype(), x.shape());
    T* yp = y.mutable_data<T>();
    for (size_t i = 0; i < slot.size(); ++i) {
      const size_t s = static_cast<size_t>(slot[i]);
      const double mean = sum[s] / count;
      const double var = std::max(0.0, sq[s] / count - mean * mean);
      yp[i] = static_cast<T>((static_cast<double>(xp[i]) - mean) / (std::sqrt(var) + 1e-9));
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

}  // namespace

REGISTER_KERNEL("", "BatchNormalization", 1, kLatestOpset, BatchNormalizationKernel);
REGISTER_KERNEL("", "InstanceNormalization", 1, kLatestOpset, InstanceNormalizationKernel);
REGISTER_KERNEL("", "LayerNormalization", 17, kLatestOpset, LayerNormalizationKernel);
REGISTER_KERNEL("", "RMSNormalization", 23, kLatestOpset, RmsNormalizationKernel);
REGISTER_KERNEL("", "GroupNormalization", 18, kLatestOpset, GroupNormalizationKernel);
REGISTER_KERNEL("", "LpNormalization", 1, kLatestOpset, LpNormalizationKernel);
REGISTER_KERNEL("", "LRN", 1, kLatestOpset, LrnKernel);
REGISTER_KERNEL("", "MeanVarianceNormalization", 9, kLatestOpset, MeanVarianceNormalizationKernel);

}  // namespace graphopt::reference
