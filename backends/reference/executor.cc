// The reference executor: per-graph plans (slots, kernels, last uses) built once, then a flat
// loop over steps that frees every intermediate right after its last reader.
#include "backends/reference/executor.h"

#include <onnx/defs/schema.h>

#include <chrono>
#include <exception>
#include <limits>
#include <mutex>

extern "C" void openblas_set_num_threads(int);

namespace graphopt::reference {

namespace {

std::string NormalizeDomain(const std::string& d) { return d == "ai.onnx" ? std::string() : d; }

std::string NodeLabel(const ir::Node& node) {
  return "node '" + node.name() + "' (" + node.op_type() + ")";
}

// Adds the node to a kernel's message unless the kernel already named it.
Status WithNode(const ir::Node& node, const Status& st) {
  if (st.message().find("node '") != std::string::npos) return st;
  return Status(st.code(), NodeLabel(node) + ": " + st.message());
}

// Bytes of a declared type when every dim is known (or fixed by `dims`); -1 otherwise.
// Saturates at int64 max instead of overflowing.
int64_t DeclaredBytes(const ir::ValueType& type, const std::map<std::string, int64_t>& dims) {
  if (!type.is_tensor() || !type.shape) return -1;
  const size_t elem = ElementSize(type.elem_type);
  if (elem == 0) return -1;
  long double bytes = static_cast<long double>(elem);
  for (const ir::Dim& d : *type.shape) {
    int64_t v = d.value;
    if (!d.known()) {
      auto it = dims.find(d.param);
      if (d.param.empty() || it == dims.end()) return -1;
      v = it->second;
    }
    bytes *= static_cast<long double>(v);
  }
  const auto max = static_cast<long double>(std::numeric_limits<int64_t>::max());
  return bytes >= max ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bytes);
}

Status CheckGraphMemory(const ir::Graph& g, const RunOptions& options) {
  auto check = [&](const ir::Value* v) -> Status {
    if (!v) return Status::Ok();
    const int64_t bytes = DeclaredBytes(v->type(), options.dims);
    if (bytes > options.memory_cap_bytes) {
      return ResourceExhausted("value '" + v->name() + "' would need " + std::to_string(bytes) +
                               " bytes by its declared shape, over the memory cap of " +
                               std::to_string(options.memory_cap_bytes) + " bytes");
    }
    return Status::Ok();
  };
  for (const ir::Value* v : g.inputs()) RETURN_IF_ERROR(check(v));
  for (const ir::Value* v : g.outputs()) RETURN_IF_ERROR(check(v));
  for (const ir::Node* n : g.nodes()) {
    for (const ir::Value* v : n->outputs()) RETURN_IF_ERROR(check(v));
    for (const ir::Graph* sub : n->Subgraphs()) RETURN_IF_ERROR(CheckGraphMemory(*sub, options));
  }
  return Status::Ok();
}

// Required inputs missing from a node (by the ONNX schema at its opset) are reported up front,
// naming the node, so no kernel ever sees a null where the operator demands a tensor.
Status CheckRequiredInputs(const ir::Node& node, int64_t opset) {
  const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(
      node.op_type(), static_cast<int>(opset), NormalizeDomain(node.domain()));
  if (!schema) return Status::Ok();
  const auto& formals = schema->inputs();
  for (size_t i = 0; i < formals.size(); ++i) {
    if (formals[i].GetOption() != onnx::OpSchema::Single) continue;
    if (!node.input(i)) {
      return InvalidArgument(NodeLabel(node) + ": required input " + std::to_string(i) + " ('" +
                             formals[i].GetName() + "') is missing");
    }
  }
  if (static_cast<int>(node.inputs().size()) < schema->min_input()) {
    return InvalidArgument(NodeLabel(node) + ": takes at least " +
                           std::to_string(schema->min_input()) + " inputs, has " +
                           std::to_string(node.inputs().size()));
  }
  return Status::Ok();
}

// The graph's nodes with producers first. The IR keeps graphs sorted, so this is normally the
// stored order; a graph a pass left unsorted is ordered here (subgraph captures count as
// inputs) instead of failing halfway. On a cycle, `error` names a node on it.
std::vector<const ir::Node*> ExecutionOrder(const ir::Graph& graph, Status* error) {
  const std::vector<ir::Node*> stored = graph.nodes();
  std::unordered_map<const ir::Node*, size_t> position;
  for (size_t i = 0; i < stored.size(); ++i) position[stored[i]] = i;
  auto deps = [&](const ir::Node* n) {
    std::vector<size_t> out;
    auto add = [&](const ir::Value* v) {
      if (!v || !v->producer()) return;
      auto it = position.find(v->producer());
      if (it != position.end()) out.push_back(it->second);
    };
    for (const ir::Value* v : n->inputs()) add(v);
    for (const ir::Value* v : n->implicit_inputs()) add(v);
    return out;
  };
  bool sorted = true;
  for (size_t i = 0; i < stored.size() && sorted; ++i) {
    for (size_t d : deps(stored[i])) sorted = sorted && d < i;
  }
  std::vector<const ir::Node*> order(stored.begin(), stored.end());
  if (sorted) return order;
  // Depth-first post-order: 0 unvisited, 1 on the stack, 2 done.
  order.clear();
  std::vector<int> state(stored.size(), 0);
  std::vector<std::pair<size_t, std::vector<size_t>>> stack;
  for (size_t root = 0; root < stored.size(); ++root) {
    if (state[root]) continue;
    state[root] = 1;
    stack.emplace_back(root, deps(stored[root]));
    while (!stack.empty()) {
      auto& [node, pending] = stack.back();
      if (pending.empty()) {
        state[node] = 2;
        order.push_back(stored[node]);
        stack.pop_back();
        continue;
      }
      const size_t next = pending.back();
      pending.pop_back();
      if (state[next] == 1) {
        *error = InvalidArgument("graph '" + graph.name + "' has a cycle through " +
                                 NodeLabel(*stored[next]));
        return order;
      }
      if (state[next] == 0) {
        state[next] = 1;
        stack.emplace_back(next, deps(stored[next]));
      }
    }
  }
  return order;
}

}  // namespace

