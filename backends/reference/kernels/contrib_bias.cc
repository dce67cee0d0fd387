// ONNX Runtime's CUDA-provider bias fusions: BiasAdd (X + bias + skip) and BiasSoftmax
// (softmax(data + bias) with the bias repeated over outer or inner batch rows).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/float_compute.h"

namespace graphopt::reference {
namespace {

Status BiasAddKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor* x = in[0];
    const Tensor* bias = in[1];
    const Tensor* skip = in[2];
    if (!bias || !skip) return ctx.Fail("inputs X, bias and skip are required");
    if (x->rank() != 3 || skip->shape() != x->shape() || bias->rank() != 1 ||
        bias->shape()[0] != x->shape()[2]) {
      return ctx.Fail("X and skip must be (N, S, C) and bias (C); got " +
                      ShapeToString(x->shape()) + ", " + ShapeToString(bias->shape()) + ", " +
                      ShapeToString(skip->shape()));
    }
    const int64_t channels = x->shape()[2];
    Tensor y(x->dtype(), x->shape());
    const T* xp = x->data<T>();
    const T* bp = bias->data<T>();
    const T* sp = skip->data<T>();
    T* yp = y.mutable_data<T>();
    for (int64_t i = 0; i < x->size(); ++i) yp[i] = xp[i] + bp[i % channels] + sp[i];
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

// Viewing data as [batch_count, element_count] rows (split at `axis`), bias holds
// bias_rows * element_count values; row r of data uses bias row r % bias_rows when the bias is
// broadcast over the outer axes, r / (batch_count / bias_rows) when over the inner ones.
Status BiasSoftmaxKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    const Tensor* x = in[0];
    const Tensor* bias = in[1];
    if (!bias) return ctx.Fail("input bias is required");
    if (!ctx.node().HasAttr("is_inner_broadcast")) {
      return ctx.Fail("attribute is_inner_broadcast is required");
    }
    const bool inner = ctx.node().GetInt("is_inner_broadcast", 0) != 0;
    int64_t axis = ctx.node().GetInt("axis", 1);
    if (!NormalizeAxis(axis, x->rank())) return ctx.Fail("axis out of range");
    const Shape& s = x->shape();
    int64_t rows = 1, elements = 1;
    for (int64_t d = 0; d < x->rank(); ++d)
      (d < axis ? rows : elements) *= s[static_cast<size_t>(d)];
    if (elements == 0 || bias->size() % elements != 0) {
      return ctx.Fail("bias " + ShapeToString(bias->shape()) + " does not tile rows of " +
                      std::to_string(elements));
    }
    const int64_t bias_rows = bias->size() / elements;
    if (bias_rows == 0 || rows % bias_rows != 0) {
      return ctx.Fail("bias " + ShapeToString(bias->shape()) + " does not broadcast to " +
                      ShapeToString(s));
    }
    const int64_t repeat = rows / bias_rows;
    Tensor y(x->dtype(), s);
    const T* xp = x->data<T>();
    const T* bp = bias->data<T>();
    T* yp = y.mutable_data<T>();
    std::vector<double> row(static_cast<size_t>(elements));
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t br = inner ? r / repeat : r % bias_rows;
      double max = -INFINITY;
      for (int64_t e = 0; e < elements; ++e) {
        const double v =
            static_cast<double>(xp[r * elements + e]) + static_cast<double>(bp[br * elements + e]);
        row[static_cast<size_t>(e)] = v;
        max = std::max(max, v);
      }
      double sum = 0;
      for (double& v : row) sum += (v = std::exp(v - max));
      for (int64_t e = 0; e < elements; ++e) {
        yp[r * elements + e] = static_cast<T>(row[static_cast<size_t>(e)] / sum);
      }
    }
    ctx.SetOutput(0, std::move(y));
    return Status::Ok();
  });
}

}  // namespace

REGISTER_KERNEL("com.microsoft", "BiasAdd", 1, 1, BiasAddKernel);
REGISTER_KERNEL("com.microsoft", "BiasSoftmax", 1, 1, BiasSoftmaxKernel);

}  // namespace graphopt::reference
