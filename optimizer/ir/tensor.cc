#include "optimizer/ir/tensor.h"

#include <cstring>
#include <functional>
#include <stdexcept>
#include <string_view>

namespace graphopt {

namespace {

// Product of the dims into *n; false on overflow. A zero dim makes the product 0 whatever the
// others are. Negative dims (unknown, in a few callers) multiply as before.
bool MultiplyDims(const Shape& shape, int64_t* n) {
  for (int64_t d : shape) {
    if (d == 0) {
      *n = 0;
      return true;
    }
  }
  int64_t product = 1;
  for (int64_t d : shape) {
    if (__builtin_mul_overflow(product, d, &product)) return false;
  }
  *n = product;
  return true;
}

}  // namespace

int64_t NumElements(const Shape& shape) {
  int64_t n = 0;
  if (!MultiplyDims(shape, &n)) {
    throw ElementCountOverflow("the element count of shape " + ShapeToString(shape) +
                               " overflows int64");
  }
  return n;
}

bool ElementCountFits(const Shape& shape, size_t element_size, int64_t* bytes) {
  int64_t n = 0;
  if (!MultiplyDims(shape, &n)) return false;
  int64_t total = 0;
  if (__builtin_mul_overflow(n, static_cast<int64_t>(element_size), &total)) return false;
  if (bytes) *bytes = total;
  return true;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(DataType type, Shape shape) : dtype_(type), shape_(std::move(shape)) {
  if (type == DataType::kString) {
    strings_.resize(static_cast<size_t>(NumElements(shape_)));
    bytes_ = std::make_shared<std::string>();
  } else {
    int64_t size = 0;
    if (!ElementCountFits(shape_, ElementSize(type), &size)) {
      throw ElementCountOverflow("the byte size of shape " + ShapeToString(shape_) +
                                 " overflows int64");
    }
    bytes_ = std::make_shared<std::string>(static_cast<size_t>(size), '\0');
  }
}

Tensor::Tensor(DataType type, Shape shape, std::string bytes)
    : dtype_(type), shape_(std::move(shape)), bytes_(std::make_shared<std::string>(std::move(bytes))) {
  if (bytes_->size() != static_cast<size_t>(NumElements(shape_)) * ElementSize(type)) {
    throw std::invalid_argument("tensor bytes do not match shape " + ShapeToString(shape_));
  }
}

Tensor Tensor::Strings(Shape shape, std::vector<std::string> values) {
  Tensor t;
  t.dtype_ = DataType::kString;
  t.shape_ = std::move(shape);
  t.bytes_ = std::make_shared<std::string>();
  t.strings_ = std::move(values);
  return t;
}

void* Tensor::mutable_raw() {
  if (!bytes_) return nullptr;
  if (bytes_.use_count() > 1) bytes_ = std::make_shared<std::string>(*bytes_);
  return bytes_->data();
}

const std::string& Tensor::bytes() const {
  static const std::string kEmpty;
  return bytes_ ? *bytes_ : kEmpty;
}

std::string* Tensor::exclusive_bytes() {
  if (!bytes_ || bytes_.use_count() != 1) return nullptr;
  return bytes_.get();
}

Tensor Tensor::Reshaped(Shape shape) const {
  if (NumElements(shape) != size()) {
    throw std::invalid_argument("cannot reshape " + ShapeToString(shape_) + " to " +
                                ShapeToString(shape));
  }
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

namespace {

template <typename T>
T Load(const void* p, int64_t i) {
  T v;
  std::memcpy(&v, static_cast<const char*>(p) + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

}  // namespace

double Tensor::GetDouble(int64_t i) const {
  const void* p = raw();
  switch (dtype_) {
    case DataType::kFloat: return Load<float>(p, i);
    case DataType::kDouble: return Load<double>(p, i);
    case DataType::kFloat16: return HalfToFloat(Load<uint16_t>(p, i));
    case DataType::kBfloat16: return Bfloat16ToFloat(Load<uint16_t>(p, i));
    case DataType::kInt8: return Load<int8_t>(p, i);
    case DataType::kUint8: return Load<uint8_t>(p, i);
    case DataType::kBool: return Load<uint8_t>(p, i) ? 1.0 : 0.0;
    case DataType::kInt16: return Load<int16_t>(p, i);
    case DataType::kUint16: return Load<uint16_t>(p, i);
    case DataType::kInt32: return Load<int32_t>(p, i);
    case DataType::kUint32: return Load<uint32_t>(p, i);
    case DataType::kInt64: return static_cast<double>(Load<int64_t>(p, i));
    case DataType::kUint64: return static_cast<double>(Load<uint64_t>(p, i));
    default: throw std::invalid_argument("GetDouble on non-numeric tensor");
  }
}

int64_t Tensor::GetInt64(int64_t i) const {
  const void* p = raw();
  switch (dtype_) {
    case DataType::kInt64: return Load<int64_t>(p, i);
    case DataType::kUint64: return static_cast<int64_t>(Load<uint64_t>(p, i));
    case DataType::kInt32: return Load<int32_t>(p, i);
    case DataType::kUint32: return Load<uint32_t>(p, i);
    case DataType::kInt16: return Load<int16_t>(p, i);
    case DataType::kUint16: return Load<uint16_t>(p, i);
    case DataType::kInt8: return Load<int8_t>(p, i);
    case DataType::kUint8: case DataType::kBool: return Load<uint8_t>(p, i);
    default: return static_cast<int64_t>(GetDouble(i));
  }
}

std::vector<int64_t> Tensor::ToInt64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(size()));
  for (int64_t i = 0; i < size(); ++i) out[static_cast<size_t>(i)] = GetInt64(i);
  return out;
}

namespace {

template <typename T>
void StoreAll(Tensor& out, const Tensor& in) {
  T* dst = out.mutable_data<T>();
  const int64_t n = in.size();
  if constexpr (std::is_integral_v<T>) {
    if (IsInteger(in.dtype()) || in.dtype() == DataType::kBool) {
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(in.GetInt64(i));
      return;
    }
  }
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(in.GetDouble(i));
}

}  // namespace

Tensor Tensor::CastTo(DataType type) const {
  if (type == dtype_) return *this;
  Tensor out(type, shape_);
  const int64_t n = size();
  switch (type) {
    case DataType::kFloat: StoreAll<float>(out, *this); break;
    case DataType::kDouble: StoreAll<double>(out, *this); break;
    case DataType::kInt8: StoreAll<int8_t>(out, *this); break;
    case DataType::kUint8: StoreAll<uint8_t>(out, *this); break;
    case DataType::kInt16: StoreAll<int16_t>(out, *this); break;
    case DataType::kUint16: StoreAll<uint16_t>(out, *this); break;
    case DataType::kInt32: StoreAll<int32_t>(out, *this); break;
    case DataType::kUint32: StoreAll<uint32_t>(out, *this); break;
    case DataType::kInt64: StoreAll<int64_t>(out, *this); break;
    case DataType::kUint64: StoreAll<uint64_t>(out, *this); break;
    case DataType::kBool: {
      auto* dst = out.mutable_data<uint8_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = GetDouble(i) != 0.0 ? 1 : 0;
      break;
    }
    case DataType::kFloat16: {
      auto* dst = out.mutable_data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = FloatToHalf(static_cast<float>(GetDouble(i)));
      break;
    }
    case DataType::kBfloat16: {
      auto* dst = out.mutable_data<uint16_t>();
      for (int64_t i = 0; i < n; ++i) dst[i] = FloatToBfloat16(static_cast<float>(GetDouble(i)));
      break;
    }
    default: throw std::invalid_argument("unsupported cast to " + std::string(DataTypeName(type)));
  }
  return out;
}

bool Tensor::SameContents(const Tensor& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  if (dtype_ == DataType::kString) return strings_ == other.strings_;
  return bytes() == other.bytes();
}

size_t Tensor::ContentHash() const {
  size_t h = std::hash<std::string_view>{}(std::string_view(bytes()));
  h ^= static_cast<size_t>(dtype_) * 0x9e3779b97f4a7c15ull;
  for (int64_t d : shape_) h = h * 31 + static_cast<size_t>(d);
  for (const auto& s : strings_) h = h * 131 + std::hash<std::string>{}(s);
  return h;
}

std::vector<double> ToDoubles(const Tensor& t) {
  const auto n = static_cast<size_t>(t.size());
  if (t.dtype() == DataType::kFloat) {
    const float* p = t.data<float>();
    return std::vector<double>(p, p + n);
  }
  if (t.dtype() == DataType::kDouble) {
    const double* p = t.data<double>();
    return std::vector<double>(p, p + n);
  }
  std::vector<double> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = t.GetDouble(static_cast<int64_t>(i));
  return out;
}

}  // namespace graphopt