int64_t DomainOpset(const ir::Model& model, const std::string& domain) {
  const int64_t v = model.OpsetVersion(NormalizeDomain(domain));
  return v > 0 ? v : 1;
}

Status MissingKernelError(const ir::Node& node, int64_t opset) {
  const std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
  return Unimplemented("no reference kernel for " + domain + ":" + node.op_type() + " at opset " +
                       std::to_string(opset) + " (node '" + node.name() + "')");
}

void EnsureSingleThreadedBlas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

// ---------------------------------------------------------------- plans and scopes

struct Executor::GraphPlan {
  struct Step {
    const ir::Node* node = nullptr;
    const KernelDef* kernel = nullptr;  // nullptr: reported when the step is reached
    int64_t opset = 0;
    std::vector<int> inputs;    // slot per input; -1 for an omitted optional input
    std::vector<int> outputs;   // slot per output; -1 for an omitted optional output
    std::vector<int> captures;  // values the node's subgraphs read from this scope
    Status invalid;             // a structural problem found while planning
    std::vector<int> free_after;
  };
  std::vector<const ir::Value*> slot_values;
  std::unordered_map<std::string, int> slot_by_name;
  std::vector<Step> steps;
  std::vector<int> input_slots;
  std::vector<int> output_slots;
  std::vector<int> free_at_start;  // inputs and initializers nobody reads
  std::vector<std::pair<int, const Tensor*>> initializers;
  std::vector<std::pair<int, std::string>> outer_refs;
  Status error;  // set when the nodes cannot be ordered (a cycle)
};

struct Executor::Scope {
  const GraphPlan* plan = nullptr;
  Scope* parent = nullptr;
  std::vector<Tensor> slots;

  // A value of an enclosing scope by name (outer references of subgraphs).
  const Tensor* FindOuter(const std::string& name) const {
    for (const Scope* s = parent; s; s = s->parent) {
      auto it = s->plan->slot_by_name.find(name);
      if (it != s->plan->slot_by_name.end() && s->slots[it->second].defined()) {
        return &s->slots[it->second];
      }
    }
    return nullptr;
  }
};

