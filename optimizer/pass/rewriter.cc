#include "optimizer/pass/rewriter.h"

#include <algorithm>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

Rewriter::Rewriter(ir::Graph& g, RewriteListener* listener)
    : g_(g), listener_(listener), previous_(g.observer()) {
  g_.set_observer(this);
}

Rewriter::~Rewriter() { g_.set_observer(previous_); }

ir::Node* Rewriter::CreateNode(const std::string& op, const std::vector<ir::Value*>& inputs,
                               size_t num_outputs, const std::string& name_hint,
                               const std::string& domain) {
  return g_.AddNode(op, inputs, num_outputs, name_hint, domain);
}

ir::Node* Rewriter::CreateNodeWithOutputs(const std::string& op,
                                          const std::vector<ir::Value*>& inputs,
                                          const std::vector<ir::Value*>& outputs,
                                          const std::string& name, const std::string& domain) {
  return g_.AddNodeWithOutputs(op, inputs, outputs, name, domain);
}

ir::Value* Rewriter::CreateInitializer(const std::string& hint, Tensor t) {
  ir::Value* v = g_.NewInitializer(hint, std::move(t));
  created_initializers_.push_back(v);
  return v;
}

bool Rewriter::ReplaceValue(ir::Value* from, ir::Value* to) {
  return graphopt::ReplaceValue(g_, from, to);
}

bool Rewriter::ReplaceNode(ir::Node* n, const std::vector<ir::Value*>& values) {
  const size_t count = std::min(values.size(), n->outputs().size());
  for (size_t i = 0; i < count; ++i) {
    if (values[i] && n->output(i) && !CanReplaceValue(g_, n->output(i), values[i])) return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (values[i] && n->output(i)) graphopt::ReplaceValue(g_, n->output(i), values[i]);
  }
  EraseIfDead(n);
  return true;
}

bool Rewriter::Bypass(ir::Node* n, size_t input_index) {
  ir::Value* in = n->input(input_index);
  if (!in || !n->output(0)) return false;
  return ReplaceNode(n, {in});
}

void Rewriter::Erase(ir::Node* n) { g_.RemoveNode(n); }

void Rewriter::EraseIfDead(ir::Node* n) { RemoveIfDead(g_, n); }

namespace {
std::string Label(const ir::Node* n) { return n->name().empty() ? n->op_type() : n->name(); }
}  // namespace

void Rewriter::Begin(const ir::Node* root) {
  in_transaction_ = true;
  root_ = root;
  root_erased_ = false;
  erased_names_.clear();
  created_nodes_.clear();
  created_initializers_.clear();
  touched_.clear();
  erased_.clear();
  consumed_.clear();
}

void Rewriter::Commit() {
  in_transaction_ = false;
  if (listener_) {
    for (ir::Node* n : created_nodes_) listener_->NodeCreated(n);
    for (ir::Node* n : touched_) {
      if (!erased_.count(n)) listener_->NodeChanged(n);
    }
  }
  created_nodes_.clear();
  created_initializers_.clear();
  touched_.clear();
  erased_.clear();
}

void Rewriter::Rollback() {
  // Newest first: a node made later may read one made earlier.
  while (!created_nodes_.empty()) {
    ir::Node* n = created_nodes_.back();
    created_nodes_.pop_back();
    bool used = false;
    for (const ir::Value* out : n->outputs()) {
      used |= out && (!out->uses().empty() || out->is_graph_output());
    }
    if (!used) g_.RemoveNode(n);
  }
  for (ir::Value* v : created_initializers_) {
    if (v->uses().empty() && !v->is_graph_output()) g_.RemoveInitializer(v);
  }
  in_transaction_ = false;
  created_initializers_.clear();
  touched_.clear();
  erased_.clear();
  consumed_.clear();
}

void Rewriter::Provenance(const ir::Node* root, std::vector<std::string>* from,
                          std::vector<std::string>* to) const {
  *from = erased_names_;
  to->clear();
  for (const ir::Node* n : created_nodes_) to->push_back(Label(n));
  if (root && root == root_ && !root_erased_) {
    from->insert(from->begin(), Label(root));
    to->insert(to->begin(), Label(root));
  }
}

void Rewriter::Touch(ir::Node* n) {
  if (in_transaction_) {
    touched_.push_back(n);
  } else if (listener_) {
    listener_->NodeChanged(n);
  }
}

void Rewriter::OnNodeAdded(ir::Node* n) {
  erased_.erase(n);  // the allocator may hand out an erased node's address again
  if (in_transaction_) {
    created_nodes_.push_back(n);
  } else if (listener_) {
    listener_->NodeCreated(n);
  }
}

void Rewriter::OnNodeRemoved(ir::Node* n) {
  auto it = std::find(created_nodes_.begin(), created_nodes_.end(), n);
  if (it != created_nodes_.end()) {
    created_nodes_.erase(it);
  } else if (in_transaction_) {
    erased_names_.push_back(Label(n));
    if (n == root_) root_erased_ = true;
  }
  if (in_transaction_) erased_.insert(n);
  if (listener_) listener_->NodeErased(n);
  // The producers of its inputs lose a reader.
  for (ir::Value* in : n->inputs()) {
    if (in && in->producer() && in->producer()->graph() == &g_) Touch(in->producer());
  }
}

void Rewriter::OnNodeInputsChanged(ir::Node* n) { Touch(n); }

}  // namespace graphopt
