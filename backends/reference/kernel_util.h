// Helpers every kernel family shares: dtype dispatch, broadcasting, axis handling.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"

namespace graphopt::reference {

// Normalizes a possibly negative axis against `rank`; false when out of range.
bool NormalizeAxis(int64_t& axis, int64_t rank);

// Numpy-style broadcast of two or more shapes; false when they are incompatible.
bool BroadcastShapes(const std::vector<Shape>& shapes, Shape* out);

// Row-major strides of a shape.
std::vector<int64_t> Strides(const Shape& shape);

// For each output element (row-major over `out_shape`), the flat index into an input of
// `in_shape` broadcast to it. Precomputed once per call; kernels then loop over a flat table.
std::vector<int64_t> BroadcastIndex(const Shape& in_shape, const Shape& out_shape);

// Calls `fn(x)` with x a value of the C++ type matching `type` (a tag: float{}, int64_t{}...);
// returns false for types not in the list. float16/bfloat16 are not dispatched here: kernels
// convert them to float first (ToFloatTensor) and back (FromFloatTensor).
template <typename Fn>
bool DispatchNumeric(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat: fn(float{}); return true;
    case DataType::kDouble: fn(double{}); return true;
    case DataType::kInt8: fn(int8_t{}); return true;
    case DataType::kUint8: fn(uint8_t{}); return true;
    case DataType::kInt16: fn(int16_t{}); return true;
    case DataType::kUint16: fn(uint16_t{}); return true;
    case DataType::kInt32: fn(int32_t{}); return true;
    case DataType::kUint32: fn(uint32_t{}); return true;
    case DataType::kInt64: fn(int64_t{}); return true;
    case DataType::kUint64: fn(uint64_t{}); return true;
    default: return false;
  }
}

template <typename Fn>
bool DispatchFloat(DataType type, Fn&& fn) {
  switch (type) {
    case DataType::kFloat: fn(float{}); return true;
    case DataType::kDouble: fn(double{}); return true;
    default: return false;
  }
}

// True for float16/bfloat16, which kernels compute in float32.
inline bool IsHalfLike(DataType t) { return t == DataType::kFloat16 || t == DataType::kBfloat16; }
// float16/bfloat16 -> float32 copy; other types returned as is.
Tensor ToFloatTensor(const Tensor& t);
// float32 -> `type` (float16/bfloat16) copy; other types returned as is.
Tensor FromFloatTensor(const Tensor& t, DataType type);

// Reads an optional int64 1-D input (axes, pads, shape...) or returns `def`.
std::vector<int64_t> OptionalInts(const KernelContext& ctx, size_t i, std::vector<int64_t> def = {});

// ---- Added by the executor/tensor-manipulation owner: element-width dispatch and index-table
// gathers, shared by the data-movement kernels (tensor_manipulation, gather_scatter, control_flow).

// 16-byte element (complex128) moved as an opaque value.
struct Bytes16 {
  uint64_t lo, hi;
};

// Calls `fn(T{})` with T an unsigned type as wide as one element of `type` (uint8_t..uint64_t,
// Bytes16), or std::string for string tensors. For kernels that only move elements around.
template <typename Fn>
bool DispatchByWidth(DataType type, Fn&& fn) {
  if (type == DataType::kString) {
    fn(std::string{});
    return true;
  }
  switch (ElementSize(type)) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    case 16: fn(Bytes16{}); return true;
    default: return false;
  }
}

// Typed element pointers that also work for string tensors (T = std::string).
template <typename T>
const T* ElementsOf(const Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.strings().data();
  } else {
    return t.data<T>();
  }
}
template <typename T>
T* MutableElementsOf(Tensor& t) {
  if constexpr (std::is_same_v<T, std::string>) {
    return t.mutable_strings().data();
  } else {
    return t.mutable_data<T>();
  }
}

// For an output of shape {offsets[0].size(), offsets[1].size(), ...}: the flat input index of
// each output element (row-major), where offsets[a][i] is what output coordinate i along axis a
// adds to the input index (coordinate times input stride), or -1 for "no input element" (the
// whole output element becomes -1, e.g. constant padding). Serves Transpose, Slice, Tile, Pad...
std::vector<int64_t> OffsetTableIndex(const std::vector<std::vector<int64_t>>& offsets);

// out[i] = in[index[i]] (or `fill`'s single element, zero when null, where index[i] is -1).
Tensor GatherFlat(const Tensor& in, const Shape& out_shape, const std::vector<int64_t>& index,
                  const Tensor* fill = nullptr);

// Output axis k is input axis perm[k] (perm must be a valid permutation).
Tensor TransposeTensor(const Tensor& in, const std::vector<int64_t>& perm);

// Stacks equally shaped tensors along a new leading axis ({n} + part shape); false when the
// parts differ in shape or type. (Loop/Scan outputs.)
bool StackTensors(const std::vector<Tensor>& parts, Tensor* out);

}  // namespace graphopt::reference
