// Invariants of the IR, checked between passes (GRAPHOPT_VERIFY_IR=1, `--verify-ir`): a broken
// graph is caught at the pass that broke it, not three passes later.
#pragma once

#include "optimizer/ir/graph.h"
#include "optimizer/util/status.h"

namespace graphopt::ir {

// Checks `g` and its subgraphs: every input edge is in its value's use list and every use is an
// edge; each value has one producer at most, which lists it at its producer index, and is
// registered under its (unique) name; the top-level nodes are in topological order; graph
// inputs carry a type and initializers the type of their tensor. Returns the first violation
// (INTERNAL), naming the node or value. Node names are not checked: ONNX allows duplicates.
Status VerifyGraph(const Graph& g);
Status VerifyModel(const Model& model);

}  // namespace graphopt::ir
