#include "optimizer/analysis/memory_plan.h"

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>

#include "optimizer/ir/symbolic_dim.h"

namespace graphopt::analysis {

namespace {

// Unary elementwise operators whose output may overwrite their input: each output element
// depends only on the input element at the same position.
const std::set<std::string>& InPlaceOps() {
  static const std::set<std::string> ops = {
      "Relu",       "LeakyRelu", "Sigmoid",   "HardSigmoid", "Tanh",     "Neg",  "Abs",
      "Exp",        "Log",       "Sqrt",      "Erf",         "Softplus", "Elu",  "Selu",
      "Reciprocal", "Floor",     "Ceil",      "Round",       "Sign",     "Clip", "Gelu",
      "FastGelu",   "QuickGelu", "HardSwish", "Mish",        "Sin",      "Cos",  "Not"};
  return ops;
}

// Nodes in topological order (Kahn's algorithm, ties in stored order), so the plan does not
// depend on the graph having been sorted.
std::vector<const ir::Node*> TopologicalOrder(const ir::Graph& graph) {
  const std::vector<ir::Node*> nodes = graph.nodes();
  std::unordered_map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < nodes.size(); ++i) position[nodes[i]] = i;
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<size_t>> consumers(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    std::vector<ir::Value*> reads = nodes[i]->inputs();
    reads.insert(reads.end(), nodes[i]->implicit_inputs().begin(),
                 nodes[i]->implicit_inputs().end());
    for (const ir::Value* v : reads) {
      if (v == nullptr || v->producer() == nullptr) continue;
      auto it = position.find(v->producer());
      if (it == position.end()) continue;
      consumers[it->second].push_back(i);
      ++pending[i];
    }
  }
  std::set<size_t> ready;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  std::vector<const ir::Node*> order;
  while (!ready.empty()) {
    const size_t i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(nodes[i]);
    for (size_t c : consumers[i]) {
      if (--pending[c] == 0) ready.insert(c);
    }
  }
  // A cycle (not a valid model) leaves nodes out: plan them in stored order after the rest.
  if (order.size() < nodes.size()) {
    std::set<const ir::Node*> placed(order.begin(), order.end());
    for (const ir::Node* n : nodes) {
      if (!placed.count(n)) order.push_back(n);
    }
  }
  return order;
}

// One arena: free blocks by offset; allocation takes the smallest free block that fits
// (lowest offset on ties), else grows the arena, starting inside a free block at its end.
class Arena {
 public:
  int64_t Allocate(int64_t bytes) {
    if (bytes == 0) return 0;
    auto best = free_.end();
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second >= bytes && (best == free_.end() || it->second < best->second)) best = it;
    }
    if (best != free_.end()) {
      const int64_t offset = best->first, size = best->second;
      free_.erase(best);
      if (size > bytes) free_[offset + bytes] = size - bytes;
      return offset;
    }
    int64_t offset = end_;
    if (!free_.empty()) {
      auto last = std::prev(free_.end());
      if (last->first + last->second == end_) {
        offset = last->first;
        free_.erase(last);
      }
    }
    end_ = offset + bytes;
    return offset;
  }

  void Free(int64_t offset, int64_t bytes) {
    if (bytes == 0) return;
    auto it = free_.emplace(offset, bytes).first;
    auto next = std::next(it);
    if (next != free_.end() && it->first + it->second == next->first) {
      it->second += next->second;
      free_.erase(next);
    }
    if (it != free_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second == it->first) {
        prev->second += it->second;
        free_.erase(it);
      }
    }
  }

  int64_t size() const { return end_; }

 private:
  std::map<int64_t, int64_t> free_;  // offset -> bytes
  int64_t end_ = 0;
};

}  // namespace

