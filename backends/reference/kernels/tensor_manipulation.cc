// Shape and data-movement kernels: Identity, Constant*, Shape, Size, Reshape, Flatten,
// Squeeze/Unsqueeze, Transpose, Concat, Split, Slice, Expand, Tile, Pad, Range, DepthToSpace,
// SpaceToDepth, Trilu, EyeLike, OneHot, ReverseSequence. Every kernel here is dtype-agnostic
// except Range/EyeLike: elements move through index tables (kernel_util's OffsetTableIndex).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace graphopt::reference {
namespace {

// ---------------------------------------------------------------- shared helpers

// Copies in[:, src_begin:src_begin+len, :] (axis viewed as outer x dim x inner) into
// out[:, dst_begin:dst_begin+len, :].
void CopyAxisRange(const Tensor& in, int64_t axis, int64_t src_begin, int64_t len, Tensor& out,
                   int64_t dst_begin) {
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= in.shape()[static_cast<size_t>(a)];
  for (int64_t a = axis + 1; a < in.rank(); ++a) inner *= in.shape()[static_cast<size_t>(a)];
  const int64_t in_dim = in.shape()[static_cast<size_t>(axis)];
  const int64_t out_dim = out.shape()[static_cast<size_t>(axis)];
  DispatchByWidth(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = ElementsOf<T>(in);
    T* dst = MutableElementsOf<T>(out);
    for (int64_t o = 0; o < outer; ++o) {
      const T* s = src + (o * in_dim + src_begin) * inner;
      std::copy(s, s + len * inner, dst + (o * out_dim + dst_begin) * inner);
    }
  });
}

// Axes from the attribute (older opsets) or from input `index` (newer ones).
std::vector<int64_t> AxesArg(const KernelContext& ctx, int64_t input_since, size_t index) {
  if (ctx.opset() >= input_since) return OptionalInts(ctx, index);
  return ctx.node().GetInts("axes");
}

// A one-element tensor holding `value` in `type` (for pad/fill values given as floats).
Tensor ScalarOf(DataType type, double value) {
  Tensor f = Tensor::FromVector<double>(DataType::kDouble, {}, {value});
  return f.CastTo(type);
}

// ---------------------------------------------------------------- simple ones

Status Identity(KernelContext& ctx) {
  if (!ctx.input(0)) return ctx.Unsupported("Identity of a non-tensor value");
  ctx.SetOutput(0, *ctx.input(0));
  return Status::Ok();
}

Status Constant(KernelContext& ctx) {
  const ir::Node& n = ctx.node();
  if (const auto* a = n.attr("value")) {
    ctx.SetOutput(0, a->t);
  } else if (const auto* a = n.attr("value_float")) {
    ctx.SetOutput(0, Tensor::ScalarFloat(a->f));
  } else if (const auto* a = n.attr("value_floats")) {
    ctx.SetOutput(0, Tensor::FromVector<float>(
                         DataType::kFloat, {static_cast<int64_t>(a->floats.size())}, a->floats));
  } else if (const auto* a = n.attr("value_int")) {
    ctx.SetOutput(0, Tensor::FromVector<int64_t>(DataType::kInt64, {}, {a->i}));
  } else if (const auto* a = n.attr("value_ints")) {
    ctx.SetOutput(0, Tensor::Int64s(a->ints));
  } else if (const auto* a = n.attr("value_string")) {
    ctx.SetOutput(0, Tensor::Strings({}, {a->s}));
  } else if (const auto* a = n.attr("value_strings")) {
    ctx.SetOutput(0, Tensor::Strings({static_cast<int64_t>(a->strings.size())}, a->strings));
  } else if (n.HasAttr("sparse_value")) {
    return ctx.Unsupported("sparse_value constants are not supported");
  } else {
    return ctx.Fail("Constant has no value attribute");
  }
  return Status::Ok();
}