// Lets a kernel (If/Loop/Scan) run a body with the current scope as its enclosing scope.
class ScopedSubgraphRunner : public SubgraphRunner {
 public:
  ScopedSubgraphRunner(Executor* executor, Executor::Scope* scope)
      : executor_(executor), scope_(scope) {}
  Result<std::vector<Tensor>> Run(const ir::Graph& body,
                                  const std::vector<Tensor>& inputs) override {
    return executor_->RunGraph(body, scope_, inputs, nullptr);
  }

 private:
  Executor* executor_;
  Executor::Scope* scope_;
};

Executor::Executor(const ir::Model& model, RunOptions options)
    : model_(model), options_(std::move(options)) {
  EnsureSingleThreadedBlas();
}

Executor::~Executor() = default;

int64_t Executor::OpsetFor(const ir::Node& node) const {
  return DomainOpset(model_, node.domain());
}

Status Executor::CheckDeclaredMemory() const {
  if (!model_.graph) return Status::Ok();
  return CheckGraphMemory(*model_.graph, options_);
}

const Executor::GraphPlan& Executor::PlanFor(const ir::Graph& graph) {
  auto it = plans_.find(&graph);
  if (it != plans_.end()) return *it->second;
  auto plan = std::make_unique<GraphPlan>();
  GraphPlan& p = *plan;
  std::unordered_map<const ir::Value*, int> slot_of;
  auto slot = [&](const ir::Value* v) -> int {
    if (!v) return -1;
    auto [pos, inserted] = slot_of.emplace(v, static_cast<int>(p.slot_values.size()));
    if (inserted) {
      p.slot_values.push_back(v);
      p.slot_by_name[v->name()] = pos->second;
      if (v->is_outer_ref()) p.outer_refs.emplace_back(pos->second, v->name());
    }
    return pos->second;
  };
  for (const ir::Value* v : graph.inputs()) p.input_slots.push_back(slot(v));
  for (const ir::Value* v : graph.initializers()) {
    p.initializers.emplace_back(slot(v), v->initializer());
    initializer_buffers_.insert(v->initializer()->raw());
  }
  std::vector<const ir::Node*> nodes = ExecutionOrder(graph, &p.error);
  for (const ir::Node* n : nodes) {
    GraphPlan::Step step;
    step.node = n;
    step.opset = OpsetFor(*n);
    step.invalid = CheckRequiredInputs(*n, step.opset);
    step.kernel =
        KernelRegistry::Get().Find(NormalizeDomain(n->domain()), n->op_type(), step.opset);
    for (const ir::Value* v : n->inputs()) step.inputs.push_back(slot(v));
    for (const ir::Value* v : n->outputs()) step.outputs.push_back(slot(v));
    for (const ir::Value* v : n->implicit_inputs()) step.captures.push_back(slot(v));
    p.steps.push_back(std::move(step));
  }
  for (const ir::Value* v : graph.outputs()) p.output_slots.push_back(slot(v));

  std::unordered_map<const ir::Node*, size_t> step_of;
  for (size_t s = 0; s < p.steps.size(); ++s) step_of[p.steps[s].node] = s;
  // Last reader of each slot (explicit inputs and subgraph captures); -2 keeps it to the end.
  std::vector<int> last_use(p.slot_values.size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    for (int in : p.steps[s].inputs) {
      if (in >= 0) last_use[static_cast<size_t>(in)] = static_cast<int>(s);
    }
    for (int in : p.steps[s].captures) last_use[static_cast<size_t>(in)] = static_cast<int>(s);
  }
  for (int out : p.output_slots) {
    if (out >= 0) last_use[static_cast<size_t>(out)] = -2;
  }
  for (size_t v = 0; v < last_use.size(); ++v) {
    const int slot_index = static_cast<int>(v);
    if (last_use[v] >= 0) {
      p.steps[static_cast<size_t>(last_use[v])].free_after.push_back(slot_index);
    } else if (last_use[v] == -1) {
      // Never read: free right after it is produced (or at once for sources).
      const ir::Node* producer = p.slot_values[v]->producer();
      auto at = producer ? step_of.find(producer) : step_of.end();
      const bool freed = at != step_of.end();
      if (freed) p.steps[at->second].free_after.push_back(slot_index);
      if (!freed) p.free_at_start.push_back(slot_index);
    }
  }
  return *plans_.emplace(&graph, std::move(plan)).first->second;
}

