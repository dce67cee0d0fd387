// The com.microsoft.nchwc operators ONNX Runtime's CPU provider runs on its blocked layout
// (ReorderInput/ReorderOutput, Conv with bias, Sum and activation, the pools, Upsample). Each
// kernel undoes the blocking (optimizer/ir/nchwc_layout.h), runs the standard kernel on every
// channel, padded ones included, and blocks the result again: slow, but one definition of
// each computation. The block size is the artifact's (metadata graphopt.nchwc_block_size),
// since ONNX Runtime takes it from the CPU it runs on.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/contrib_util.h"
#include "optimizer/ir/nchwc_layout.h"

namespace graphopt::reference {
namespace {

using ir::BlockActivations;
using ir::FilterLayout;
using ir::UnblockActivations;

Result<int64_t> BlockSize(const KernelContext& ctx) {
  if (ctx.model()) {
    for (const auto& [key, value] : ctx.model()->metadata_props) {
      if (key != ir::kNchwcBlockSizeKey) continue;
      const int64_t block = std::atoll(value.c_str());
      if (block == 4 || block == 8 || block == 16) return block;
      return ctx.Fail("metadata " + key + " = '" + value + "' is not 4, 8 or 16");
    }
  }
  return ctx.Unsupported(std::string("the NCHWc block size is unknown (no model metadata ") +
                         ir::kNchwcBlockSizeKey + ")");
}

Status CheckFloat4D(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  if (!t) return ctx.Fail("input " + std::to_string(i) + " is required");
  if (t->dtype() != DataType::kFloat) return ctx.Fail("NCHWc operators take float tensors only");
  if (t->rank() != 4) return ctx.Fail("NCHWc operators take 4-D tensors only");
  return Status::Ok();
}

// A blocked input unblocked with all of its (aligned) channels.
Result<Tensor> UnblockInput(const KernelContext& ctx, size_t i, int64_t block) {
  RETURN_IF_ERROR(CheckFloat4D(ctx, i));
  const Tensor& x = *ctx.input(i);
  if (x.shape()[1] % block != 0) {
    return ctx.Fail("a blocked input needs a channel count that is a multiple of " +
                    std::to_string(block));
  }
  return UnblockActivations(x, x.shape()[1], block);
}

Status ReorderInputKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t block, BlockSize(ctx));
  RETURN_IF_ERROR(CheckFloat4D(ctx, 0));
  Tensor x = *ctx.input(0);
  if (ctx.node().GetInt("channels_last", 0) != 0) x = TransposeTensor(x, {0, 3, 1, 2});
  // ONNX Runtime's reorder handles channels in groups of four and enforces it.
  if (x.shape()[1] % 4 != 0) return ctx.Fail("the channel count must be a multiple of 4");
  ctx.SetOutput(0, BlockActivations(x, block));
  return Status::Ok();
}

