// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear: linear (de)quantization between
// float tensors and int8/uint8/int16/uint16, per tensor, per axis or blocked (opset 21). The
// float8/int4/int2/float4 types of later opsets are refused: the IR has no such element types.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/quantize_util.h"

namespace graphopt::reference {
namespace {

std::vector<float> FloatValues(const Tensor& t) {
  const Tensor f = t.dtype() == DataType::kFloat ? t : t.CastTo(DataType::kFloat);
  return std::vector<float>(f.data<float>(), f.data<float>() + f.size());
}

std::vector<int64_t> ZeroPoints(const Tensor* zp, int64_t count) {
  std::vector<int64_t> z(static_cast<size_t>(count), 0);
  if (zp) {
    for (int64_t i = 0; i < count; ++i) z[static_cast<size_t>(i)] = zp->GetInt64(i);
  }
  return z;
}

// Rounds a float to the nearest value of `precision` (float16/bfloat16), or keeps it.
float RoundTo(float v, DataType precision) {
  if (precision == DataType::kFloat16) return HalfToFloat(FloatToHalf(v));
  if (precision == DataType::kBfloat16) return Bfloat16ToFloat(FloatToBfloat16(v));
  return v;
}

Status CheckZeroPoint(const KernelContext& ctx, const Tensor& scale, const Tensor* zp) {
  if (zp && zp->size() != scale.size()) {
    return ctx.Fail("zero point " + ShapeToString(zp->shape()) + " and scale " +
                    ShapeToString(scale.shape()) + " must have the same shape");
  }
  return Status::Ok();
}

// y = saturate(round_half_even(x / y_scale) + y_zero_point). The division runs in the scale's
// precision (float32, or double for a double scale) unless the `precision` attribute names
// float16/bfloat16, in which case both operands and the quotient are rounded to that type.
Status QuantizeLinearKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  const Tensor* scale = ctx.input(1);
  const Tensor* zp = ctx.input(2);
  if (!x || !scale) return ctx.Fail("inputs x and y_scale are required");
  const ir::Node& node = ctx.node();
  DataType out_type = DataType::kUint8;
  const auto output_dtype = static_cast<DataType>(node.GetInt("output_dtype", 0));
  if (zp) {
    if (output_dtype != DataType::kUndefined && output_dtype != zp->dtype()) {
      return ctx.Fail("output_dtype differs from the zero point's type");
    }
    out_type = zp->dtype();
  } else if (output_dtype != DataType::kUndefined) {
    out_type = output_dtype;
  }
  QuantRange range;
  if (out_type == DataType::kInt32 || !QuantRangeOf(out_type, &range)) {
    return ctx.Unsupported("quantized type " + std::to_string(static_cast<int>(out_type)));
  }
  RETURN_IF_ERROR(CheckZeroPoint(ctx, *scale, zp));
  ASSIGN_OR_RETURN(QuantParamIndex param,
                   QuantParamIndex::Make(ctx, x->shape(), scale->shape(), node.GetInt("axis", 1),
                                         node.GetInt("block_size", 0)));
  const auto precision = static_cast<DataType>(node.GetInt("precision", 0));
  if (precision != DataType::kUndefined && precision != DataType::kFloat &&
      precision != DataType::kFloat16 && precision != DataType::kBfloat16 &&
      precision != DataType::kDouble) {
    return ctx.Unsupported("precision " + std::to_string(static_cast<int>(precision)));
  }
  const bool in_double = precision == DataType::kDouble ||
                         (precision == DataType::kUndefined &&
                          (scale->dtype() == DataType::kDouble || x->dtype() == DataType::kDouble));
  const int64_t n = x->size();
  const std::vector<int64_t> z = ZeroPoints(zp, scale->size());
  std::vector<int64_t> q(static_cast<size_t>(n));
  if (in_double) {
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = param(i);
      q[static_cast<size_t>(i)] =
          RoundAndSaturate(x->GetDouble(i) / scale->GetDouble(k), z[static_cast<size_t>(k)], range);
    }
  } else {
    const std::vector<float> xs = FloatValues(*x), ss = FloatValues(*scale);
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(param(i));
      const float quotient = RoundTo(
          RoundTo(xs[static_cast<size_t>(i)], precision) / RoundTo(ss[k], precision), precision);
      q[static_cast<size_t>(i)] = RoundAndSaturate(quotient, z[k], range);
    }
  }
  Tensor y(out_type, x->shape());
  StoreQuantized(q, &y);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// y = (x - x_zero_point) * x_scale, computed in float32 (double for a double scale) and given
