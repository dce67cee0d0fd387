// Small queries and edits that many passes share: constant values, static shapes, and
// removing a node whose output equals one of its inputs.
#pragma once

#include <optional>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt {

// The constant tensor behind a value: an initializer that is not an overridable graph input,
// or the `value` of a Constant node. nullptr otherwise.
const Tensor* ConstantValue(const ir::Value* v);
bool IsConstant(const ir::Value* v);
// The constant as int64s (shape-like inputs), or nullopt.
std::optional<std::vector<int64_t>> ConstantInts(const ir::Value* v);
// True when the constant holds exactly one element equal to `x` (any numeric type).
bool IsScalarConstantEqual(const ir::Value* v, double x);

// The value's shape when every dim is known.
std::optional<Shape> StaticShape(const ir::Value* v);

// Replaces `n`'s output 0 by its input `input_index` everywhere and deletes `n`. When the
// output is a graph output, the input takes over its name so outputs keep their names; if
// that is impossible (the input is itself a graph input, output or initializer) nothing
// changes and it returns false.
bool BypassNode(ir::Graph& g, ir::Node* n, size_t input_index = 0);

// Replaces every use of `from` by `to`, renaming `to` when `from` is a graph output (same
// conditions as BypassNode). Returns false and changes nothing when that is impossible.
bool ReplaceValue(ir::Graph& g, ir::Value* from, ir::Value* to);
// Whether ReplaceValue(g, from, to) would succeed.
bool CanReplaceValue(const ir::Graph& g, const ir::Value* from, const ir::Value* to);

// True when only `n` reads `v` and `v` is not a graph output (safe to fold `v` away).
bool HasSingleUse(const ir::Value* v);

// False for operators of unknown domains: they may have effects we cannot see.
bool IsRemovableWhenUnused(const ir::Node* n);

// Removes nodes whose outputs nobody reads, walking backwards from `n` through its inputs.
void RemoveIfDead(ir::Graph& g, ir::Node* n);

}  // namespace graphopt
