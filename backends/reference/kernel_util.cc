#include "backends/reference/kernel_util.h"

#include <algorithm>

namespace graphopt::reference {

bool NormalizeAxis(int64_t& axis, int64_t rank) {
  if (axis < -rank || axis >= (rank == 0 ? 1 : rank)) return false;
  if (axis < 0) axis += rank;
  return true;
}

bool BroadcastShapes(const std::vector<Shape>& shapes, Shape* out) {
  size_t rank = 0;
  for (const auto& s : shapes) rank = std::max(rank, s.size());
  out->assign(rank, 1);
  for (const auto& s : shapes) {
    const size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t& o = (*out)[offset + i];
      const int64_t d = s[i];
      if (d == o || d == 1) continue;
      if (o == 1) {
        o = d;
        continue;
      }
      return false;
    }
  }
  return true;
}

std::vector<int64_t> Strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i) {
    s[static_cast<size_t>(i)] = s[static_cast<size_t>(i) + 1] * shape[static_cast<size_t>(i) + 1];
  }
  return s;
}

std::vector<int64_t> BroadcastIndex(const Shape& in_shape, const Shape& out_shape) {
  const int64_t n = NumElements(out_shape);
  std::vector<int64_t> index(static_cast<size_t>(n));
  const size_t rank = out_shape.size();
  const size_t offset = rank - in_shape.size();
  // Input stride per output axis (0 where the input is broadcast along that axis).
  std::vector<int64_t> in_strides(rank, 0);
  const auto strides = Strides(in_shape);
  for (size_t i = 0; i < in_shape.size(); ++i) {
    in_strides[offset + i] = in_shape[i] == 1 ? 0 : strides[i];
  }
  std::vector<int64_t> counter(rank, 0);
  int64_t pos = 0;
  for (int64_t k = 0; k < n; ++k) {
    index[static_cast<size_t>(k)] = pos;
    for (int64_t ax = static_cast<int64_t>(rank) - 1; ax >= 0; --ax) {
      const auto a = static_cast<size_t>(ax);
      pos += in_strides[a];
      if (++counter[a] < out_shape[a]) break;
      pos -= in_strides[a] * out_shape[a];
      counter[a] = 0;
    }
  }
  return index;
}

Tensor ToFloatTensor(const Tensor& t) {
  return IsHalfLike(t.dtype()) ? t.CastTo(DataType::kFloat) : t;
}

Tensor FromFloatTensor(const Tensor& t, DataType type) {
  return IsHalfLike(type) ? t.CastTo(type) : t;
}

std::vector<int64_t> OptionalInts(const KernelContext& ctx, size_t i, std::vector<int64_t> def) {
  const Tensor* t = ctx.input(i);
  if (!t) return def;
  return t->ToInt64Vector();
}

// ---- Added by the executor/tensor-manipulation owner (see kernel_util.h).

std::vector<int64_t> OffsetTableIndex(const std::vector<std::vector<int64_t>>& offsets) {
  int64_t n = 1;
  for (const auto& o : offsets) n *= static_cast<int64_t>(o.size());
  std::vector<int64_t> index(static_cast<size_t>(n));
  if (n == 0) return index;
  const size_t rank = offsets.size();
  if (rank == 0) {
    index[0] = 0;
    return index;
  }
  // Odometer over the outer axes; the innermost axis is a flat loop.
  std::vector<size_t> counter(rank, 0);
  std::vector<int64_t> partial(rank + 1, 0);  // partial[a]: sum of offsets of axes < a
  for (size_t a = 0; a + 1 < rank; ++a) {
    const int64_t o = offsets[a][0];
    partial[a + 1] = (partial[a] < 0 || o < 0) ? -1 : partial[a] + o;
  }
  const auto& inner = offsets[rank - 1];
  size_t pos = 0;
  while (true) {
    const int64_t base = partial[rank - 1];
    for (int64_t o : inner) index[pos++] = (base < 0 || o < 0) ? -1 : base + o;
    // Advance the outer axes.
    int64_t a = static_cast<int64_t>(rank) - 2;
    for (; a >= 0; --a) {
      const auto ua = static_cast<size_t>(a);
      if (++counter[ua] < offsets[ua].size()) break;
      counter[ua] = 0;
    }
    if (a < 0) break;
    for (auto ua = static_cast<size_t>(a); ua + 1 < rank; ++ua) {
      const int64_t o = offsets[ua][counter[ua]];
      partial[ua + 1] = (partial[ua] < 0 || o < 0) ? -1 : partial[ua] + o;
    }
  }
  return index;
}