Status ConstantOfShape(KernelContext& ctx) {
  const Shape shape = ctx.input(0)->ToInt64Vector();
  for (int64_t d : shape) {
    if (d < 0) return ctx.Fail("negative dimension in shape " + ShapeToString(shape));
  }
  Tensor value = Tensor::ScalarFloat(0.0f);
  if (const auto* a = ctx.node().attr("value")) {
    if (a->t.size() != 1) return ctx.Fail("value must hold exactly one element");
    value = a->t;
  }
  ctx.SetOutput(0, GatherFlat(value, shape,
                              std::vector<int64_t>(static_cast<size_t>(NumElements(shape)), 0)));
  return Status::Ok();
}

Status ShapeKernel(KernelContext& ctx) {
  const Shape& shape = ctx.input(0)->shape();
  const auto rank = static_cast<int64_t>(shape.size());
  int64_t start = ctx.node().GetInt("start", 0);
  int64_t end = ctx.node().GetInt("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) dims.push_back(shape[static_cast<size_t>(i)]);
  ctx.SetOutput(0, Tensor::Int64s(dims));
  return Status::Ok();
}

Status Size(KernelContext& ctx) {
  ctx.SetOutput(0, Tensor::FromVector<int64_t>(DataType::kInt64, {}, {ctx.input(0)->size()}));
  return Status::Ok();
}

Status Reshape(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  std::vector<int64_t> target;
  if (ctx.opset() >= 5) {
    if (!ctx.input(1)) return ctx.Fail("Reshape needs a shape input");
    target = ctx.input(1)->ToInt64Vector();
  } else {
    target = ctx.node().GetInts("shape");
  }
  const bool allow_zero = ctx.node().GetInt("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == 0 && !allow_zero) {
      if (i >= in.shape().size())
        return ctx.Fail("shape copies dim " + std::to_string(i) + " that the input does not have");
      d = in.shape()[i];
    }
    if (d == -1) {
      if (infer >= 0) return ctx.Fail("shape has more than one -1");
      infer = static_cast<int64_t>(i);
      continue;
    }
    if (d < 0) return ctx.Fail("invalid dim " + std::to_string(d) + " in shape");
    out[i] = d;
    known *= d;
  }
  if (infer >= 0) {
    if (known == 0 || in.size() % known != 0) {
      return ctx.Fail("cannot infer -1 reshaping " + ShapeToString(in.shape()) + " to " +
                      ShapeToString(target));
    }
    out[static_cast<size_t>(infer)] = in.size() / known;
  }
  if (NumElements(out) != in.size()) {
    return ctx.Fail("cannot reshape " + ShapeToString(in.shape()) + " to " + ShapeToString(target));
  }
  ctx.SetOutput(0, in.Reshaped(out));
  return Status::Ok();
}

Status Flatten(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  int64_t axis = ctx.node().GetInt("axis", 1);
  if (axis < 0) axis += in.rank();
  if (axis < 0 || axis > in.rank()) return ctx.Fail("axis out of range");
  int64_t outer = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= in.shape()[static_cast<size_t>(a)];
  const int64_t inner = outer == 0 ? 0 : in.size() / outer;
  int64_t inner_dims = 1;
  for (int64_t a = axis; a < in.rank(); ++a) inner_dims *= in.shape()[static_cast<size_t>(a)];
  ctx.SetOutput(0, in.Reshaped({outer, outer == 0 ? inner_dims : inner}));
  return Status::Ok();
}

Status Squeeze(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  std::vector<int64_t> axes = AxesArg(ctx, 13, 1);
  std::vector<bool> drop(in.shape().size(), false);
  if (axes.empty()) {
    for (size_t a = 0; a < drop.size(); ++a) drop[a] = in.shape()[a] == 1;
  }
  for (int64_t a : axes) {
    if (!NormalizeAxis(a, in.rank()) || a >= in.rank()) return ctx.Fail("axis out of range");
    if (in.shape()[static_cast<size_t>(a)] != 1) {
      return ctx.Fail("cannot squeeze axis " + std::to_string(a) + " of size " +
                      std::to_string(in.shape()[static_cast<size_t>(a)]));
    }
    drop[static_cast<size_t>(a)] = true;
  }
  Shape out;
  for (size_t a = 0; a < drop.size(); ++a) {
    if (!drop[a]) out.push_back(in.shape()[a]);
  }
  ctx.SetOutput(0, in.Reshaped(out));
  return Status::Ok();
}

