// Indexed reads and writes: Gather, GatherElements, GatherND, Scatter, ScatterElements,
// ScatterND (with reductions), NonZero, Compress, Unique.
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"

namespace graphopt::reference {
namespace {

// Index i of an index tensor (int32 or int64), wrapped when negative; false when out of range.
bool ReadIndex(const Tensor& indices, int64_t i, int64_t dim, int64_t* out) {
  int64_t v = indices.GetInt64(i);
  if (v < 0) v += dim;
  if (v < 0 || v >= dim) return false;
  *out = v;
  return true;
}

Status IndexError(const KernelContext& ctx, const Tensor& indices, int64_t i, int64_t dim) {
  return ctx.Fail("index " + std::to_string(indices.GetInt64(i)) +
                  " is out of range for a dim of " + std::to_string(dim));
}

Status Gather(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  int64_t axis = ctx.node().GetInt("axis", 0);
  if (!NormalizeAxis(axis, data.rank()) || axis >= data.rank())
    return ctx.Fail("axis out of range");
  const auto a = static_cast<size_t>(axis);
  const int64_t dim = data.shape()[a];
  Shape out_shape(data.shape().begin(), data.shape().begin() + axis);
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), data.shape().begin() + axis + 1, data.shape().end());
  int64_t outer = 1, inner = 1;
  for (size_t k = 0; k < a; ++k) outer *= data.shape()[k];
  for (size_t k = a + 1; k < data.shape().size(); ++k) inner *= data.shape()[k];
  const int64_t n = indices.size();
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    if (!ReadIndex(indices, j, dim, &idx[static_cast<size_t>(j)])) {
      return IndexError(ctx, indices, j, dim);
    }
  }
  Tensor out(data.dtype(), out_shape);
  DispatchByWidth(data.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = ElementsOf<T>(data);
    T* dst = MutableElementsOf<T>(out);
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t j = 0; j < n; ++j) {
        const T* s = src + (o * dim + idx[static_cast<size_t>(j)]) * inner;
        std::copy(s, s + inner, dst);
        dst += inner;
      }
    }
  });
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

// For each element of `indices` (row-major), the flat offset into a tensor of `data_shape`
// whose coordinates are the element's own, with the `axis` coordinate replaced by the index.
Status ElementOffsets(const KernelContext& ctx, const Shape& data_shape, const Tensor& indices,
                      int64_t axis, std::vector<int64_t>* offsets) {
  if (indices.rank() != static_cast<int64_t>(data_shape.size())) {
    return ctx.Fail("indices and data differ in rank");
  }
  const auto data_strides = Strides(data_shape);
  const auto idx_strides = Strides(indices.shape());
  const auto a = static_cast<size_t>(axis);
  const int64_t dim = data_shape[a];
  offsets->resize(static_cast<size_t>(indices.size()));
  for (int64_t i = 0; i < indices.size(); ++i) {
    int64_t off = 0;
    for (size_t k = 0; k < data_shape.size(); ++k) {
      const int64_t coord = (i / idx_strides[k]) % indices.shape()[k];
      if (k == a) continue;
      if (coord >= data_shape[k]) return ctx.Fail("indices shape exceeds data shape");
      off += coord * data_strides[k];
    }
    int64_t v;
    if (!ReadIndex(indices, i, dim, &v)) return IndexError(ctx, indices, i, dim);
    (*offsets)[static_cast<size_t>(i)] = off + v * data_strides[a];
  }
  return Status::Ok();
}

Status GatherElements(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  int64_t axis = ctx.node().GetInt("axis", 0);
  if (!NormalizeAxis(axis, data.rank()) || axis >= data.rank())
    return ctx.Fail("axis out of range");
  std::vector<int64_t> offsets;
  RETURN_IF_ERROR(ElementOffsets(ctx, data.shape(), indices, axis, &offsets));
  ctx.SetOutput(0, GatherFlat(data, indices.shape(), offsets));
  return Status::Ok();
}