int64_t ValueBytes(const ir::Value& v, const std::map<std::string, int64_t>& dims) {
  const ir::ValueType& type = v.type();
  if (!type.is_tensor() || !type.shape) return -1;
  const size_t element = ElementSize(type.elem_type);
  if (element == 0) return -1;
  Shape shape;
  for (const ir::Dim& d : *type.shape) {
    if (d.known()) {
      shape.push_back(d.value);
      continue;
    }
    if (d.param.empty()) return -1;
    std::optional<int64_t> value = ir::SymbolicDim::Parse(d.param).Evaluate(dims);
    if (!value || *value < 0) return -1;
    shape.push_back(*value);
  }
  int64_t bytes = 0;
  if (!ElementCountFits(shape, element, &bytes)) return -1;
  return bytes;
}

MemoryPlan PlanMemory(const ir::Graph& graph, const std::map<std::string, int64_t>& dims) {
  MemoryPlan plan;
  const std::vector<const ir::Node*> order = TopologicalOrder(graph);
  const int steps = static_cast<int>(order.size());
  std::unordered_map<const ir::Node*, int> step_of;
  for (int s = 0; s < steps; ++s) step_of[order[s]] = s;

  // Lifetimes first: a buffer lives from its producer's step to its last reader's step.
  std::unordered_map<const ir::Value*, size_t> buffer_of;
  std::vector<std::vector<size_t>> born(steps), dies(steps);
  for (int s = 0; s < steps; ++s) {
    const ir::Node* node = order[s];
    if (node->Is("Constant")) continue;  // a weight, counted as a parameter
    for (const ir::Value* v : node->outputs()) {
      if (v == nullptr) continue;
      const int64_t bytes = ValueBytes(*v, dims);
      if (bytes < 0) {
        ++plan.unplanned_values;
        continue;
      }
      PlannedBuffer b;
      b.value = v->name();
      b.bytes = bytes;
      b.first_step = b.last_step = s;
      for (const ir::Use& use : v->uses()) {
        auto it = step_of.find(use.node);
        if (it != step_of.end()) b.last_step = std::max(b.last_step, it->second);
      }
      // Graph outputs are read by the caller after the last step.
      if (v->is_graph_output()) b.last_step = steps;
      plan.naive_bytes += bytes;
      buffer_of[v] = plan.buffers.size();
      born[s].push_back(plan.buffers.size());
      if (b.last_step < steps) dies[b.last_step].push_back(plan.buffers.size());
      plan.buffers.push_back(std::move(b));
    }
  }

  Arena arena;
  std::set<size_t> handed_over;  // buffers whose bytes an in-place output took
  int64_t live = 0;
  for (int s = 0; s < steps; ++s) {
    const ir::Node* node = order[s];
    // In place: a unary elementwise node's output takes its input's buffer when the input dies
    // here, is no graph output, and has the same size (Cast to a wider type does not qualify).
    const ir::Value* in = node->input(0);
    auto source = in ? buffer_of.find(in) : buffer_of.end();
    const bool unary = InPlaceOps().count(node->op_type()) > 0 && node->outputs().size() == 1;
    for (size_t index : born[s]) {
      PlannedBuffer& b = plan.buffers[index];
      if (unary && source != buffer_of.end() && !handed_over.count(source->second)) {
        const PlannedBuffer& src = plan.buffers[source->second];
        if (src.last_step == s && src.bytes == b.bytes && b.bytes > 0) {
          b.offset = src.offset;
          b.in_place = true;
          handed_over.insert(source->second);
          ++plan.in_place_reuses;
          continue;
        }
      }
      b.offset = arena.Allocate(b.bytes);
      live += b.bytes;
    }
    plan.peak_live_bytes = std::max(plan.peak_live_bytes, live);
    for (size_t index : dies[s]) {
      const PlannedBuffer& b = plan.buffers[index];
      if (handed_over.count(index)) continue;
      arena.Free(b.offset, b.bytes);
      live -= b.bytes;
    }
  }
  plan.arena_bytes = arena.size();
  return plan;
}

}  // namespace graphopt::analysis
