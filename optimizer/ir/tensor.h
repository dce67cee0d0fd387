// A dense tensor: element type, shape and little-endian bytes. Initializers, constant-folding
// results and executor values all use it; copies share the bytes (copy-on-write by convention:
// code that mutates a tensor's bytes must own them, see mutable_data()).
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "optimizer/ir/data_type.h"

namespace graphopt {

using Shape = std::vector<int64_t>;

// Thrown when a shape's element count (or its size in bytes) does not fit in int64: a model
// can ask for [2^32, 2^32] elements, which must be refused, never wrapped to a small number.
class ElementCountOverflow : public std::overflow_error {
 public:
  using std::overflow_error::overflow_error;
};

// Product of the dims; 1 for a scalar, 0 when any dim is 0. Throws ElementCountOverflow when the
// product does not fit in int64.
int64_t NumElements(const Shape& shape);
// The same without throwing: false when the element count, or count * element_size bytes,
// overflows int64; otherwise sets *bytes (when given).
bool ElementCountFits(const Shape& shape, size_t element_size, int64_t* bytes = nullptr);
std::string ShapeToString(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor of the given type and shape.
  Tensor(DataType type, Shape shape);
  // Takes ownership of `bytes`, which must hold exactly NumElements(shape)*ElementSize(type).
  Tensor(DataType type, Shape shape, std::string bytes);

  static Tensor Strings(Shape shape, std::vector<std::string> values);
  template <typename T>
  static Tensor FromVector(DataType type, Shape shape, const std::vector<T>& values);
  static Tensor ScalarFloat(float v) { return FromVector<float>(DataType::kFloat, {}, {v}); }
  static Tensor Int64s(const std::vector<int64_t>& v) {
    return FromVector<int64_t>(DataType::kInt64, {static_cast<int64_t>(v.size())}, v);
  }

  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size() const { return NumElements(shape_); }
  size_t nbytes() const { return bytes_ ? bytes_->size() : 0; }
  bool defined() const { return dtype_ != DataType::kUndefined; }

  const void* raw() const { return bytes_ ? bytes_->data() : nullptr; }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(raw()); }
  // Mutable access; detaches from other holders of the same bytes first.
  void* mutable_raw();
  template <typename T>
  T* mutable_data() { return reinterpret_cast<T*>(mutable_raw()); }

  const std::string& bytes() const;
  // The owned byte buffer, for zero-copy hand-over (e.g. into a TensorProto while saving).
  // Only valid when this tensor is the sole holder; returns nullptr otherwise.
  std::string* exclusive_bytes();

  const std::vector<std::string>& strings() const { return strings_; }
  std::vector<std::string>& mutable_strings() { return strings_; }

  // Same bytes, another shape with the same element count.
  Tensor Reshaped(Shape shape) const;
  // Reads element i converted to double / int64 (any numeric dtype).
  double GetDouble(int64_t i) const;
  int64_t GetInt64(int64_t i) const;
  // Values as int64 (for shape-like inputs: int32 or int64).
  std::vector<int64_t> ToInt64Vector() const;
  // Element-wise converted copy (numeric types and bool).
  Tensor CastTo(DataType type) const;

  // True when type, shape and bytes (or strings) are identical.
  bool SameContents(const Tensor& other) const;
  // Content hash for de-duplicating initializers.
  size_t ContentHash() const;

 private:
  DataType dtype_ = DataType::kUndefined;
  Shape shape_;
  std::shared_ptr<std::string> bytes_;
  std::vector<std::string> strings_;  // only for DataType::kString
};

template <typename T>
Tensor Tensor::FromVector(DataType type, Shape shape, const std::vector<T>& values) {
  std::string bytes(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return Tensor(type, std::move(shape), std::move(bytes));
}

// A numeric tensor's values widened to double (throws on strings, like GetDouble); float and
// double (nearly every weight) skip the per-element type dispatch, which matters for tens of
// millions of weights.
std::vector<double> ToDoubles(const Tensor& t);

}  // namespace graphopt