// The slices GatherND/ScatterND address: for each index tuple (the last axis of `indices`),
// the flat offset of the slice in data; also the slice size.
Status NdOffsets(const KernelContext& ctx, const Shape& data_shape, const Tensor& indices,
                 int64_t batch_dims, std::vector<int64_t>* offsets, int64_t* slice) {
  const auto r = static_cast<int64_t>(data_shape.size());
  const int64_t q = indices.rank();
  if (q < 1) return ctx.Fail("indices must be at least 1-D");
  const int64_t k = indices.shape()[static_cast<size_t>(q - 1)];
  if (batch_dims < 0 || batch_dims >= q || k > r - batch_dims) {
    return ctx.Fail("indices' last dim is larger than data's rank allows");
  }
  const auto strides = Strides(data_shape);
  int64_t batch = 1;
  for (int64_t b = 0; b < batch_dims; ++b) batch *= data_shape[static_cast<size_t>(b)];
  *slice = 1;
  for (int64_t d = batch_dims + k; d < r; ++d) *slice *= data_shape[static_cast<size_t>(d)];
  const int64_t batch_stride = batch_dims > 0 ? strides[static_cast<size_t>(batch_dims - 1)] : 0;
  const int64_t tuples = k == 0 ? indices.size() : indices.size() / k;
  const int64_t per_batch = batch == 0 ? 0 : tuples / batch;
  offsets->resize(static_cast<size_t>(tuples));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = per_batch ? (t / per_batch) * batch_stride : 0;
    for (int64_t j = 0; j < k; ++j) {
      const auto d = static_cast<size_t>(batch_dims + j);
      int64_t v;
      if (!ReadIndex(indices, t * k + j, data_shape[d], &v)) {
        return IndexError(ctx, indices, t * k + j, data_shape[d]);
      }
      off += v * strides[d];
    }
    (*offsets)[static_cast<size_t>(t)] = off;
  }
  return Status::Ok();
}

Status GatherND(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  const int64_t batch_dims = ctx.node().GetInt("batch_dims", 0);
  std::vector<int64_t> offsets;
  int64_t slice = 0;
  RETURN_IF_ERROR(NdOffsets(ctx, data.shape(), indices, batch_dims, &offsets, &slice));
  const int64_t k = indices.shape().back();
  Shape out_shape(indices.shape().begin(), indices.shape().end() - 1);
  out_shape.insert(out_shape.end(), data.shape().begin() + batch_dims + k, data.shape().end());
  std::vector<int64_t> index;
  index.reserve(offsets.size() * static_cast<size_t>(slice));
  for (int64_t off : offsets) {
    for (int64_t e = 0; e < slice; ++e) index.push_back(off + e);
  }
  ctx.SetOutput(0, GatherFlat(data, out_shape, index));
  return Status::Ok();
}

// Writes updates[i] into out[offsets[i]] with the node's reduction.
Status ScatterInto(KernelContext& ctx, Tensor& out, const Tensor& updates,
                   const std::vector<int64_t>& offsets, int64_t per_offset) {
  const std::string reduction = ctx.node().GetString("reduction", "none");
  if (reduction == "none") {
    DispatchByWidth(out.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* src = ElementsOf<T>(updates);
      T* dst = MutableElementsOf<T>(out);
      for (size_t i = 0; i < offsets.size(); ++i) {
        std::copy(src + static_cast<int64_t>(i) * per_offset,
                  src + static_cast<int64_t>(i + 1) * per_offset, dst + offsets[i]);
      }
    });
    return Status::Ok();
  }
  if (reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min") {
    return ctx.Fail("unknown reduction '" + reduction + "'");
  }
  const DataType type = out.dtype();
  Tensor acc = ToFloatTensor(out);
  const Tensor upd = ToFloatTensor(updates);
  const bool ok = DispatchNumeric(acc.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = upd.data<T>();
    T* dst = acc.mutable_data<T>();
    for (size_t i = 0; i < offsets.size(); ++i) {
      for (int64_t e = 0; e < per_offset; ++e) {
        T& d = dst[offsets[i] + e];
        const T s = src[static_cast<int64_t>(i) * per_offset + e];
        if (reduction == "add")
          d = static_cast<T>(d + s);
        else if (reduction == "mul")
          d = static_cast<T>(d * s);
        else if (reduction == "max")
          d = std::max(d, s);
        else
          d = std::min(d, s);
      }
    }
  });
  if (!ok) return ctx.Unsupported("reduction on " + std::string(DataTypeName(type)));
  out = FromFloatTensor(acc, type);
  return Status::Ok();
}