Status Unsqueeze(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  std::vector<int64_t> axes = AxesArg(ctx, 13, 1);
  const int64_t out_rank = in.rank() + static_cast<int64_t>(axes.size());
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) {
    if (!NormalizeAxis(a, out_rank) || a >= out_rank) return ctx.Fail("axis out of range");
    if (inserted[static_cast<size_t>(a)]) return ctx.Fail("duplicate axis");
    inserted[static_cast<size_t>(a)] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t a = 0; a < out_rank; ++a) {
    out.push_back(inserted[static_cast<size_t>(a)] ? 1 : in.shape()[next++]);
  }
  ctx.SetOutput(0, in.Reshaped(out));
  return Status::Ok();
}

Status Transpose(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  std::vector<int64_t> perm = ctx.node().GetInts("perm");
  if (perm.empty()) {
    for (int64_t a = in.rank() - 1; a >= 0; --a) perm.push_back(a);
  }
  if (static_cast<int64_t>(perm.size()) != in.rank()) return ctx.Fail("perm does not match rank");
  std::vector<bool> seen(perm.size(), false);
  for (int64_t& p : perm) {
    if (!NormalizeAxis(p, in.rank()) || seen[static_cast<size_t>(p)]) {
      return ctx.Fail("perm is not a permutation");
    }
    seen[static_cast<size_t>(p)] = true;
  }
  ctx.SetOutput(0, TransposeTensor(in, perm));
  return Status::Ok();
}

Status Concat(KernelContext& ctx) {
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i)) ins.push_back(ctx.input(i));
  }
  if (ins.empty()) return ctx.Fail("Concat needs inputs");
  const Tensor& first = *ins[0];
  int64_t axis = ctx.node().GetInt("axis", ctx.opset() < 4 ? 1 : 0);
  if (!NormalizeAxis(axis, first.rank()) || axis >= first.rank()) {
    return ctx.Fail("axis out of range");
  }
  Shape out_shape = first.shape();
  out_shape[static_cast<size_t>(axis)] = 0;
  for (const Tensor* t : ins) {
    if (t->rank() != first.rank() || t->dtype() != first.dtype()) {
      return ctx.Fail("inputs differ in rank or type");
    }
    for (int64_t a = 0; a < first.rank(); ++a) {
      if (a != axis &&
          t->shape()[static_cast<size_t>(a)] != first.shape()[static_cast<size_t>(a)]) {
        return ctx.Fail("input shapes " + ShapeToString(first.shape()) + " and " +
                        ShapeToString(t->shape()) + " differ off the concat axis");
      }
    }
    out_shape[static_cast<size_t>(axis)] += t->shape()[static_cast<size_t>(axis)];
  }
  Tensor out(first.dtype(), out_shape);
  int64_t offset = 0;
  for (const Tensor* t : ins) {
    const int64_t len = t->shape()[static_cast<size_t>(axis)];
    CopyAxisRange(*t, axis, 0, len, out, offset);
    offset += len;
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status Split(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  int64_t axis = ctx.node().GetInt("axis", 0);
  if (!NormalizeAxis(axis, in.rank()) || axis >= in.rank()) return ctx.Fail("axis out of range");
  const int64_t dim = in.shape()[static_cast<size_t>(axis)];
  const auto n = static_cast<int64_t>(ctx.num_outputs());
  std::vector<int64_t> sizes =
      ctx.opset() >= 13 ? OptionalInts(ctx, 1) : ctx.node().GetInts("split");
  if (ctx.opset() < 13 && sizes.empty() && ctx.input(1)) sizes = ctx.input(1)->ToInt64Vector();
  if (sizes.empty()) {
    if (ctx.node().HasAttr("num_outputs")) {
      const int64_t parts = ctx.node().GetInt("num_outputs", n);
      const int64_t chunk = (dim + parts - 1) / parts;
      for (int64_t i = 0; i < parts; ++i)
        sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - chunk * i)));
    } else {
      if (dim % n != 0)
        return ctx.Fail("axis of size " + std::to_string(dim) + " does not split evenly into " +
                        std::to_string(n));
      sizes.assign(static_cast<size_t>(n), dim / n);
    }
  }
  if (static_cast<int64_t>(sizes.size()) != n) return ctx.Fail("split sizes do not match outputs");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if (total != dim) return ctx.Fail("split sizes do not sum to the axis size");
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    Shape shape = in.shape();
    shape[static_cast<size_t>(axis)] = sizes[static_cast<size_t>(i)];
    Tensor out(in.dtype(), shape);
    CopyAxisRange(in, axis, offset, sizes[static_cast<size_t>(i)], out, 0);
    offset += sizes[static_cast<size_t>(i)];
    ctx.SetOutput(static_cast<size_t>(i), std::move(out));
  }
  return Status::Ok();
}

