// Runs a floating-point kernel body once as a template: float32/float64 directly, float16 and
// bfloat16 in float32 (inputs converted in, float outputs converted back to the input type).
#pragma once

#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace graphopt::reference {

// The node's inputs with float16/bfloat16 ones replaced by float32 copies it owns.
class FloatInputs {
 public:
  explicit FloatInputs(const KernelContext& ctx) {
    converted_.resize(ctx.num_inputs());
    pointers_.resize(ctx.num_inputs(), nullptr);
    for (size_t i = 0; i < ctx.num_inputs(); ++i) {
      const Tensor* t = ctx.input(i);
      if (t && IsHalfLike(t->dtype())) {
        converted_[i] = ToFloatTensor(*t);
        pointers_[i] = &converted_[i];
      } else {
        pointers_[i] = t;
      }
    }
  }
  // nullptr for an omitted input.
  const Tensor* operator[](size_t i) const { return i < pointers_.size() ? pointers_[i] : nullptr; }

 private:
  std::vector<Tensor> converted_;
  std::vector<const Tensor*> pointers_;
};

// Calls `body(T{}, inputs)` (T = float or double) chosen by input 0's element type; returns
// Unsupported for non-float types. `body` sets outputs on `ctx` and returns a Status.
template <typename Body>
Status ComputeInFloat(KernelContext& ctx, Body&& body) {
  const Tensor* x = ctx.input(0);
  if (!x) return ctx.Fail("input 0 is missing");
  const DataType type = x->dtype();
  FloatInputs inputs(ctx);
  Status status;
  if (type == DataType::kFloat || IsHalfLike(type)) {
    status = body(float{}, inputs);
  } else if (type == DataType::kDouble) {
    status = body(double{}, inputs);
  } else {
    return ctx.Unsupported("element type " + std::string(DataTypeName(type)));
  }
  if (!status.ok() || !IsHalfLike(type)) return status;
  for (Tensor& out : ctx.outputs()) {
    if (out.defined() && out.dtype() == DataType::kFloat) out = FromFloatTensor(out, type);
  }
  return Status::Ok();
}

// The DataType code of float or double.
template <typename T>
constexpr DataType FloatTypeOf() {
  return sizeof(T) == 4 ? DataType::kFloat : DataType::kDouble;
}

}  // namespace graphopt::reference