Status ScatterElements(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  const Tensor& updates = *ctx.input(2);
  if (updates.shape() != indices.shape()) return ctx.Fail("updates and indices differ in shape");
  int64_t axis = ctx.node().GetInt("axis", 0);
  if (!NormalizeAxis(axis, data.rank()) || axis >= data.rank())
    return ctx.Fail("axis out of range");
  std::vector<int64_t> offsets;
  RETURN_IF_ERROR(ElementOffsets(ctx, data.shape(), indices, axis, &offsets));
  Tensor out = data;  // shares until written: mutable_data() detaches
  RETURN_IF_ERROR(ScatterInto(ctx, out, updates, offsets, 1));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status ScatterND(KernelContext& ctx) {
  const Tensor& data = *ctx.input(0);
  const Tensor& indices = *ctx.input(1);
  const Tensor& updates = *ctx.input(2);
  std::vector<int64_t> offsets;
  int64_t slice = 0;
  RETURN_IF_ERROR(NdOffsets(ctx, data.shape(), indices, 0, &offsets, &slice));
  if (updates.size() != static_cast<int64_t>(offsets.size()) * slice) {
    return ctx.Fail("updates shape " + ShapeToString(updates.shape()) + " does not fit indices");
  }
  Tensor out = data;  // shares until written: mutable_data() detaches
  RETURN_IF_ERROR(ScatterInto(ctx, out, updates, offsets, slice));
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status NonZero(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Shape shape = in.rank() == 0 ? Shape{1} : in.shape();
  const auto strides = Strides(shape);
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < in.size(); ++i) {
    if (in.GetDouble(i) != 0) hits.push_back(i);
  }
  const auto rank = static_cast<int64_t>(shape.size());
  const auto nnz = static_cast<int64_t>(hits.size());
  Tensor out(DataType::kInt64, {rank, nnz});
  int64_t* p = out.mutable_data<int64_t>();
  for (int64_t a = 0; a < rank; ++a) {
    for (int64_t j = 0; j < nnz; ++j) {
      p[a * nnz + j] = (hits[static_cast<size_t>(j)] / strides[static_cast<size_t>(a)]) %
                       shape[static_cast<size_t>(a)];
    }
  }
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

Status Compress(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  const Tensor& cond = *ctx.input(1);
  const bool has_axis = ctx.node().HasAttr("axis");
  const Tensor src = has_axis ? in : in.Reshaped({in.size()});
  int64_t axis = has_axis ? ctx.node().GetInt("axis", 0) : 0;
  if (!NormalizeAxis(axis, src.rank()) || axis >= src.rank()) return ctx.Fail("axis out of range");
  const auto a = static_cast<size_t>(axis);
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < std::min(cond.size(), src.shape()[a]); ++i) {
    if (cond.GetInt64(i) != 0) keep.push_back(i);
  }
  const auto strides = Strides(src.shape());
  std::vector<std::vector<int64_t>> offsets(src.shape().size());
  Shape out_shape = src.shape();
  for (size_t k = 0; k < offsets.size(); ++k) {
    if (k == a) {
      for (int64_t i : keep) offsets[k].push_back(i * strides[k]);
      out_shape[k] = static_cast<int64_t>(keep.size());
    } else {
      for (int64_t i = 0; i < src.shape()[k]; ++i) offsets[k].push_back(i * strides[k]);
    }
  }
  ctx.SetOutput(0, GatherFlat(src, out_shape, OffsetTableIndex(offsets)));
  return Status::Ok();
}

Status Unique(KernelContext& ctx) {
  const Tensor& in = *ctx.input(0);
  if (in.dtype() == DataType::kString) return ctx.Unsupported("Unique of strings");
  const bool sorted = ctx.node().GetInt("sorted", 1) != 0;
  const bool has_axis = ctx.node().HasAttr("axis");
  const Tensor src = has_axis ? in : in.Reshaped({in.size()});
  int64_t axis = has_axis ? ctx.node().GetInt("axis", 0) : 0;
  if (!NormalizeAxis(axis, src.rank()) || axis >= src.rank()) return ctx.Fail("axis out of range");
  const auto a = static_cast<size_t>(axis);
  const int64_t n = src.shape()[a];
  // Slice j: every element whose axis coordinate is j, in row-major order.
  const auto strides = Strides(src.shape());
  std::vector<std::vector<int64_t>> slice_offsets(src.shape().size());
  for (size_t k = 0; k < slice_offsets.size(); ++k) {
    const int64_t len = k == a ? 1 : src.shape()[k];
    for (int64_t i = 0; i < len; ++i) slice_offsets[k].push_back(i * strides[k]);
  }
  const std::vector<int64_t> within = OffsetTableIndex(slice_offsets);
  std::vector<std::vector<double>> slices(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t off : within)
      slices[static_cast<size_t>(j)].push_back(src.GetDouble(off + j * strides[a]));
  }
  std::vector<int64_t> firsts;  // first occurrence of each distinct slice, in order of appearance
  std::map<std::vector<double>, int64_t> first_of;
  for (int64_t j = 0; j < n; ++j) {
    if (first_of.emplace(slices[static_cast<size_t>(j)], j).second) firsts.push_back(j);
  }
  if (sorted) {
    std::sort(firsts.begin(), firsts.end(), [&](int64_t x, int64_t y) {
      return slices[static_cast<size_t>(x)] < slices[static_cast<size_t>(y)];
    });
  }
  std::map<int64_t, int64_t> position;  // first occurrence -> output position
  for (size_t p = 0; p < firsts.size(); ++p) position[firsts[p]] = static_cast<int64_t>(p);
  std::vector<int64_t> inverse(static_cast<size_t>(n)), counts(firsts.size(), 0);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t p = position[first_of[slices[static_cast<size_t>(j)]]];
    inverse[static_cast<size_t>(j)] = p;
    ++counts[static_cast<size_t>(p)];
  }
  std::vector<std::vector<int64_t>> offsets(src.shape().size());
  Shape out_shape = src.shape();
  for (size_t k = 0; k < offsets.size(); ++k) {
    if (k == a) {
      for (int64_t j : firsts) offsets[k].push_back(j * strides[k]);
      out_shape[k] = static_cast<int64_t>(firsts.size());
    } else {
      for (int64_t i = 0; i < src.shape()[k]; ++i) offsets[k].push_back(i * strides[k]);
    }
  }
  ctx.SetOutput(0, GatherFlat(src, out_shape, OffsetTableIndex(offsets)));
  if (ctx.num_outputs() > 1) ctx.SetOutput(1, Tensor::Int64s(firsts));
  if (ctx.num_outputs() > 2) ctx.SetOutput(2, Tensor::Int64s(inverse));
  if (ctx.num_outputs() > 3) ctx.SetOutput(3, Tensor::Int64s(counts));
  return Status::Ok();
}

