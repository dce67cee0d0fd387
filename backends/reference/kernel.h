// The reference executor's kernel interface: one function per operator family member,
// registered by (domain, op type, opset range) in a table.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/ir/tensor.h"
#include "optimizer/util/status.h"

namespace graphopt::reference {

// The newest default-domain opset whose semantics the reference kernels implement; kernels
// register their last range up to it.
inline constexpr int kLatestOpset = 27;

class KernelContext;
using KernelFn = Status (*)(KernelContext& ctx);

struct KernelDef {
  std::string domain;  // "" for the default ONNX domain
  std::string op_type;
  int since_version;   // first opset this kernel implements
  int until_version;   // last opset (inclusive)
  KernelFn fn;
};

class KernelRegistry {
 public:
  static KernelRegistry& Get();
  void Register(KernelDef def);
  // The kernel for `op_type` in `domain` at `opset`, or nullptr.
  const KernelDef* Find(const std::string& domain, const std::string& op_type, int64_t opset) const;
  bool Has(const std::string& domain, const std::string& op_type) const;
  const std::vector<KernelDef>& all() const { return defs_; }

 private:
  std::vector<KernelDef> defs_;
};

struct KernelRegistrar {
  KernelRegistrar(const char* domain, const char* op, int since, int until, KernelFn fn) {
    KernelRegistry::Get().Register({domain, op, since, until, fn});
  }
};

}  // namespace graphopt::reference

#define GRAPHOPT_KERNEL_CONCAT2(a, b) a##b
#define GRAPHOPT_KERNEL_CONCAT(a, b) GRAPHOPT_KERNEL_CONCAT2(a, b)
// REGISTER_KERNEL("", "Relu", 6, kLatestOpset, ReluKernel); one line per (op, opset range).
#define REGISTER_KERNEL(domain, op, since, until, fn)                        \
  static const ::graphopt::reference::KernelRegistrar GRAPHOPT_KERNEL_CONCAT( \
      kernel_registrar_, __COUNTER__)(domain, op, since, until, fn)

namespace graphopt::reference {

// Runs a node's subgraph (If/Loop/Scan bodies) with the enclosing values in scope.
class SubgraphRunner {
 public:
  virtual ~SubgraphRunner() = default;
  virtual Result<std::vector<Tensor>> Run(const ir::Graph& body,
                                          const std::vector<Tensor>& inputs) = 0;
};

// What a kernel sees: its node (attributes), input tensors, and where outputs go.
class KernelContext {
 public:
  KernelContext(const ir::Node& node, int64_t opset, std::vector<const Tensor*> inputs,
                SubgraphRunner* runner)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), runner_(runner),
        outputs_(node.outputs().size()) {}

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  // The model being run (its metadata), or nullptr when a node runs on its own (folding).
  const ir::Model* model() const { return model_; }
  void set_model(const ir::Model* model) { model_ = model; }

  size_t num_inputs() const { return inputs_.size(); }
  // nullptr for an omitted optional input (or one past the end).
  const Tensor* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  bool has_input(size_t i) const { return input(i) != nullptr; }

  size_t num_outputs() const { return outputs_.size(); }
  // False when the node leaves optional output i unnamed.
  bool output_requested(size_t i) const { return i < outputs_.size() && node_.output(i) != nullptr; }
  // Outputs past the node's own are ignored: a malformed node cannot make a kernel write out
  // of bounds.
  void SetOutput(size_t i, Tensor t) {
    if (i < outputs_.size()) outputs_[i] = std::move(t);
  }
  std::vector<Tensor>& outputs() { return outputs_; }

  // An INVALID_ARGUMENT naming the node, for bad attributes or shapes.
  Status Fail(const std::string& message) const;
  Status Unsupported(const std::string& message) const;

  Result<std::vector<Tensor>> RunSubgraph(const ir::Graph& body, const std::vector<Tensor>& inputs) {
    if (!runner_) return Fail("subgraphs cannot run in this context");
    return runner_->Run(body, inputs);
  }

 private:
  const ir::Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  SubgraphRunner* runner_;
  std::vector<Tensor> outputs_;
  const ir::Model* model_ = nullptr;
};

}  // namespace graphopt::reference
