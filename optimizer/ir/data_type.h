// Element types of tensors, numbered as onnx.TensorProto.DataType so conversion is a cast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace graphopt {

enum class DataType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
};

// Bytes per element; 0 for string and undefined.
size_t ElementSize(DataType type);
std::string_view DataTypeName(DataType type);
bool IsFloatingPoint(DataType type);
bool IsInteger(DataType type);
// The values of a quantized integer type (uint8, int8, uint16, int16, int32); false for others.
bool QuantizedRange(DataType type, int64_t* lo, int64_t* hi);

// IEEE half and bfloat16 conversions (float16 tensors are stored as raw 16-bit patterns).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float Bfloat16ToFloat(uint16_t b);
uint16_t FloatToBfloat16(float f);

}  // namespace graphopt
