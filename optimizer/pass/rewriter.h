// The one way passes edit the graph: create nodes and initializers, replace a node's outputs
// with other values, bypass or erase nodes. Edits of one rule application form a transaction:
// the driver commits it, or rolls back what a failed application created. The rewriter observes
// the graph, so the driver learns of every created, erased or rewired node, even through helpers.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt {

// What the driver wants to hear about (its worklist). Inside a transaction, erasures are
// reported at once (the driver must forget the node), creations and changes on Commit only, so
// a rolled-back attempt leaves the worklist as it was.
class RewriteListener {
 public:
  virtual ~RewriteListener() = default;
  virtual void NodeCreated(ir::Node* n) = 0;
  virtual void NodeErased(ir::Node* n) = 0;
  // `n` reads other values than before (a replacement or a rewired input), or one of the nodes
  // it reads lost a reader (a match that needed a single reader may succeed now).
  virtual void NodeChanged(ir::Node* n) = 0;
};

class Rewriter : private ir::GraphObserver {
 public:
  // Observes `g` (top level only) until destroyed; `listener` may be null.
  explicit Rewriter(ir::Graph& g, RewriteListener* listener = nullptr);
  ~Rewriter() override;
  Rewriter(const Rewriter&) = delete;
  Rewriter& operator=(const Rewriter&) = delete;

  ir::Graph& graph() { return g_; }

  // A new node after the existing ones (the pass manager restores topological order).
  ir::Node* CreateNode(const std::string& op, const std::vector<ir::Value*>& inputs,
                       size_t num_outputs, const std::string& name_hint = "",
                       const std::string& domain = "");
  ir::Node* CreateNodeWithOutputs(const std::string& op, const std::vector<ir::Value*>& inputs,
                                  const std::vector<ir::Value*>& outputs,
                                  const std::string& name = "", const std::string& domain = "");
  // A new initializer with a unique name from `hint`; dropped again if the rewrite fails.
  ir::Value* CreateInitializer(const std::string& hint, Tensor t);

  // Every reader of `from` reads `to`; a graph output keeps its name (`to` is renamed). False,
  // nothing changed, when that is impossible (see ReplaceValue in rewrite_util.h).
  bool ReplaceValue(ir::Value* from, ir::Value* to);
  // Replaces output i of `n` by values[i] (nullptr: leave that output), then erases `n` and
  // whatever only it fed when nothing reads it any more. All or nothing: false, nothing
  // changed, when one output cannot be replaced.
  bool ReplaceNode(ir::Node* n, const std::vector<ir::Value*>& values);
  // Replaces `n`'s output 0 by its input `input_index` and erases `n`.
  bool Bypass(ir::Node* n, size_t input_index = 0);
  // Erases `n`, whose outputs nobody may read any more.
  void Erase(ir::Node* n);
  // Erases `n` when nothing reads its outputs, then the producers only it read, recursively.
  void EraseIfDead(ir::Node* n);

  // Names of the nodes the current application consumed, for the report; the driver records
  // the root's name when a rule leaves this empty.
  std::vector<std::string>* consumed() { return &consumed_; }
  // Provenance of the current application: names of the nodes it erased that existed before it
  // (`from`) and of the nodes it created that are still there (`to`). A root left in place is
  // in both. Call before Commit.
  void Provenance(const ir::Node* root, std::vector<std::string>* from,
                  std::vector<std::string>* to) const;

  // Transactions, driven by the rule driver: Begin before a rule runs, then Commit when it
  // applied or Rollback when it did not (erases the nodes and initializers it created).
  void Begin(const ir::Node* root = nullptr);
  void Commit();
  void Rollback();

 private:
  void OnNodeAdded(ir::Node* n) override;
  void OnNodeRemoved(ir::Node* n) override;
  void OnNodeInputsChanged(ir::Node* n) override;

  void Touch(ir::Node* n);

  ir::Graph& g_;
  RewriteListener* listener_;
  ir::GraphObserver* previous_;
  bool in_transaction_ = false;
  std::vector<ir::Node*> created_nodes_;
  std::vector<ir::Node*> touched_;        // changed within the transaction
  std::unordered_set<ir::Node*> erased_;  // erased within the transaction
  std::vector<std::string> erased_names_;  // of erased nodes the transaction did not create
  bool root_erased_ = false;
  const ir::Node* root_ = nullptr;
  std::vector<ir::Value*> created_initializers_;
  std::vector<std::string> consumed_;
};

}  // namespace graphopt