Status Slice(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() >= 10) {
    if (!ctx.input(1) || !ctx.input(2)) return ctx.Fail("Slice needs starts and ends");
    starts = ctx.input(1)->ToInt64Vector();
    ends = ctx.input(2)->ToInt64Vector();
    axes = OptionalInts(ctx, 3);
    steps = OptionalInts(ctx, 4);
  } else {
    starts = ctx.node().GetInts("starts");
    ends = ctx.node().GetInts("ends");
    axes = ctx.node().GetInts("axes");
  }
  if (starts.size() != ends.size()) return ctx.Fail("starts and ends differ in length");
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size()) {
    return ctx.Fail("axes/steps differ in length from starts");
  }
  const auto strides = Strides(in.shape());
  std::vector<std::vector<int64_t>> offsets(in.shape().size());
  Shape out_shape = in.shape();
  std::vector<bool> sliced(in.shape().size(), false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes[i];
    if (!NormalizeAxis(axis, in.rank()) || axis >= in.rank()) return ctx.Fail("axis out of range");
    const auto a = static_cast<size_t>(axis);
    if (sliced[a]) return ctx.Fail("axis repeated");
    sliced[a] = true;
    const int64_t dim = in.shape()[a];
    const int64_t step = steps[i];
    if (step == 0) return ctx.Fail("step must not be 0");
    int64_t start = starts[i], end = ends[i];
    if (start < 0) start += dim;  // no overflow: dim >= 0
    if (end < 0) end += dim;
    int64_t count;
    if (step > 0) {
      start = std::clamp<int64_t>(start, 0, dim);
      end = std::clamp<int64_t>(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = std::clamp<int64_t>(start, 0, dim - 1);
      end = std::clamp<int64_t>(end, -1, dim - 1);
      count = start > end ? (start - end + (-step) - 1) / (-step) : 0;
    }
    out_shape[a] = count;
    offsets[a].resize(static_cast<size_t>(count));
    for (int64_t k = 0; k < count; ++k)
      offsets[a][static_cast<size_t>(k)] = (start + k * step) * strides[a];
  }
  for (size_t a = 0; a < offsets.size(); ++a) {
    if (sliced[a]) continue;
    offsets[a].resize(static_cast<size_t>(in.shape()[a]));
    for (int64_t k = 0; k < in.shape()[a]; ++k) offsets[a][static_cast<size_t>(k)] = k * strides[a];
  }
  ctx.SetOutput(0, GatherFlat(in, out_shape, OffsetTableIndex(offsets)));
  return Status::Ok();
}

Status Expand(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Shape target = ctx.input(1)->ToInt64Vector();
  Shape out_shape;
  if (!BroadcastShapes({in.shape(), target}, &out_shape)) {
    return ctx.Fail("cannot expand " + ShapeToString(in.shape()) + " to " + ShapeToString(target));
  }
  ctx.SetOutput(0, GatherFlat(in, out_shape, BroadcastIndex(in.shape(), out_shape)));
  return Status::Ok();
}

