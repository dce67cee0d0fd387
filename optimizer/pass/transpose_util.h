// Permutations of a Transpose and what they do to dims, axes and constant tensors, shared by the
// passes that push, merge and fold Transposes. Convention: y = Transpose(x, p) has
// y.shape[i] = x.shape[p[i]], so axis i of y is axis p[i] of x.
#pragma once

#include <optional>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt {

using Perm = std::vector<int64_t>;

// The perm a Transpose applies: its attribute, or the reversal when the attribute is absent and
// the input's rank is known. nullopt when unknown or not a permutation.
std::optional<Perm> TransposePerm(const ir::Node* transpose);

bool IsIdentityPerm(const Perm& p);
Perm InversePerm(const Perm& p);
// Transpose(Transpose(x, first), second) == Transpose(x, ComposePerms(first, second)).
Perm ComposePerms(const Perm& first, const Perm& second);

// The dims of Transpose(x, p) from x's dims.
std::vector<ir::Dim> PermuteDims(const std::vector<ir::Dim>& dims, const Perm& p);
// The type of Transpose(v, p): v's element type, its shape permuted when known.
ir::ValueType PermutedType(const ir::ValueType& type, const Perm& p);

// Transpose(t, p) computed on the bytes (any fixed-size element type); nullopt for strings or
// a perm of another rank.
std::optional<Tensor> PermuteTensor(const Tensor& t, const Perm& p);

// Axis `axis` (negative counts from the end) of a rank-`rank` tensor, in [0, rank); nullopt
// when out of range.
std::optional<int64_t> NormalizeAxis(int64_t axis, int64_t rank);

}  // namespace graphopt
