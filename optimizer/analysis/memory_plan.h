// A static memory plan of a graph's activations, as an inference runtime's arena planner makes
// one: each node output lives from the step that produces it to the last step that reads it
// (graph outputs to the end), over a topological order; buffers get offsets in one arena by
// greedy best fit, and a unary elementwise node whose input dies there writes in place.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt::analysis {

struct PlannedBuffer {
  std::string value;
  int64_t offset = 0, bytes = 0;
  int first_step = 0, last_step = 0;  // positions in the topological order, inclusive
  bool in_place = false;              // shares its input's buffer
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers;
  int64_t arena_bytes = 0;      // peak: the arena's size
  int64_t naive_bytes = 0;      // every activation in its own buffer
  int64_t peak_live_bytes = 0;  // most bytes live at one step (a lower bound of any plan)
  int64_t in_place_reuses = 0;
  int64_t unplanned_values = 0;  // activations of unknown size, left out
};

// Bytes of `v` with symbolic dims evaluated at `dims`; -1 when its type or a dim is unknown.
int64_t ValueBytes(const ir::Value& v, const std::map<std::string, int64_t>& dims);

// Plans the top-level activations of `graph` (node outputs; graph inputs, initializers and
// Constant outputs are not activations). Nodes are taken in topological order.
MemoryPlan PlanMemory(const ir::Graph& graph, const std::map<std::string, int64_t>& dims);

}  // namespace graphopt::analysis