Status Tile(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const std::vector<int64_t> repeats = ctx.input(1)->ToInt64Vector();
  if (static_cast<int64_t>(repeats.size()) != in.rank()) return ctx.Fail("repeats must match rank");
  const auto strides = Strides(in.shape());
  std::vector<std::vector<int64_t>> offsets(repeats.size());
  Shape out_shape(repeats.size());
  for (size_t a = 0; a < repeats.size(); ++a) {
    if (repeats[a] < 0) return ctx.Fail("negative repeat");
    const int64_t dim = in.shape()[a];
    out_shape[a] = dim * repeats[a];
    offsets[a].resize(static_cast<size_t>(out_shape[a]));
    for (int64_t i = 0; i < out_shape[a]; ++i)
      offsets[a][static_cast<size_t>(i)] = (i % dim) * strides[a];
  }
  ctx.SetOutput(0, GatherFlat(in, out_shape, OffsetTableIndex(offsets)));
  return Status::Ok();
}

Status Pad(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const std::string mode = ctx.node().GetString("mode", "constant");
  std::vector<int64_t> pads;
  Tensor fill;
  std::vector<int64_t> axes;
  if (ctx.opset() >= 11) {
    if (!ctx.input(1)) return ctx.Fail("Pad needs pads");
    pads = ctx.input(1)->ToInt64Vector();
    if (ctx.input(2) && ctx.input(2)->size() > 0) fill = *ctx.input(2);
    axes = OptionalInts(ctx, 3);
  } else {
    pads = ctx.node().GetInts(ctx.node().HasAttr("pads") ? "pads" : "paddings");
    if (in.dtype() != DataType::kString) {
      fill = ScalarOf(in.dtype(), ctx.node().GetFloat("value", 0.0f));
    }
  }
  const int64_t rank = in.rank();
  if (axes.empty()) {
    for (int64_t a = 0; a < rank; ++a) axes.push_back(a);
  }
  const auto n_axes = axes.size();
  if (pads.size() != 2 * n_axes) return ctx.Fail("pads must hold 2 values per padded axis");
  std::vector<int64_t> begin(static_cast<size_t>(rank), 0), end(static_cast<size_t>(rank), 0);
  for (size_t i = 0; i < n_axes; ++i) {
    int64_t a = axes[i];
    if (!NormalizeAxis(a, rank) || a >= rank) return ctx.Fail("axis out of range");
    begin[static_cast<size_t>(a)] = pads[i];
    end[static_cast<size_t>(a)] = pads[i + n_axes];
  }
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap") {
    return ctx.Fail("unknown mode '" + mode + "'");
  }
  const auto strides = Strides(in.shape());
  std::vector<std::vector<int64_t>> offsets(static_cast<size_t>(rank));
  Shape out_shape(static_cast<size_t>(rank));
  for (size_t a = 0; a < static_cast<size_t>(rank); ++a) {
    const int64_t dim = in.shape()[a];
    out_shape[a] = dim + begin[a] + end[a];
    if (out_shape[a] < 0) return ctx.Fail("pads crop more than the axis holds");
    if (dim == 0 && out_shape[a] > 0 && mode != "constant") {
      return ctx.Fail("cannot " + mode + "-pad an empty axis");
    }
    offsets[a].resize(static_cast<size_t>(out_shape[a]));
    for (int64_t i = 0; i < out_shape[a]; ++i) {
      int64_t c = i - begin[a];
      if (c < 0 || c >= dim) {
        if (mode == "constant") {
          c = -1;
        } else if (mode == "edge") {
          c = std::clamp<int64_t>(c, 0, dim - 1);
        } else if (mode == "wrap") {
          c = ((c % dim) + dim) % dim;
        } else if (dim == 1) {
          c = 0;
        } else {
          const int64_t period = 2 * (dim - 1);
          c = ((c % period) + period) % period;
          if (c >= dim) c = period - c;
        }
      }
      offsets[a][static_cast<size_t>(i)] = c < 0 ? -1 : c * strides[a];
    }
  }
  ctx.SetOutput(
      0, GatherFlat(in, out_shape, OffsetTableIndex(offsets), fill.defined() ? &fill : nullptr));
  return Status::Ok();
}