void Executor::TrackAdd(const Tensor& t) {
  const void* p = t.raw();
  if (!p || t.nbytes() == 0 || initializer_buffers_.count(p)) return;
  auto& entry = live_buffers_[p];
  if (entry.second++ == 0) {
    entry.first = static_cast<int64_t>(t.nbytes());
    live_bytes_ += entry.first;
    if (live_bytes_ > stats_.peak_live_bytes) stats_.peak_live_bytes = live_bytes_;
  }
}

void Executor::TrackRemove(const Tensor& t) {
  const void* p = t.raw();
  if (!p || t.nbytes() == 0) return;
  auto it = live_buffers_.find(p);
  if (it == live_buffers_.end()) return;
  if (--it->second.second == 0) {
    live_bytes_ -= it->second.first;
    live_buffers_.erase(it);
  }
}

Result<std::vector<Tensor>> Executor::Run(const std::map<std::string, Tensor>& inputs) {
  if (!model_.graph) return InvalidArgument("the model has no graph");
  RETURN_IF_ERROR(CheckDeclaredMemory());
  stats_ = RunStats{};
  live_buffers_.clear();
  live_bytes_ = 0;
  const auto start = std::chrono::steady_clock::now();
  auto result = RunGraph(*model_.graph, nullptr, {}, &inputs);
  stats_.run_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return result;
}

Result<std::vector<Tensor>> Executor::RunGraph(const ir::Graph& graph, Scope* parent,
                                               const std::vector<Tensor>& positional_inputs,
                                               const std::map<std::string, Tensor>* named_inputs) {
  const GraphPlan& plan = PlanFor(graph);
  RETURN_IF_ERROR(plan.error);
  Scope scope;
  scope.plan = &plan;
  scope.parent = parent;
  scope.slots.resize(plan.slot_values.size());

  // Whatever is left in the scope (outputs, values of a failed run) stops counting as live.
  struct Releaser {
    Executor* self;
    Scope* scope;
    ~Releaser() {
      for (const Tensor& t : scope->slots) {
        if (t.defined()) self->TrackRemove(t);
      }
    }
  } releaser{this, &scope};

  RETURN_IF_ERROR(BindConstants(graph, scope));
  if (named_inputs) {
    RETURN_IF_ERROR(BindNamedInputs(*named_inputs, scope));
  } else {
    RETURN_IF_ERROR(BindPositionalInputs(graph, positional_inputs, scope));
  }
  FreeSlots(plan.free_at_start, scope);

  ScopedSubgraphRunner runner(this, &scope);
  std::vector<const Tensor*> ins;
  for (size_t i = 0; i < plan.steps.size(); ++i) RETURN_IF_ERROR(RunStep(i, scope, &runner, &ins));
  return CollectOutputs(scope);
}

// Initializers, and the values of enclosing scopes a subgraph reads.
Status Executor::BindConstants(const ir::Graph& graph, Scope& scope) {
  const GraphPlan& plan = *scope.plan;
  for (const auto& [s, tensor] : plan.initializers) scope.slots[static_cast<size_t>(s)] = *tensor;
  for (const auto& [s, name] : plan.outer_refs) {
    const Tensor* outer = scope.FindOuter(name);
    if (!outer) {
      return InvalidArgument("subgraph '" + graph.name + "' reads '" + name +
                             "', which no enclosing scope holds");
    }
    scope.slots[static_cast<size_t>(s)] = *outer;
    TrackAdd(*outer);  // shares the outer buffer: adds a holder, not bytes
  }
  return Status::Ok();
}

namespace {

// A main-graph input against the declared type: element type, rank and every known dim.
Status CheckInputMatches(const ir::Value& v, const Tensor& t) {
  const ir::ValueType& type = v.type();
  if (type.is_tensor() && type.elem_type != DataType::kUndefined && type.elem_type != t.dtype()) {
    return InvalidArgument("input '" + v.name() + "' is " + std::string(DataTypeName(t.dtype())) +
                           ", the model declares " + std::string(DataTypeName(type.elem_type)));
  }
  if (type.is_tensor() && type.shape) {
    bool ok = type.shape->size() == t.shape().size();
    for (size_t d = 0; ok && d < t.shape().size(); ++d) {
      const ir::Dim& dim = (*type.shape)[d];
      if (dim.known() && dim.value != t.shape()[d]) ok = false;
    }
    if (!ok) {
      return InvalidArgument("input '" + v.name() + "' has shape " + ShapeToString(t.shape()) +
                             ", which the declared shape rejects");
    }
  }
  return Status::Ok();
}

}  // namespace