Status ReorderOutputKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t block, BlockSize(ctx));
  RETURN_IF_ERROR(CheckFloat4D(ctx, 0));
  const Tensor& x = *ctx.input(0);
  const int64_t channels = ctx.node().GetInt("channels", 0);
  const int64_t aligned = x.shape()[1];
  if (channels <= 0) return ctx.Fail("attribute 'channels' must be positive");
  if (aligned % block != 0 || channels > aligned || aligned - channels >= block) {
    return ctx.Fail("input channels must be the block-aligned count of 'channels'");
  }
  Tensor y = UnblockActivations(x, channels, block);
  if (ctx.node().GetInt("channels_last", 0) != 0) y = TransposeTensor(y, {0, 2, 3, 1});
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// Y = activation(Conv(X, W, B) + Sum), every tensor but W and B blocked. The filter layout
// follows from the shapes as in ONNX Runtime: an input of fewer channels than the block is
// plain NCHW with an OIHWBo filter, so is a depthwise filter; everything else is OIHWBiBo.
Status ConvKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t block, BlockSize(ctx));
  RETURN_IF_ERROR(CheckFloat4D(ctx, 0));
  RETURN_IF_ERROR(CheckFloat4D(ctx, 1));
  // ONNX Runtime 1.30's blocked Conv also takes HardSwish (x * HardSigmoid(x; 1/6, 1/2)),
  // which FusedConv does not.
  const bool hard_swish = ctx.node().GetString("activation", "") == "HardSwish";
  FusedActivation activation;
  if (!hard_swish) {
    ASSIGN_OR_RETURN(activation, ReadConvActivation(ctx));
  }
  const Tensor& x = *ctx.input(0);
  const Tensor& w = *ctx.input(1);
  const int64_t group = ctx.node().GetInt("group", 1);
  const int64_t in_channels = x.shape()[1];
  const int64_t out_channels = w.shape()[0];
  if (out_channels % block != 0) return ctx.Fail("W must have block-aligned output channels");

  Tensor plain_x;
  FilterLayout layout = FilterLayout::kOIHWBiBo;
  if (in_channels < block) {
    if (group != 1) return ctx.Fail("an NCHW input of fewer channels than the block needs group 1");
    plain_x = x;
    layout = FilterLayout::kOIHWBo;
  } else {
    ASSIGN_OR_RETURN(plain_x, UnblockInput(ctx, 0, block));
    const bool depthwise = group > 1 && w.shape()[1] == 1 && out_channels == group;
    if (depthwise) {
      layout = FilterLayout::kOIHWBo;
    } else if (w.shape()[1] % block != 0) {
      return ctx.Fail("W's input channels per group must be a multiple of the block");
    }
  }
  const Tensor plain_w = ir::UnreorderFilter(w, layout, block);
  const Tensor* bias = ctx.input(2);
  if (bias && (bias->rank() != 1 || bias->shape()[0] != out_channels)) {
    return ctx.Fail("B must have the block-aligned output channel count of W");
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> conv,
                   RunStandardKernel(ctx, "Conv", {&plain_x, &plain_w, bias}));
  Tensor y = std::move(conv[0]);
  if (ctx.input(3)) {
    ASSIGN_OR_RETURN(Tensor sum, UnblockInput(ctx, 3, block));
    if (sum.shape() != y.shape()) return ctx.Fail("Sum must have the output's shape");
    RETURN_IF_ERROR(AddInPlace(ctx, sum, &y));
  }
  if (hard_swish) {
    float* p = y.mutable_data<float>();
    for (int64_t i = 0; i < y.size(); ++i) {
      p[i] = p[i] * std::max(0.0f, std::min(1.0f, p[i] / 6.0f + 0.5f));
    }
  } else {
    RETURN_IF_ERROR(ApplyFusedActivation(ctx, activation, &y));
  }
  ctx.SetOutput(0, BlockActivations(y, block));
  return Status::Ok();
}

// The pools compute each channel on its own, so the standard kernel serves on the unblocked
// tensor; padded channels pool to what ONNX Runtime's blocked kernels leave there.
template <const char* kOp>
Status PoolKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t block, BlockSize(ctx));
  ASSIGN_OR_RETURN(Tensor x, UnblockInput(ctx, 0, block));
  ASSIGN_OR_RETURN(std::vector<Tensor> out, RunStandardKernel(ctx, kOp, {&x}));
  ctx.SetOutput(0, BlockActivations(out[0], block));
  return Status::Ok();
}

constexpr char kMaxPool[] = "MaxPool";
constexpr char kAveragePool[] = "AveragePool";
constexpr char kGlobalMaxPool[] = "GlobalMaxPool";
constexpr char kGlobalAveragePool[] = "GlobalAveragePool";

// Source coordinates of each output position along one axis, as ONNX Runtime's NCHWc
// Upsample computes them for its linear mode.
std::vector<float> Interpolation(const std::string& mode, int64_t in, int64_t out, int64_t scale) {
  std::vector<float> v(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    float f;
    if (scale == 1) {
      f = static_cast<float>(o);
    } else if (mode == "align_corners") {
      f = static_cast<float>(o) * static_cast<float>(in - 1) / static_cast<float>(out - 1);
    } else if (mode == "half_pixel") {
      f = std::max(0.0f, (static_cast<float>(o) + 0.5f) / static_cast<float>(scale) - 0.5f);
    } else {
      f = static_cast<float>(o) / static_cast<float>(scale);
    }
    v[static_cast<size_t>(o)] = f;
  }
  return v;
}