template <typename T>
Tensor RangeOf(DataType type, T start, T limit, T delta) {
  const double count_d = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) /
                                   static_cast<double>(delta));
  const auto n = static_cast<int64_t>(std::max(0.0, count_d));
  Tensor out(type, {n});
  T* p = out.mutable_data<T>();
  T v = start;
  for (int64_t i = 0; i < n; ++i) {
    p[i] = v;
    v = static_cast<T>(v + delta);
  }
  return out;
}

Status Range(KernelContext& ctx) {
  const Tensor s = ToFloatTensor(*ctx.input(0));
  const Tensor& l = *ctx.input(1);
  const Tensor& d = *ctx.input(2);
  if (s.size() != 1 || l.size() != 1 || d.size() != 1) return ctx.Fail("inputs must be scalars");
  if (d.GetDouble(0) == 0) return ctx.Fail("delta must not be 0");
  Tensor out;
  const bool ok = DispatchNumeric(s.dtype(), [&](auto tag) {
    using T = decltype(tag);
    out = RangeOf<T>(s.dtype(), s.data<T>()[0], static_cast<T>(l.GetDouble(0)),
                     static_cast<T>(d.GetDouble(0)));
  });
  if (!ok) return ctx.Unsupported("Range of " + std::string(DataTypeName(s.dtype())));
  ctx.SetOutput(0, FromFloatTensor(out, ctx.input(0)->dtype()));
  return Status::Ok();
}

Status DepthToSpace(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  if (in.rank() != 4) return ctx.Fail("input must be 4-D");
  const int64_t b = ctx.node().GetInt("blocksize", 0);
  const int64_t n = in.shape()[0], c = in.shape()[1], h = in.shape()[2], w = in.shape()[3];
  if (b <= 0 || c % (b * b) != 0) return ctx.Fail("channels not divisible by blocksize^2");
  const bool crd = ctx.node().GetString("mode", "DCR") == "CRD";
  const int64_t oc = c / (b * b);
  Tensor t = crd ? in.Reshaped({n, oc, b, b, h, w}) : in.Reshaped({n, b, b, oc, h, w});
  Tensor moved =
      crd ? TransposeTensor(t, {0, 1, 4, 2, 5, 3}) : TransposeTensor(t, {0, 3, 4, 1, 5, 2});
  ctx.SetOutput(0, moved.Reshaped({n, oc, h * b, w * b}));
  return Status::Ok();
}

Status SpaceToDepth(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  if (in.rank() != 4) return ctx.Fail("input must be 4-D");
  const int64_t b = ctx.node().GetInt("blocksize", 0);
  const int64_t n = in.shape()[0], c = in.shape()[1], h = in.shape()[2], w = in.shape()[3];
  if (b <= 0 || h % b != 0 || w % b != 0)
    return ctx.Fail("spatial dims not divisible by blocksize");
  Tensor moved = TransposeTensor(in.Reshaped({n, c, h / b, b, w / b, b}), {0, 3, 5, 1, 2, 4});
  ctx.SetOutput(0, moved.Reshaped({n, c * b * b, h / b, w / b}));
  return Status::Ok();
}