// The main graph's inputs by name; those that carry an initializer may be omitted.
Status Executor::BindNamedInputs(const std::map<std::string, Tensor>& inputs, Scope& scope) {
  const GraphPlan& plan = *scope.plan;
  for (const auto& [name, t] : inputs) {
    auto it = plan.slot_by_name.find(name);
    const bool is_input =
        it != plan.slot_by_name.end() && plan.slot_values[it->second]->is_graph_input();
    if (!is_input) return InvalidArgument("the model has no input called '" + name + "'");
  }
  for (int s : plan.input_slots) {
    const ir::Value* v = plan.slot_values[static_cast<size_t>(s)];
    auto it = inputs.find(v->name());
    if (it == inputs.end()) {
      if (v->has_initializer()) continue;
      return InvalidArgument("no value given for graph input '" + v->name() + "'");
    }
    RETURN_IF_ERROR(CheckInputMatches(*v, it->second));
    scope.slots[static_cast<size_t>(s)] = it->second;
    TrackAdd(it->second);
  }
  return Status::Ok();
}

// A subgraph's inputs, in order (If/Loop/Scan bodies).
Status Executor::BindPositionalInputs(const ir::Graph& graph, const std::vector<Tensor>& inputs,
                                      Scope& scope) {
  const GraphPlan& plan = *scope.plan;
  if (inputs.size() != plan.input_slots.size()) {
    return InvalidArgument("subgraph '" + graph.name + "' takes " +
                           std::to_string(plan.input_slots.size()) + " inputs, given " +
                           std::to_string(inputs.size()));
  }
  for (size_t i = 0; i < plan.input_slots.size(); ++i) {
    scope.slots[static_cast<size_t>(plan.input_slots[i])] = inputs[i];
    TrackAdd(inputs[i]);
  }
  return Status::Ok();
}

void Executor::FreeSlots(const std::vector<int>& slots, Scope& scope) {
  for (int s : slots) {
    Tensor& t = scope.slots[static_cast<size_t>(s)];
    if (t.defined()) TrackRemove(t);
    t = Tensor();
  }
}

Status Executor::RunStep(size_t index, Scope& scope, SubgraphRunner* runner,
                         std::vector<const Tensor*>* ins) {
  const GraphPlan& plan = *scope.plan;
  const GraphPlan::Step& step = plan.steps[index];
  const ir::Node& node = *step.node;
  if (!step.kernel) return MissingKernelError(node, step.opset);
  RETURN_IF_ERROR(step.invalid);
  ins->assign(step.inputs.size(), nullptr);
  for (size_t i = 0; i < step.inputs.size(); ++i) {
    const int s = step.inputs[i];
    if (s < 0) continue;
    const Tensor& t = scope.slots[static_cast<size_t>(s)];
    if (!t.defined()) {
      return Internal(NodeLabel(node) + ": input '" +
                      plan.slot_values[static_cast<size_t>(s)]->name() + "' has no value");
    }
    (*ins)[i] = &t;
  }
  KernelContext ctx(node, step.opset, *ins, runner);
  ctx.set_model(&model_);
  RETURN_IF_ERROR(CallKernel(*step.kernel, ctx));
  ++stats_.nodes_run;
  RETURN_IF_ERROR(StoreOutputs(index, ctx, scope));
  if (live_bytes_ > options_.memory_cap_bytes) {
    return ResourceExhausted(NodeLabel(node) + ": live tensors pass the memory cap of " +
                             std::to_string(options_.memory_cap_bytes) + " bytes");
  }
  FreeSlots(step.free_after, scope);
  return Status::Ok();
}

