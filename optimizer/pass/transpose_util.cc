#include "optimizer/pass/transpose_util.h"

#include <cstring>

namespace graphopt {

std::optional<Perm> TransposePerm(const ir::Node* transpose) {
  if (!transpose || !transpose->Is("Transpose") || !transpose->input(0)) return std::nullopt;
  Perm perm = transpose->GetInts("perm");
  if (!transpose->HasAttr("perm")) {
    const auto& shape = transpose->input(0)->type().shape;
    if (!shape) return std::nullopt;
    const auto rank = static_cast<int64_t>(shape->size());
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  std::vector<bool> seen(perm.size(), false);
  for (int64_t a : perm) {
    if (a < 0 || a >= static_cast<int64_t>(perm.size()) || seen[static_cast<size_t>(a)]) {
      return std::nullopt;
    }
    seen[static_cast<size_t>(a)] = true;
  }
  return perm;
}

bool IsIdentityPerm(const Perm& p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

Perm InversePerm(const Perm& p) {
  Perm inv(p.size());
  for (size_t i = 0; i < p.size(); ++i) inv[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
  return inv;
}

Perm ComposePerms(const Perm& first, const Perm& second) {
  Perm q(second.size());
  for (size_t i = 0; i < second.size(); ++i) q[i] = first[static_cast<size_t>(second[i])];
  return q;
}

std::vector<ir::Dim> PermuteDims(const std::vector<ir::Dim>& dims, const Perm& p) {
  std::vector<ir::Dim> out;
  out.reserve(p.size());
  for (int64_t a : p) out.push_back(dims[static_cast<size_t>(a)]);
  return out;
}

ir::ValueType PermutedType(const ir::ValueType& type, const Perm& p) {
  ir::ValueType out;
  out.elem_type = type.elem_type;
  if (type.shape && type.shape->size() == p.size()) out.shape = PermuteDims(*type.shape, p);
  return out;
}

std::optional<Tensor> PermuteTensor(const Tensor& t, const Perm& p) {
  if (t.dtype() == DataType::kString || t.rank() != static_cast<int64_t>(p.size())) {
    return std::nullopt;
  }
  const Shape& in_shape = t.shape();
  const size_t rank = p.size();
  Shape out_shape(rank);
  for (size_t i = 0; i < rank; ++i) out_shape[i] = in_shape[static_cast<size_t>(p[i])];
  // Input strides (in elements), read in output-axis order.
  std::vector<int64_t> in_stride(rank, 1);
  for (size_t i = rank; i-- > 1;) in_stride[i - 1] = in_stride[i] * in_shape[i];
  std::vector<int64_t> stride(rank);
  for (size_t i = 0; i < rank; ++i) stride[i] = in_stride[static_cast<size_t>(p[i])];
  const size_t es = ElementSize(t.dtype());
  const int64_t n = t.size();
  std::string bytes(static_cast<size_t>(n) * es, '\0');
  const char* src = static_cast<const char*>(t.raw());
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;  // input element of output element k
  for (int64_t k = 0; k < n; ++k) {
    std::memcpy(&bytes[static_cast<size_t>(k) * es], src + static_cast<size_t>(offset) * es, es);
    // Odometer over the output index, keeping the input offset in step.
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out_shape[i]) {
        offset += stride[i];
        break;
      }
      offset -= stride[i] * (out_shape[i] - 1);
      index[i] = 0;
    }
  }
  return Tensor(t.dtype(), out_shape, std::move(bytes));
}

std::optional<int64_t> NormalizeAxis(int64_t axis, int64_t rank) {
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) return std::nullopt;
  return axis;
}

}  // namespace graphopt