// KV-cache update: update[b, ..., s, ...] lands at cache position write_indices[b] + s along
// `axis` (modulo the cache length in circular mode); everything else is the past cache.
Status TensorScatter(KernelContext& ctx) {
  const Tensor& past = *ctx.input(0);
  const Tensor& update = *ctx.input(1);
  int64_t axis = ctx.node().GetInt("axis", -2);
  if (!NormalizeAxis(axis, past.rank()) || axis >= past.rank() || axis == 0) {
    return ctx.Fail("axis out of range (it must not be the batch axis)");
  }
  const bool circular = ctx.node().GetString("mode", "linear") == "circular";
  const auto a = static_cast<size_t>(axis);
  if (update.rank() != past.rank()) return ctx.Fail("update and cache differ in rank");
  for (size_t k = 0; k < past.shape().size(); ++k) {
    if (k != a && update.shape()[k] != past.shape()[k]) return ctx.Fail("update shape mismatch");
  }
  const int64_t max_len = past.shape()[a], len = update.shape()[a];
  int64_t outer = 1, inner = 1;
  for (size_t k = 0; k < a; ++k) outer *= past.shape()[k];
  for (size_t k = a + 1; k < past.shape().size(); ++k) inner *= past.shape()[k];
  const int64_t per_batch = past.shape()[0] == 0 ? 0 : outer / past.shape()[0];
  Tensor out = past;  // shares until written
  DispatchByWidth(past.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = MutableElementsOf<T>(out);
    const T* src = ElementsOf<T>(update);
    for (int64_t o = 0; o < outer; ++o) {
      const int64_t batch = per_batch ? o / per_batch : 0;
      const int64_t start = ctx.input(2) ? ctx.input(2)->GetInt64(batch) : 0;
      for (int64_t s = 0; s < len; ++s) {
        int64_t pos = start + s;
        if (circular) pos %= max_len;
        if (pos < 0 || pos >= max_len) continue;
        const T* from = src + (o * len + s) * inner;
        std::copy(from, from + inner, dst + (o * max_len + pos) * inner);
      }
    }
  });
  ctx.SetOutput(0, std::move(out));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "Gather", 1, kLatestOpset, Gather);
REGISTER_KERNEL("", "GatherElements", 11, kLatestOpset, GatherElements);
REGISTER_KERNEL("", "GatherND", 11, kLatestOpset, GatherND);
REGISTER_KERNEL("", "Scatter", 9, 10, ScatterElements);
REGISTER_KERNEL("", "ScatterElements", 11, kLatestOpset, ScatterElements);
REGISTER_KERNEL("", "ScatterND", 11, kLatestOpset, ScatterND);
REGISTER_KERNEL("", "NonZero", 9, kLatestOpset, NonZero);
REGISTER_KERNEL("", "Compress", 9, kLatestOpset, Compress);
REGISTER_KERNEL("", "Unique", 11, kLatestOpset, Unique);
REGISTER_KERNEL("", "TensorScatter", 24, kLatestOpset, TensorScatter);

}  // namespace graphopt::reference