// Runs the kernel; exceptions become errors naming the node, and the time is profiled on request.
Status Executor::CallKernel(const KernelDef& kernel, KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const auto t0 = options_.profile_ops ? std::chrono::steady_clock::now()
                                       : std::chrono::steady_clock::time_point();
  Status st;
  try {
    st = kernel.fn(ctx);
  } catch (const ElementCountOverflow& e) {
    st = InvalidArgument(NodeLabel(node) + ": " + e.what());
  } catch (const std::exception& e) {
    st = Internal(NodeLabel(node) + ": kernel raised: " + e.what());
  }
  if (!st.ok()) return WithNode(node, st);
  if (options_.profile_ops) {
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    auto& entry = stats_.op_ms[node.op_type()];
    entry.first += ms;
    ++entry.second;
    const Shape shape = ctx.num_outputs() > 0 ? ctx.outputs()[0].shape() : Shape{};
    stats_.node_ms.push_back({node.name(), node.op_type(), shape, ms});
  }
  return Status::Ok();
}

// Moves the kernel's outputs into their slots, each checked against the memory cap.
Status Executor::StoreOutputs(size_t index, KernelContext& ctx, Scope& scope) {
  const GraphPlan& plan = *scope.plan;
  const GraphPlan::Step& step = plan.steps[index];
  const ir::Node& node = *step.node;
  for (size_t o = 0; o < step.outputs.size(); ++o) {
    const int s = step.outputs[o];
    if (s < 0) continue;
    Tensor& out = ctx.outputs()[o];
    if (!out.defined()) {
      return Internal(NodeLabel(node) + ": the kernel did not produce output " + std::to_string(o) +
                      " ('" + plan.slot_values[static_cast<size_t>(s)]->name() + "')");
    }
    if (static_cast<int64_t>(out.nbytes()) > options_.memory_cap_bytes) {
      return ResourceExhausted(NodeLabel(node) + ": output of " + std::to_string(out.nbytes()) +
                               " bytes passes the memory cap");
    }
    stats_.total_produced_bytes += static_cast<int64_t>(out.nbytes());
    Tensor& dst = scope.slots[static_cast<size_t>(s)];
    if (dst.defined()) TrackRemove(dst);
    dst = std::move(out);
    TrackAdd(dst);
  }
  return Status::Ok();
}

Result<std::vector<Tensor>> Executor::CollectOutputs(const Scope& scope) const {
  const GraphPlan& plan = *scope.plan;
  std::vector<Tensor> outputs;
  outputs.reserve(plan.output_slots.size());
  for (int s : plan.output_slots) {
    if (s < 0) {
      outputs.emplace_back();
      continue;
    }
    const Tensor& t = scope.slots[static_cast<size_t>(s)];
    if (!t.defined()) {
      return Internal("graph output '" + plan.slot_values[static_cast<size_t>(s)]->name() +
                      "' was not computed");
    }
    outputs.push_back(t);
  }
  return outputs;
}

Result<std::vector<Tensor>> RunSingleNode(const ir::Node& node,
                                          const std::vector<const Tensor*>& inputs, int64_t opset) {
  // A model holding only the opset, so subgraph bodies resolve their kernels.
  ir::Model model;
  model.opset_imports.push_back({NormalizeDomain(node.domain()), opset});
  if (!node.is_onnx_domain()) model.opset_imports.push_back({"", opset});
  Executor executor(model);
  const KernelDef* kernel =
      KernelRegistry::Get().Find(NormalizeDomain(node.domain()), node.op_type(), opset);
  if (!kernel) return MissingKernelError(node, opset);
  RETURN_IF_ERROR(CheckRequiredInputs(node, opset));
  for (size_t i = 0; i < node.inputs().size(); ++i) {
    if (node.input(i) && (i >= inputs.size() || !inputs[i])) {
      return InvalidArgument(NodeLabel(node) + ": no value given for input " + std::to_string(i));
    }
  }
  ScopedSubgraphRunner runner(&executor, nullptr);
  KernelContext ctx(node, opset, inputs, &runner);
  Status st;
  try {
    st = kernel->fn(ctx);
  } catch (const ElementCountOverflow& e) {
    st = InvalidArgument(NodeLabel(node) + ": " + e.what());
  } catch (const std::exception& e) {
    st = Internal(NodeLabel(node) + ": kernel raised: " + e.what());
  }
  if (!st.ok()) return WithNode(node, st);
  for (size_t o = 0; o < ctx.num_outputs(); ++o) {
    if (ctx.output_requested(o) && !ctx.outputs()[o].defined()) {
      return Internal(NodeLabel(node) + ": the kernel did not produce output " + std::to_string(o));
    }
  }
  return std::move(ctx.outputs());
}

}  // namespace graphopt::reference
