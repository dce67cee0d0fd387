// Broadcast plans and input checks shared by the element-wise kernel families.
#include "backends/reference/kernels/elementwise_util.h"

namespace graphopt::reference {

bool MakeBroadcastPlan(const std::vector<Shape>& inputs, BroadcastPlan* plan) {
  Shape out;
  if (!BroadcastShapes(inputs, &out)) return false;
  return MakeBroadcastPlanTo(inputs, out, plan);
}

bool MakeBroadcastPlanTo(const std::vector<Shape>& inputs, const Shape& out, BroadcastPlan* plan) {
  const size_t rank = out.size();
  const size_t n = inputs.size();
  // Every input padded on the left to the output's rank.
  std::vector<Shape> padded(n);
  for (size_t k = 0; k < n; ++k) {
    if (inputs[k].size() > rank) return false;
    padded[k].assign(rank - inputs[k].size(), 1);
    padded[k].insert(padded[k].end(), inputs[k].begin(), inputs[k].end());
    for (size_t i = 0; i < rank; ++i) {
      if (padded[k][i] != out[i] && padded[k][i] != 1) return false;
    }
  }
  plan->out_shape = out;
  plan->out_size = NumElements(out);
  plan->dims.clear();
  // Per merged dim, whether each input runs along it (true) or is broadcast (false).
  std::vector<std::vector<bool>> full;
  for (size_t i = 0; i < rank; ++i) {
    if (out[i] == 1) continue;
    std::vector<bool> flags(n);
    for (size_t k = 0; k < n; ++k) flags[k] = padded[k][i] == out[i];
    if (!full.empty() && full.back() == flags) {
      plan->dims.back() *= out[i];
    } else {
      plan->dims.push_back(out[i]);
      full.push_back(std::move(flags));
    }
  }
  if (plan->dims.empty()) {
    plan->dims.push_back(1);
    full.emplace_back(n, false);
  }
  plan->strides.assign(n, std::vector<int64_t>(plan->dims.size(), 0));
  for (size_t k = 0; k < n; ++k) {
    int64_t running = 1;
    for (int64_t d = static_cast<int64_t>(plan->dims.size()) - 1; d >= 0; --d) {
      const auto i = static_cast<size_t>(d);
      if (full[i][k]) {
        plan->strides[k][i] = running;
        running *= plan->dims[i];
      }
    }
  }
  return true;
}

std::string ShapesToString(const std::vector<Shape>& shapes) {
  std::string s;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (i) s += " vs ";
    s += ShapeToString(shapes[i]);
  }
  return s;
}

Result<const Tensor*> RequiredInput(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  if (!t) return ctx.Fail("required input " + std::to_string(i) + " is missing");
  return t;
}

Status UnsupportedType(const KernelContext& ctx, DataType t) {
  return ctx.Fail("element type " + std::string(DataTypeName(t)) + " is not supported");
}

Result<std::vector<int64_t>> OptionalIntegerInput(const KernelContext& ctx, size_t i) {
  const Tensor* t = ctx.input(i);
  if (!t) return std::vector<int64_t>{};
  if (!IsInteger(t->dtype())) {
    return ctx.Fail("input " + std::to_string(i) + " must be an integer tensor, not " +
                    std::string(DataTypeName(t->dtype())));
  }
  return t->ToInt64Vector();
}

Result<Tensor> AlignLegacyBroadcast(const KernelContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7) return b;
  if (ctx.node().GetInt("broadcast", 0) == 0) {
    if (a.shape() != b.shape()) {
      return ctx.Fail("shapes " + ShapesToString({a.shape(), b.shape()}) +
                      " differ and attribute broadcast is not set");
    }
    return b;
  }
  int64_t axis = ctx.node().GetInt("axis", a.rank() - b.rank());
  if (axis < 0) axis += a.rank();
  if (axis < 0 || axis + b.rank() > a.rank()) {
    return ctx.Fail("legacy broadcast axis " + std::to_string(axis) + " does not fit B's rank");
  }
  Shape shape(static_cast<size_t>(axis), 1);
  shape.insert(shape.end(), b.shape().begin(), b.shape().end());
  shape.resize(static_cast<size_t>(a.rank()), 1);
  return b.Reshaped(shape);
}

}  // namespace graphopt::reference
