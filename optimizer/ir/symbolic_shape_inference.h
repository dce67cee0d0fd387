// Symbolic shape inference: runs after ONNX's and fills what it leaves unknown, with dims that
// are numbers, symbols or expressions of symbols (symbolic_dim.h), so that passes see
// (batch, seq*4, 64) where ONNX saw nothing. Unnamed unknown dims get fresh symbols (unk__N).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/ir/symbolic_dim.h"

namespace graphopt::ir {

// The result of one propagation over the main graph in order: every value's symbolic shape,
// and the symbolic contents of small integer tensors (shapes computed from Shape ops).
// Construction writes the dims back into the values' types: known dims from ONNX are never
// replaced, a dim ONNX names only by a more specific one.
class SymbolicShapes {
 public:
  explicit SymbolicShapes(Model& model);
  std::optional<SymbolicShape> shape(const Value* v) const;
  // Elements of a rank-0/1 integer tensor as dims ([batch, seq, 4, 64]), when known.
  std::optional<std::vector<SymbolicDim>> contents(const Value* v) const;

  struct Info {
    std::optional<SymbolicShape> shape;
    std::optional<std::vector<SymbolicDim>> contents;
  };

 private:
  std::unordered_map<const Value*, Info> info_;
};

// Runs SymbolicShapes for its effect on the types.
void InferSymbolicShapes(Model& model);

// Gives every unnamed unknown dim of the graph inputs a fresh symbol (unk__N), so that it can
// be assigned values and stays symbolic in the artifact. Idempotent.
void NameUnknownInputDims(Model& model);

// Names of the symbols in the graph inputs' declared shapes (the dims a user may fix).
std::set<std::string> InputSymbols(const Graph& graph);

}  // namespace graphopt::ir