// Integer spatial scales only (batch and channel unscaled); nearest takes the floor of
// o / scale, linear interpolates between the two neighbours, clamped at the last one.
Status UpsampleKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const int64_t block, BlockSize(ctx));
  ASSIGN_OR_RETURN(Tensor x, UnblockInput(ctx, 0, block));
  const std::vector<int64_t> scales = ctx.node().GetInts("scales");
  if (scales.size() != 4 || scales[0] != 1 || scales[1] != 1 || scales[2] <= 0 || scales[3] <= 0) {
    return ctx.Fail("'scales' must be 4 positive integers with batch and channel scales 1");
  }
  const std::string mode = ctx.node().GetString("mode", "nearest");
  if (mode != "nearest" && mode != "linear") return ctx.Fail("unknown mode '" + mode + "'");
  const std::string transform = ctx.node().GetString("coordinate_transformation_mode", "asymmetric");
  const int64_t n = x.shape()[0], c = x.shape()[1], ih = x.shape()[2], iw = x.shape()[3];
  const int64_t oh = ih * scales[2], ow = iw * scales[3];
  Tensor y(DataType::kFloat, {n, c, oh, ow});
  const float* src = x.data<float>();
  float* dst = y.mutable_data<float>();
  const std::vector<float> fh = Interpolation(transform, ih, oh, scales[2]);
  const std::vector<float> fw = Interpolation(transform, iw, ow, scales[3]);
  for (int64_t plane = 0; plane < n * c; ++plane) {
    const float* xp = src + plane * ih * iw;
    float* yp = dst + plane * oh * ow;
    for (int64_t h = 0; h < oh; ++h) {
      for (int64_t w = 0; w < ow; ++w) {
        if (mode == "nearest") {
          yp[h * ow + w] = xp[(h / scales[2]) * iw + w / scales[3]];
          continue;
        }
        const float ph = fh[static_cast<size_t>(h)], pw = fw[static_cast<size_t>(w)];
        const int64_t h0 = std::min<int64_t>(static_cast<int64_t>(ph), ih - 1);
        const int64_t w0 = std::min<int64_t>(static_cast<int64_t>(pw), iw - 1);
        const int64_t h1 = std::min<int64_t>(h0 + 1, ih - 1), w1 = std::min<int64_t>(w0 + 1, iw - 1);
        const float dh = ph - static_cast<float>(h0), dw = pw - static_cast<float>(w0);
        const float top = xp[h0 * iw + w0] + (xp[h0 * iw + w1] - xp[h0 * iw + w0]) * dw;
        const float bottom = xp[h1 * iw + w0] + (xp[h1 * iw + w1] - xp[h1 * iw + w0]) * dw;
        yp[h * ow + w] = top + (bottom - top) * dh;
      }
    }
  }
  ctx.SetOutput(0, BlockActivations(y, block));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("com.microsoft.nchwc", "ReorderInput", 1, 1, ReorderInputKernel);
REGISTER_KERNEL("com.microsoft.nchwc", "ReorderOutput", 1, 1, ReorderOutputKernel);
REGISTER_KERNEL("com.microsoft.nchwc", "Conv", 1, 1, ConvKernel);
REGISTER_KERNEL("com.microsoft.nchwc", "MaxPool", 1, 1, PoolKernel<kMaxPool>);
REGISTER_KERNEL("com.microsoft.nchwc", "AveragePool", 1, 1, PoolKernel<kAveragePool>);
REGISTER_KERNEL("com.microsoft.nchwc", "GlobalMaxPool", 1, 1, PoolKernel<kGlobalMaxPool>);
REGISTER_KERNEL("com.microsoft.nchwc", "GlobalAveragePool", 1, 1, PoolKernel<kGlobalAveragePool>);
REGISTER_KERNEL("com.microsoft.nchwc", "Upsample", 1, 1, UpsampleKernel);

}  // namespace graphopt::reference
