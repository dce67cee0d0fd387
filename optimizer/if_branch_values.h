// Which value of a graph input makes an If take its then branch, and which its else branch, so
// that verification can run both branches instead of the one its sample inputs happen to take.
#pragma once

#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/verify_options.h"

namespace graphopt {

// One entry per If of `graph` and of its nested subgraphs, in graph order. An If is derived when
// its condition is computed from a single integer or bool graph input of the top-level graph
// through comparisons with single-element constants (Equal, Greater, Less, GreaterOrEqual,
// LessOrEqual), Not, Cast and shape-only ops (Identity, Squeeze, Unsqueeze, Reshape, Flatten).
// The values are found by evaluating that chain on candidates taken around the constants (an
// input value is kept only when every Cast on the way represents it exactly). Otherwise
// `both_branches` is false and `reason` says what stopped the derivation.
std::vector<IfBranchCoverage> DeriveIfBranchValues(const ir::Graph& graph);

}  // namespace graphopt