Status Trilu(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  if (in.rank() < 2) return ctx.Fail("input must be at least 2-D");
  const int64_t k = ctx.input(1) ? ctx.input(1)->GetInt64(0) : 0;
  const bool upper = ctx.node().GetInt("upper", 1) != 0;
  const int64_t rows = in.shape()[static_cast<size_t>(in.rank() - 2)];
  const int64_t cols = in.shape()[static_cast<size_t>(in.rank() - 1)];
  std::vector<int64_t> index(static_cast<size_t>(in.size()));
  for (int64_t i = 0; i < in.size(); ++i) {
    const int64_t col = i % cols, row = (i / cols) % std::max<int64_t>(rows, 1);
    const bool keep = upper ? col - row >= k : col - row <= k;
    index[static_cast<size_t>(i)] = keep ? i : -1;
  }
  ctx.SetOutput(0, GatherFlat(in, in.shape(), index));
  return Status::Ok();
}

Status EyeLike(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  if (in.rank() != 2) return ctx.Fail("input must be 2-D");
  const auto type = ctx.node().HasAttr("dtype")
                        ? static_cast<DataType>(ctx.node().GetInt("dtype", 1))
                        : in.dtype();
  const int64_t k = ctx.node().GetInt("k", 0);
  const int64_t rows = in.shape()[0], cols = in.shape()[1];
  Tensor eye(DataType::kDouble, {rows, cols});
  double* p = eye.mutable_data<double>();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t c = r + k;
    if (c >= 0 && c < cols) p[r * cols + c] = 1.0;
  }
  ctx.SetOutput(0, eye.CastTo(type));
  return Status::Ok();
}

Status OneHot(KernelContext& ctx) {
  const Tensor& indices = *ctx.input(0);
  const auto depth = static_cast<int64_t>(ctx.input(1)->GetDouble(0));
  const Tensor& values = *ctx.input(2);
  if (values.size() != 2) return ctx.Fail("values must hold [off, on]");
  if (depth < 1) return ctx.Fail("depth must be positive");
  const int64_t out_rank = indices.rank() + 1;
  int64_t axis = ctx.node().GetInt("axis", -1);
  if (!NormalizeAxis(axis, out_rank) || axis >= out_rank) return ctx.Fail("axis out of range");
  Shape out_shape = indices.shape();
  out_shape.insert(out_shape.begin() + axis, depth);
  int64_t outer = 1, inner = 1;
  for (int64_t a = 0; a < axis; ++a) outer *= indices.shape()[static_cast<size_t>(a)];
  for (int64_t a = axis; a < indices.rank(); ++a) inner *= indices.shape()[static_cast<size_t>(a)];
  std::vector<int64_t> index(static_cast<size_t>(NumElements(out_shape)));
  size_t pos = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t d = 0; d < depth; ++d) {
      for (int64_t i = 0; i < inner; ++i) {
        auto hot = static_cast<int64_t>(indices.GetDouble(o * inner + i));
        if (hot < 0) hot += depth;
        index[pos++] = hot == d ? 1 : 0;
      }
    }
  }
  ctx.SetOutput(0, GatherFlat(values.Reshaped({2}), out_shape, index));
  return Status::Ok();
}

Status ReverseSequence(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const std::vector<int64_t> lens = ctx.input(1)->ToInt64Vector();
  const int64_t time_axis = ctx.node().GetInt("time_axis", 0);
  const int64_t batch_axis = ctx.node().GetInt("batch_axis", 1);
  if (in.rank() < 2 || time_axis < 0 || batch_axis < 0 || time_axis >= in.rank() ||
      batch_axis >= in.rank() || time_axis == batch_axis) {
    return ctx.Fail("bad time_axis/batch_axis");
  }
  const auto strides = Strides(in.shape());
  const auto t_axis = static_cast<size_t>(time_axis), b_axis = static_cast<size_t>(batch_axis);
  if (static_cast<int64_t>(lens.size()) != in.shape()[b_axis]) {
    return ctx.Fail("sequence_lens must have one entry per batch");
  }
  std::vector<int64_t> index(static_cast<size_t>(in.size()));
  for (int64_t i = 0; i < in.size(); ++i) {
    const int64_t t = (i / strides[t_axis]) % in.shape()[t_axis];
    const int64_t b = (i / strides[b_axis]) % in.shape()[b_axis];
    const int64_t len = lens[static_cast<size_t>(b)];
    index[static_cast<size_t>(i)] = t < len ? i + (len - 1 - 2 * t) * strides[t_axis] : i;
  }
  ctx.SetOutput(0, GatherFlat(in, in.shape(), index));
  return Status::Ok();
}

