// The reference CPU executor: runs an ir::Model (or one graph) node by node on the registered
// kernels, freeing each intermediate after its last use. The judge for folding and verification.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "backends/reference/kernel.h"
#include "optimizer/ir/graph.h"
#include "optimizer/ir/tensor.h"
#include "optimizer/util/status.h"

namespace graphopt::reference {

struct RunOptions {
  // Values of symbolic dims ("batch" -> 1), used by the memory-cap check.
  std::map<std::string, int64_t> dims;
  // Refuse a run whose declared shapes or actual outputs would pass this many bytes.
  int64_t memory_cap_bytes = int64_t{8} << 30;
  // Record time per op type (costs two clock reads per node).
  bool profile_ops = false;
};

struct RunStats {
  // Largest sum of live intermediate bytes (inputs and kernel outputs; initializers excluded;
  // buffers shared by several values counted once).
  int64_t peak_live_bytes = 0;
  // Sum of bytes of every tensor produced by a kernel (what a no-freeing executor would hold).
  int64_t total_produced_bytes = 0;
  double run_ms = 0;
  int64_t nodes_run = 0;
  // Op type -> (total ms, calls); filled with RunOptions::profile_ops.
  std::map<std::string, std::pair<double, int64_t>> op_ms;
  // Per node (name, op type, first output shape, ms) in run order; with profile_ops.
  struct NodeTime {
    std::string node, op_type;
    Shape output_shape;
    double ms;
  };
  std::vector<NodeTime> node_ms;
};

class Executor {
 public:
  // `model` must outlive the executor. Plans are built lazily and cached per graph.
  explicit Executor(const ir::Model& model, RunOptions options = {});
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Runs the main graph. `inputs` by graph input name; inputs that carry an initializer may be
  // omitted. Returns the graph outputs in order.
  Result<std::vector<Tensor>> Run(const std::map<std::string, Tensor>& inputs);

  // Checks the declared shapes of every value (symbolic dims from the options) against the
  // memory cap; RESOURCE_EXHAUSTED naming the value when one is too large. Run() calls it.
  Status CheckDeclaredMemory() const;

  const RunStats& stats() const { return stats_; }
  const ir::Model& model() const { return model_; }
  // Opset of a node's domain in this model.
  int64_t OpsetFor(const ir::Node& node) const;

  // The executor state shared by plans and scopes (defined in executor.cc).
  struct GraphPlan;
  struct Scope;

 private:
  friend class ScopedSubgraphRunner;
  const GraphPlan& PlanFor(const ir::Graph& graph);
  Result<std::vector<Tensor>> RunGraph(const ir::Graph& graph, Scope* parent,
                                       const std::vector<Tensor>& positional_inputs,
                                       const std::map<std::string, Tensor>* named_inputs);
  // RunGraph's steps, in order.
  Status BindConstants(const ir::Graph& graph, Scope& scope);
  Status BindNamedInputs(const std::map<std::string, Tensor>& inputs, Scope& scope);
  Status BindPositionalInputs(const ir::Graph& graph, const std::vector<Tensor>& inputs,
                              Scope& scope);
  void FreeSlots(const std::vector<int>& slots, Scope& scope);
  // Runs plan step `index` of `scope`; `ins` is scratch space reused across steps.
  Status RunStep(size_t index, Scope& scope, SubgraphRunner* runner,
                 std::vector<const Tensor*>* ins);
  Status CallKernel(const KernelDef& kernel, KernelContext& ctx);
  Status StoreOutputs(size_t index, KernelContext& ctx, Scope& scope);
  Result<std::vector<Tensor>> CollectOutputs(const Scope& scope) const;
  void TrackAdd(const Tensor& t);
  void TrackRemove(const Tensor& t);

  const ir::Model& model_;
  RunOptions options_;
  RunStats stats_;
  std::unordered_map<const ir::Graph*, std::unique_ptr<GraphPlan>> plans_;
  // Live buffers (by data pointer) -> (bytes, holders), for peak memory accounting.
  std::unordered_map<const void*, std::pair<int64_t, int64_t>> live_buffers_;
  int64_t live_bytes_ = 0;
  // Buffers of initializers: shared with the model, never counted as live intermediates.
  std::unordered_set<const void*> initializer_buffers_;
};

// Runs a single node on the given inputs (nullptr for omitted optional ones); subgraphs of the
// node may only read values they define themselves. Used by constant folding.
Result<std::vector<Tensor>> RunSingleNode(const ir::Node& node,
                                          const std::vector<const Tensor*>& inputs, int64_t opset);

// "no reference kernel for <domain>:<op> at opset N (node 'x')" as an UNIMPLEMENTED status.
Status MissingKernelError(const ir::Node& node, int64_t opset);

// The opset of `domain` in `model`; 1 for a domain the model does not import.
int64_t DomainOpset(const ir::Model& model, const std::string& domain);

// Calls openblas_set_num_threads(1) the first time only: the executor is single-threaded.
void EnsureSingleThreadedBlas();

}  // namespace graphopt::reference
