// Cast and CastLike of the default ONNX domain: between all numeric types, bool, float16,
// bfloat16, and between strings and numbers.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {
namespace {

bool IsCastable(DataType t) {
  return IsFloatingPoint(t) || IsInteger(t) || t == DataType::kBool || t == DataType::kString;
}

// Opsets 1-5 name the target type as a string ("FLOAT", "INT64", ...).
Result<DataType> TypeFromName(const KernelContext& ctx, const std::string& name) {
  static const std::pair<const char*, DataType> kNames[] = {
      {"FLOAT", DataType::kFloat},   {"UINT8", DataType::kUint8},
      {"INT8", DataType::kInt8},     {"UINT16", DataType::kUint16},
      {"INT16", DataType::kInt16},   {"INT32", DataType::kInt32},
      {"INT64", DataType::kInt64},   {"STRING", DataType::kString},
      {"BOOL", DataType::kBool},     {"FLOAT16", DataType::kFloat16},
      {"DOUBLE", DataType::kDouble}, {"UINT32", DataType::kUint32},
      {"UINT64", DataType::kUint64}, {"BFLOAT16", DataType::kBfloat16},
  };
  for (const auto& [n, t] : kNames) {
    if (name == n) return t;
  }
  return ctx.Fail("unknown target type '" + name + "'");
}

// Shortest text that reads back as the same value (numpy prints floats the same way).
template <typename T>
std::string FormatNumber(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "INF" : "-INF";
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

Result<Tensor> NumbersToStrings(const KernelContext& ctx, const Tensor& in) {
  std::vector<std::string> out(static_cast<size_t>(in.size()));
  if (in.dtype() == DataType::kBool) {
    for (int64_t i = 0; i < in.size(); ++i) {
      out[static_cast<size_t>(i)] = in.data<uint8_t>()[i] ? "True" : "False";
    }
    return Tensor::Strings(in.shape(), std::move(out));
  }
  const Tensor x = ToFloatTensor(in);
  const bool ok = DispatchTypeClass<TypeClass::kNumeric>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = x.data<T>();
    for (int64_t i = 0; i < x.size(); ++i) out[static_cast<size_t>(i)] = FormatNumber(src[i]);
  });
  if (!ok) return UnsupportedType(ctx, in.dtype());
  return Tensor::Strings(in.shape(), std::move(out));
}

Result<Tensor> StringsToNumbers(const KernelContext& ctx, const Tensor& in, DataType to) {
  const auto& strings = in.strings();
  const bool integral = IsInteger(to);
  // Parse into double (or int64 for integer targets, keeping 64-bit precision), then convert.
  Tensor parsed(integral ? DataType::kInt64 : DataType::kDouble, in.shape());
  for (size_t i = 0; i < strings.size(); ++i) {
    const char* s = strings[i].c_str();
    char* end = nullptr;
    if (integral) {
      parsed.mutable_data<int64_t>()[i] = std::strtoll(s, &end, 10);
    } else {
      parsed.mutable_data<double>()[i] = std::strtod(s, &end);
    }
    if (end == s) return ctx.Fail("cannot parse '" + strings[i] + "' as a number");
  }
  return parsed.CastTo(to);
}

// Numeric/bool to numeric/bool in one typed loop (Tensor::CastTo goes through double per
// element, which is slower and rounds int64 -> float32 twice).
bool CastDirect(const Tensor& in, DataType to, Tensor* out) {
  const Tensor src = ToFloatTensor(in);
  const DataType mid = IsHalfLike(to) ? DataType::kFloat : to;
  Tensor dst(mid, src.shape());
  bool ok = false;
  DispatchTypeClass<TypeClass::kNumericOrBool>(src.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    const From* p = src.data<From>();
    const int64_t n = src.size();
    if (mid == DataType::kBool) {
      uint8_t* q = dst.mutable_data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) q[i] = p[i] != From{0} ? 1 : 0;
      ok = true;
      return;
    }
    ok = DispatchTypeClass<TypeClass::kNumeric>(mid, [&](auto to_tag) {
      using To = decltype(to_tag);
      To* q = dst.mutable_data<To>();
      for (int64_t i = 0; i < n; ++i) q[i] = static_cast<To>(p[i]);
    });
  });
  if (!ok) return false;
  *out = FromFloatTensor(dst, to);
  return true;
}

Result<Tensor> CastTensor(const KernelContext& ctx, const Tensor& in, DataType to) {
  if (!IsCastable(in.dtype())) return UnsupportedType(ctx, in.dtype());
  if (!IsCastable(to)) return UnsupportedType(ctx, to);
  if (in.dtype() == to) return in;
  if (to == DataType::kString) return NumbersToStrings(ctx, in);
  if (in.dtype() == DataType::kString) return StringsToNumbers(ctx, in, to);
  Tensor out;
  if (CastDirect(in, to, &out)) return out;
  return in.CastTo(to);
}

Status CastKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  const ir::Attribute* to_attr = ctx.node().attr("to");
  if (!to_attr) return ctx.Fail("attribute 'to' is missing");
  DataType to = static_cast<DataType>(to_attr->i);
  if (to_attr->type == ir::AttrType::kString) {
    ASSIGN_OR_RETURN(to, TypeFromName(ctx, to_attr->s));
  }
  ASSIGN_OR_RETURN(Tensor out, CastTensor(ctx, *input, to));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status CastLikeKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* like, RequiredInput(ctx, 1));
  ASSIGN_OR_RETURN(Tensor out, CastTensor(ctx, *input, like->dtype()));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "Cast", 1, kLatestOpset, CastKernel);
REGISTER_KERNEL("", "CastLike", 15, kLatestOpset, CastLikeKernel);

}  // namespace graphopt::reference
