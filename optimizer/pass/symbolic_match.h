// Shape conditions of the fusions when batch and sequence axes are symbolic: shapes whose every
// dim is a number or a named symbol/expression (symbolic_dim.h), compared dim by dim, and the
// few dim products the fusions check (batch*heads, seq*batch).
#pragma once

#include <optional>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt {

using DimShape = std::vector<ir::Dim>;

// The value's shape when its rank is known and every dim is a number or a symbol (a constant's
// shape too); nullopt otherwise. Two such shapes are equal when every dim is the same number or
// the same symbolic expression.
std::optional<DimShape> SymbolicShapeOf(const ir::Value* v);

// The number at dim `i` (negative: from the end) when it is known, else nullopt.
std::optional<int64_t> KnownDim(const std::optional<DimShape>& shape, int64_t i);

// Products of dims in canonical symbolic form: DimProduct({B, 4}) is "B*4".
ir::Dim DimProduct(const std::vector<ir::Dim>& factors);
inline ir::Dim DimOf(int64_t v) { return ir::Dim{v, ""}; }

// A tensor type of `dims` (numbers and symbols).
ir::ValueType TypeOf(DataType type, const DimShape& dims);

// A 1-D int64 value holding `dims` at run time: an initializer when every dim is a number, else
// Concat(numbers, Gather(Shape(source), axis)) where every symbolic dim of `dims` must be the
// dim `axis` of `source`.
ir::Value* ShapeTensorOf(ir::Graph& g, const DimShape& dims, ir::Value* source, int64_t axis);

}  // namespace graphopt
