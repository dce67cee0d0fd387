// Refuses a model whose inferred shapes ask for more elements or bytes than int64 can count
// (ConstantOfShape([2^32, 2^32]) and the like), before any pass folds such a value.
#pragma once

#include "optimizer/util/status.h"

namespace graphopt::ir {

class Graph;

// INVALID_ARGUMENT naming the first node (or graph input) with a fully known shape whose
// element count or byte size overflows int64; looks into subgraphs too.
Status CheckValueSizes(const Graph& graph);

}  // namespace graphopt::ir