// Centers the input in the target size per axis: cropping takes the middle (the extra odd
// element comes off the end), padding adds zeros on both sides (the extra one at the end).
Status CenterCropPad(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const std::vector<int64_t> target = ctx.input(1)->ToInt64Vector();
  std::vector<int64_t> axes = ctx.node().GetInts("axes");
  if (axes.empty()) {
    for (int64_t a = 0; a < in.rank(); ++a) axes.push_back(a);
  }
  if (axes.size() != target.size()) return ctx.Fail("shape must have one entry per axis");
  Shape out_shape = in.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    int64_t a = axes[i];
    if (!NormalizeAxis(a, in.rank()) || a >= in.rank()) return ctx.Fail("axis out of range");
    if (target[i] < 0) return ctx.Fail("negative target size");
    out_shape[static_cast<size_t>(a)] = target[i];
  }
  const auto strides = Strides(in.shape());
  std::vector<std::vector<int64_t>> offsets(out_shape.size());
  for (size_t a = 0; a < out_shape.size(); ++a) {
    const int64_t dim = in.shape()[a], want = out_shape[a];
    const int64_t shift = want <= dim ? (dim - want) / 2 : -((want - dim) / 2);
    for (int64_t i = 0; i < want; ++i) {
      const int64_t c = i + shift;
      offsets[a].push_back(c < 0 || c >= dim ? -1 : c * strides[a]);
    }
  }
  ctx.SetOutput(0, GatherFlat(in, out_shape, OffsetTableIndex(offsets)));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "Identity", 1, kLatestOpset, Identity);
REGISTER_KERNEL("", "Constant", 1, kLatestOpset, Constant);
REGISTER_KERNEL("", "ConstantOfShape", 9, kLatestOpset, ConstantOfShape);
REGISTER_KERNEL("", "Shape", 1, kLatestOpset, ShapeKernel);
REGISTER_KERNEL("", "Size", 1, kLatestOpset, Size);
REGISTER_KERNEL("", "Reshape", 1, kLatestOpset, Reshape);
REGISTER_KERNEL("", "Flatten", 1, kLatestOpset, Flatten);
REGISTER_KERNEL("", "Squeeze", 1, kLatestOpset, Squeeze);
REGISTER_KERNEL("", "Unsqueeze", 1, kLatestOpset, Unsqueeze);
REGISTER_KERNEL("", "Transpose", 1, kLatestOpset, Transpose);
REGISTER_KERNEL("", "Concat", 1, kLatestOpset, Concat);
REGISTER_KERNEL("", "Split", 1, kLatestOpset, Split);
REGISTER_KERNEL("", "Slice", 1, kLatestOpset, Slice);
REGISTER_KERNEL("", "Expand", 8, kLatestOpset, Expand);
REGISTER_KERNEL("", "Tile", 6, kLatestOpset, Tile);
REGISTER_KERNEL("", "Pad", 1, kLatestOpset, Pad);
REGISTER_KERNEL("", "Range", 11, kLatestOpset, Range);
REGISTER_KERNEL("", "DepthToSpace", 1, kLatestOpset, DepthToSpace);
REGISTER_KERNEL("", "SpaceToDepth", 1, kLatestOpset, SpaceToDepth);
REGISTER_KERNEL("", "Trilu", 14, kLatestOpset, Trilu);
REGISTER_KERNEL("", "EyeLike", 9, kLatestOpset, EyeLike);
REGISTER_KERNEL("", "OneHot", 9, kLatestOpset, OneHot);
REGISTER_KERNEL("", "ReverseSequence", 10, kLatestOpset, ReverseSequence);
REGISTER_KERNEL("", "CenterCropPad", 18, kLatestOpset, CenterCropPad);

}  // namespace graphopt::reference