// the scale's type, or `output_dtype` when set (opset 23).
Status DequantizeLinearKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  const Tensor* scale = ctx.input(1);
  const Tensor* zp = ctx.input(2);
  if (!x || !scale) return ctx.Fail("inputs x and x_scale are required");
  QuantRange range;
  if (!QuantRangeOf(x->dtype(), &range)) {
    return ctx.Unsupported("quantized type " + std::string(DataTypeName(x->dtype())));
  }
  if (zp && zp->dtype() != x->dtype()) {
    return ctx.Fail("x_zero_point must have x's type, got " +
                    std::string(DataTypeName(zp->dtype())));
  }
  if (!IsFloatingPoint(scale->dtype())) {
    return ctx.Fail("x_scale must be a float tensor, got " +
                    std::string(DataTypeName(scale->dtype())));
  }
  RETURN_IF_ERROR(CheckZeroPoint(ctx, *scale, zp));
  const ir::Node& node = ctx.node();
  ASSIGN_OR_RETURN(QuantParamIndex param,
                   QuantParamIndex::Make(ctx, x->shape(), scale->shape(), node.GetInt("axis", 1),
                                         node.GetInt("block_size", 0)));
  auto out_type = static_cast<DataType>(node.GetInt("output_dtype", 0));
  if (out_type == DataType::kUndefined) out_type = scale->dtype();
  if (!IsFloatingPoint(out_type)) {
    return ctx.Fail("output_dtype must be a float type");
  }
  const int64_t n = x->size();
  const std::vector<int64_t> z = ZeroPoints(zp, scale->size());
  Tensor y;
  if (scale->dtype() == DataType::kDouble) {
    Tensor d(DataType::kDouble, x->shape());
    double* p = d.mutable_data<double>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = param(i);
      p[i] =
          (x->GetDouble(i) - static_cast<double>(z[static_cast<size_t>(k)])) * scale->GetDouble(k);
    }
    y = std::move(d);
  } else {
    const std::vector<float> xs = FloatValues(*x), ss = FloatValues(*scale);
    Tensor f(DataType::kFloat, x->shape());
    float* p = f.mutable_data<float>();
    for (int64_t i = 0; i < n; ++i) {
      const auto k = static_cast<size_t>(param(i));
      p[i] = (xs[static_cast<size_t>(i)] - static_cast<float>(z[k])) * ss[k];
    }
    y = std::move(f);
  }
  ctx.SetOutput(0, y.dtype() == out_type ? std::move(y) : y.CastTo(out_type));
  return Status::Ok();
}

// uint8 quantization with a scale and zero point computed from the data's range
// (DynamicQuantizeUint8).
Status DynamicQuantizeLinearKernel(KernelContext& ctx) {
  const Tensor* x = ctx.input(0);
  if (!x) return ctx.Fail("input x is required");
  if (x->dtype() != DataType::kFloat) {
    return ctx.Unsupported("element type " + std::string(DataTypeName(x->dtype())));
  }
  DynamicQuantized r = DynamicQuantizeUint8(x->data<float>(), x->shape());
  ctx.SetOutput(0, std::move(r.q));
  ctx.SetOutput(1, Tensor::ScalarFloat(r.scale));
  ctx.SetOutput(2, Tensor::FromVector<uint8_t>(DataType::kUint8, {}, {r.zero_point}));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "QuantizeLinear", 10, kLatestOpset, QuantizeLinearKernel);
REGISTER_KERNEL("", "DequantizeLinear", 10, kLatestOpset, DequantizeLinearKernel);
REGISTER_KERNEL("", "DynamicQuantizeLinear", 11, kLatestOpset, DynamicQuantizeLinearKernel);

}  // namespace graphopt::reference