Tensor GatherFlat(const Tensor& in, const Shape& out_shape, const std::vector<int64_t>& index,
                  const Tensor* fill) {
  Tensor out(in.dtype(), out_shape);
  DispatchByWidth(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = ElementsOf<T>(in);
    T* dst = MutableElementsOf<T>(out);
    T fill_value{};
    if (fill && fill->size() > 0) fill_value = ElementsOf<T>(*fill)[0];
    const size_t n = index.size();
    for (size_t i = 0; i < n; ++i) dst[i] = index[i] < 0 ? fill_value : src[index[i]];
  });
  return out;
}

Tensor TransposeTensor(const Tensor& in, const std::vector<int64_t>& perm) {
  Shape out_shape(perm.size());
  for (size_t k = 0; k < perm.size(); ++k) out_shape[k] = in.shape()[static_cast<size_t>(perm[k])];
  Tensor out(in.dtype(), out_shape);
  if (in.size() == 0) return out;
  // Simplify: drop size-1 axes, then merge output axes that are also adjacent in the input,
  // so e.g. [1,64,4,64] with perm (0,2,1,3) becomes a 64x4 block transpose of 64-wide rows.
  const auto in_strides = Strides(in.shape());
  std::vector<int64_t> dims, strides;  // per simplified output axis: size, input stride
  for (size_t k = 0; k < perm.size(); ++k) {
    const auto p = static_cast<size_t>(perm[k]);
    if (in.shape()[p] == 1) continue;
    if (!dims.empty() && strides.back() == in.shape()[p] * in_strides[p]) {
      dims.back() *= in.shape()[p];
      strides.back() = in_strides[p];
      continue;
    }
    dims.push_back(in.shape()[p]);
    strides.push_back(in_strides[p]);
  }
  if (dims.empty()) {
    dims.push_back(1);
    strides.push_back(1);
  }
  const size_t rank = dims.size();
  const int64_t inner = dims.back(), inner_stride = strides.back();
  // When the innermost output axis is strided in the input, copy the last two axes in tiles
  // so both the reads and the writes stay within a few cache lines.
  const bool tiled = inner_stride != 1 && rank >= 2;
  const size_t outer_rank = tiled ? rank - 2 : rank - 1;
  const int64_t rows = tiled ? dims[rank - 2] : 1, row_stride = tiled ? strides[rank - 2] : 0;
  DispatchByWidth(in.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* src = ElementsOf<T>(in);
    T* dst = MutableElementsOf<T>(out);
    std::vector<int64_t> counter(rank, 0);
    int64_t base = 0;
    const int64_t block = rows * inner;
    const int64_t outer = in.size() / block;
    constexpr int64_t kTile = 16;
    for (int64_t o = 0; o < outer; ++o) {
      const T* s = src + base;
      if (!tiled && inner_stride == 1) {
        std::copy(s, s + inner, dst);
      } else if (!tiled) {
        for (int64_t i = 0; i < inner; ++i) dst[i] = s[i * inner_stride];
      } else {
        for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
          const int64_t r1 = std::min(rows, r0 + kTile);
          for (int64_t c0 = 0; c0 < inner; c0 += kTile) {
            const int64_t c1 = std::min(inner, c0 + kTile);
            for (int64_t r = r0; r < r1; ++r) {
              const T* srow = s + r * row_stride;
              T* drow = dst + r * inner;
              for (int64_t c = c0; c < c1; ++c) drow[c] = srow[c * inner_stride];
            }
          }
        }
      }
      dst += block;
      for (int64_t a = static_cast<int64_t>(outer_rank) - 1; a >= 0; --a) {
        const auto ua = static_cast<size_t>(a);
        base += strides[ua];
        if (++counter[ua] < dims[ua]) break;
        base -= strides[ua] * dims[ua];
        counter[ua] = 0;
      }
    }
  });
  return out;
}

bool StackTensors(const std::vector<Tensor>& parts, Tensor* out) {
  if (parts.empty()) return false;
  const Tensor& first = parts[0];
  for (const Tensor& p : parts) {
    if (p.shape() != first.shape() || p.dtype() != first.dtype()) return false;
  }
  Shape shape = first.shape();
  shape.insert(shape.begin(), static_cast<int64_t>(parts.size()));
  *out = Tensor(first.dtype(), shape);
  const int64_t each = first.size();
  return DispatchByWidth(first.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* dst = MutableElementsOf<T>(*out);
    for (const Tensor& p : parts) {
      const T* src = ElementsOf<T>(p);
      std::copy(src, src + each, dst);
      dst += each;
    }
  });
}

}  // namespace graphopt::reference
