// ONNX Runtime's quantized com.microsoft operators, as its CPU provider computes them: integer
// products over zero-point-shifted operands, float32 rescaling, then round half to even and
// saturate: DynamicQuantizeMatMul, MatMulIntegerToFloat, QGemm, QLinearAdd, QLinearMul,
// QLinearSigmoid and QLinearGlobalAveragePool. Integer products reuse the MatMulInteger kernel.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/contrib_util.h"
#include "backends/reference/kernels/quantize_util.h"

namespace graphopt::reference {
namespace {

constexpr const char* kMs = "com.microsoft";

// A per-tensor parameter (scale or zero point) as a number; `def` when the input is omitted.
Result<double> ScalarParam(const KernelContext& ctx, size_t i, double def) {
  const Tensor* t = ctx.input(i);
  if (!t) return def;
  if (t->size() != 1) {
    return ctx.Fail("input " + std::to_string(i) + " must be a scalar, got " +
                    ShapeToString(t->shape()));
  }
  return t->GetDouble(0);
}

// Scale or zero point of B: one value, or one per column (the last axis, `n` values).
Result<std::vector<float>> ColumnParam(const KernelContext& ctx, size_t i, int64_t n, float def) {
  const Tensor* t = ctx.input(i);
  std::vector<float> v(static_cast<size_t>(n), def);
  if (!t) return v;
  if (t->size() != 1 && t->size() != n) {
    return ctx.Fail("input " + std::to_string(i) + " must be a scalar or have " +
                    std::to_string(n) + " values, got " + ShapeToString(t->shape()));
  }
  for (int64_t k = 0; k < n; ++k)
    v[static_cast<size_t>(k)] = static_cast<float>(t->GetDouble(t->size() == 1 ? 0 : k));
  return v;
}

// The quantized output type and its range, from the zero point (or `fallback`'s type).
Result<QuantRange> OutputRange(const KernelContext& ctx, DataType type) {
  QuantRange r;
  if ((type != DataType::kUint8 && type != DataType::kInt8) || !QuantRangeOf(type, &r)) {
    return ctx.Unsupported("quantized type " + std::string(DataTypeName(type)));
  }
  return r;
}

// acc [..., M, N] (int32) * scale[n] (+ bias[n]) as float32.
Result<Tensor> ScaleColumns(const KernelContext& ctx, const Tensor& acc,
                            const std::vector<float>& scale, const Tensor* bias) {
  const int64_t n = acc.shape().empty() ? 1 : acc.shape().back();
  if (bias && bias->size() != n) {
    return ctx.Fail("bias must have " + std::to_string(n) + " values, got " +
                    ShapeToString(bias->shape()));
  }
  Tensor y(DataType::kFloat, acc.shape());
  float* yp = y.mutable_data<float>();
  const int32_t* ap = acc.data<int32_t>();
  for (int64_t i = 0; i < acc.size(); ++i) {
    const auto c = static_cast<size_t>(i % n);
    yp[i] = static_cast<float>(ap[i]) * scale[c];
    if (bias) yp[i] += static_cast<float>(bias->GetDouble(static_cast<int64_t>(c)));
  }
  return y;
}

int64_t Columns(const Tensor& b) { return b.rank() < 2 ? 1 : b.shape().back(); }

// A (float) quantized to uint8 at run time like DynamicQuantizeLinear, then
// MatMulInteger(A_q, B) * (a_scale * b_scale) + bias.
Status DynamicQuantizeMatMulKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (!a || !b || !ctx.input(2)) return ctx.Fail("inputs A, B and b_scale are required");
  if (a->dtype() != DataType::kFloat) return ctx.Unsupported("A must be float32");
  DynamicQuantized aq = DynamicQuantizeUint8(a->data<float>(), a->shape());
  const Tensor a_zero = Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {aq.zero_point});
  ASSIGN_OR_RETURN(std::vector<Tensor> acc,
                   RunStandardKernel(ctx, "MatMulInteger", {&aq.q, b, &a_zero, ctx.input(3)}));
  ASSIGN_OR_RETURN(std::vector<float> scale, ColumnParam(ctx, 2, Columns(*b), 1.0f));
  for (float& s : scale) s *= aq.scale;
  ASSIGN_OR_RETURN(Tensor y, ScaleColumns(ctx, acc[0], scale, ctx.input(4)));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// MatMulInteger(A, B, a_zero_point, b_zero_point) * (a_scale * b_scale) + bias, in float32.
Status MatMulIntegerToFloatKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (!a || !b || !ctx.input(2) || !ctx.input(3)) {
    return ctx.Fail("inputs A, B, a_scale and b_scale are required");
  }
  ASSIGN_OR_RETURN(double a_scale, ScalarParam(ctx, 2, 1.0));
  ASSIGN_OR_RETURN(std::vector<Tensor> acc,
                   RunStandardKernel(ctx, "MatMulInteger", {a, b, ctx.input(4), ctx.input(5)}));
  ASSIGN_OR_RETURN(std::vector<float> scale, ColumnParam(ctx, 3, Columns(*b), 1.0f));
  for (float& s : scale) s *= static_cast<float>(a_scale);
  ASSIGN_OR_RETURN(Tensor y, ScaleColumns(ctx, acc[0], scale, ctx.input(6)));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// Y = (A' B' + C) * alpha * a_scale * b_scale[n], requantized with y_scale/y_zero_point when
// given, float32 otherwise. C is int32, broadcast to [M, N].
Status QGemmKernel(KernelContext& ctx) {
  for (size_t i : {0, 1, 2, 3, 4}) {
    if (!ctx.input(i)) return ctx.Fail("input " + std::to_string(i) + " is required");
  }
  const ir::Node& node = ctx.node();
  const Tensor& a = *ctx.input(0);
  const Tensor& b = *ctx.input(3);
  if (a.rank() != 2 || b.rank() != 2) return ctx.Fail("A and B must be matrices");
  const Tensor a2 = node.GetInt("transA", 0) ? TransposeTensor(a, {1, 0}) : a;
  const Tensor b2 = node.GetInt("transB", 0) ? TransposeTensor(b, {1, 0}) : b;
  ASSIGN_OR_RETURN(double a_scale, ScalarParam(ctx, 1, 1.0));
  ASSIGN_OR_RETURN(std::vector<Tensor> product,
                   RunStandardKernel(ctx, "MatMulInteger", {&a2, &b2, ctx.input(2), ctx.input(5)}));
  Tensor& acc = product[0];
  const int64_t m = acc.shape()[0], n = acc.shape()[1];
  if (const Tensor* c = ctx.input(6)) {
    Shape out;
    if (c->dtype() != DataType::kInt32 || !BroadcastShapes({c->shape(), {m, n}}, &out) ||
        out != Shape{m, n}) {
      return ctx.Fail("C must be int32 and broadcast to [" + std::to_string(m) + "," +
                      std::to_string(n) + "]");
    }
    const std::vector<int64_t> index = BroadcastIndex(c->shape(), {m, n});
    int32_t* p = acc.mutable_data<int32_t>();
    for (size_t i = 0; i < index.size(); ++i) p[i] += c->data<int32_t>()[index[i]];
  }
  ASSIGN_OR_RETURN(std::vector<float> scale, ColumnParam(ctx, 4, n, 1.0f));
  const auto alpha = node.GetFloat("alpha", 1.0f);
  const Tensor* y_scale = ctx.input(7);
  for (float& s : scale) {
    s = alpha * static_cast<float>(a_scale) * s;
    if (y_scale) s /= static_cast<float>(y_scale->GetDouble(0));
  }
  ASSIGN_OR_RETURN(Tensor y, ScaleColumns(ctx, acc, scale, nullptr));
  const Tensor* y_zero = ctx.input(8);
  if (!y_scale) {
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  }
  const DataType out_type = y_zero ? y_zero->dtype() : a.dtype();
  ASSIGN_OR_RETURN(QuantRange range, OutputRange(ctx, out_type));
  const int64_t zero = y_zero ? y_zero->GetInt64(0) : 0;
  std::vector<int64_t> q(static_cast<size_t>(y.size()));
  for (int64_t i = 0; i < y.size(); ++i) {
    q[static_cast<size_t>(i)] = RoundAndSaturate(y.data<float>()[i], zero, range);
  }
  Tensor out(out_type, y.shape());
  StoreQuantized(q, &out);
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// The dequantized value of every element of a per-tensor quantized input (x, scale, zero).
Result<std::vector<float>> Dequantized(const KernelContext& ctx, size_t x, size_t scale,
                                       size_t zero) {
  const Tensor* t = ctx.input(x);
  if (!t || !ctx.input(scale)) return ctx.Fail("inputs and their scales are required");
  ASSIGN_OR_RETURN(double s, ScalarParam(ctx, scale, 1.0));
  ASSIGN_OR_RETURN(double z, ScalarParam(ctx, zero, 0.0));
  std::vector<float> v(static_cast<size_t>(t->size()));
  for (int64_t i = 0; i < t->size(); ++i) {
    v[static_cast<size_t>(i)] = static_cast<float>(s) * static_cast<float>(t->GetDouble(i) - z);
  }
  return v;
}

// Quantizes float values with the per-tensor (scale, zero point) of inputs `scale`/`zero`
// into a tensor of x's type and `shape`.
Result<Tensor> Requantized(const KernelContext& ctx, const std::vector<float>& v,
                           const Shape& shape, DataType type, size_t scale, size_t zero) {
  ASSIGN_OR_RETURN(QuantRange range, OutputRange(ctx, type));
  ASSIGN_OR_RETURN(double s, ScalarParam(ctx, scale, 1.0));
  ASSIGN_OR_RETURN(double z, ScalarParam(ctx, zero, 0.0));
  std::vector<int64_t> q(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    q[i] = RoundAndSaturate(v[i] / static_cast<float>(s), static_cast<int64_t>(z), range);
  }
  Tensor out(type, shape);
  StoreQuantized(q, &out);
  return out;
}

// C = quantize(dequantize(A) op dequantize(B)) with numpy broadcasting.
template <typename Op>
Status QLinearBinary(KernelContext& ctx, Op op) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(3);
  if (!a || !b) return ctx.Fail("inputs A and B are required");
  if (a->dtype() != b->dtype()) return ctx.Fail("A and B must have one element type");
  Shape shape;
  if (!BroadcastShapes({a->shape(), b->shape()}, &shape)) {
    return ctx.Fail(ShapeToString(a->shape()) + " and " + ShapeToString(b->shape()) +
                    " do not broadcast");
  }
  ASSIGN_OR_RETURN(std::vector<float> va, Dequantized(ctx, 0, 1, 2));
  ASSIGN_OR_RETURN(std::vector<float> vb, Dequantized(ctx, 3, 4, 5));
  const std::vector<int64_t> ia = BroadcastIndex(a->shape(), shape);
  const std::vector<int64_t> ib = BroadcastIndex(b->shape(), shape);
  std::vector<float> vc(ia.size());
  for (size_t i = 0; i < vc.size(); ++i) {
    vc[i] = op(va[static_cast<size_t>(ia[i])], vb[static_cast<size_t>(ib[i])]);
  }
  ASSIGN_OR_RETURN(Tensor c, Requantized(ctx, vc, shape, a->dtype(), 6, 7));
  ctx.SetOutput(0, std::move(c));
  return Status::Ok();
}

Status QLinearAddKernel(KernelContext& ctx) {
  return QLinearBinary(ctx, [](float x, float y) { return x + y; });
}

Status QLinearMulKernel(KernelContext& ctx) {
  return QLinearBinary(ctx, [](float x, float y) { return x * y; });
}

// Y = quantize(sigmoid(dequantize(X))): X, X_scale, X_zero_point, Y_scale, Y_zero_point.
Status QLinearSigmoidKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  ASSIGN_OR_RETURN(std::vector<float> v, Dequantized(ctx, 0, 1, 2));
  for (float& f : v) f = 1.0f / (1.0f + std::exp(-f));
  ASSIGN_OR_RETURN(Tensor y, Requantized(ctx, v, x->shape(), x->dtype(), 3, 4));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// The mean of every channel over the spatial axes (NCHW..., or N...C with channels_last),
// requantized: Y = saturate(round(sum(X - x_zero) * x_scale / (y_scale * count)) + y_zero).
Status QLinearGlobalAveragePoolKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  if (!x) return ctx.Fail("input X is required");
  if (x->rank() < 3) return ctx.Fail("X must have a batch, a channel and spatial axes");
  const bool channels_last = ctx.node().GetInt("channels_last", 0) != 0;
  const Shape& s = x->shape();
  const int64_t batch = s[0];
  const int64_t channels = channels_last ? s.back() : s[1];
  const int64_t count = x->size() / std::max<int64_t>(1, batch * channels);
  ASSIGN_OR_RETURN(double x_scale, ScalarParam(ctx, 1, 1.0));
  ASSIGN_OR_RETURN(double x_zero, ScalarParam(ctx, 2, 0.0));
  ASSIGN_OR_RETURN(double y_scale, ScalarParam(ctx, 3, 1.0));
  ASSIGN_OR_RETURN(double y_zero, ScalarParam(ctx, 4, 0.0));
  ASSIGN_OR_RETURN(QuantRange range, OutputRange(ctx, x->dtype()));
  Shape out_shape(s.size(), 1);
  out_shape[0] = batch;
  out_shape[channels_last ? s.size() - 1 : 1] = channels;
  const float factor =
      static_cast<float>(x_scale) / (static_cast<float>(y_scale) * static_cast<float>(count));
  std::vector<int64_t> q(static_cast<size_t>(batch * channels));
  for (int64_t nb = 0; nb < batch; ++nb) {
    for (int64_t c = 0; c < channels; ++c) {
      int64_t sum = 0;
      for (int64_t k = 0; k < count; ++k) {
        const int64_t i =
            channels_last ? (nb * count + k) * channels + c : (nb * channels + c) * count + k;
        sum += x->GetInt64(i);
      }
      sum -= static_cast<int64_t>(x_zero) * count;
      q[static_cast<size_t>(nb * channels + c)] =
          RoundAndSaturate(static_cast<float>(sum) * factor, static_cast<int64_t>(y_zero), range);
    }
  }
  Tensor y(x->dtype(), out_shape);
  StoreQuantized(q, &y);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL(kMs, "DynamicQuantizeMatMul", 1, 1, DynamicQuantizeMatMulKernel);
REGISTER_KERNEL(kMs, "MatMulIntegerToFloat", 1, 1, MatMulIntegerToFloatKernel);
REGISTER_KERNEL(kMs, "QGemm", 1, 1, QGemmKernel);
REGISTER_KERNEL(kMs, "QLinearAdd", 1, 1, QLinearAddKernel);
REGISTER_KERNEL(kMs, "QLinearMul", 1, 1, QLinearMulKernel);
REGISTER_KERNEL(kMs, "QLinearSigmoid", 1, 1, QLinearSigmoidKernel);
REGISTER_KERNEL(kMs, "QLinearGlobalAveragePool", 1, 1, QLinearGlobalAveragePoolKernel);

}  // namespace graphopt::reference
