#include "optimizer/ir/verifier.h"

#include <algorithm>
#include <unordered_set>

namespace graphopt::ir {

namespace {

Status Broken(const std::string& what) { return Status(StatusCode::kInternal, "IR invalid: " + what); }

std::string Label(const Node* n) { return n->name().empty() ? n->op_type() : n->name(); }

// Whether `v` is visible from `g`: defined in it or in an enclosing graph.
bool Visible(const Graph& g, const Value* v) {
  for (const Graph* s = &g; s; s = s->parent()) {
    if (v->graph() == s) return true;
  }
  return false;
}

Status VerifyNodes(const Graph& g) {
  std::unordered_set<const Node*> seen;
  std::unordered_set<const Value*> produced;
  // The pass manager keeps the top-level graph sorted; bodies keep their imported order.
  const bool check_order = g.parent() == nullptr;
  for (const Node* n : g.nodes()) {
    if (n->graph() != &g) return Broken("node " + Label(n) + " belongs to another graph");
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      const Value* v = n->input(i);
      if (!v) continue;
      if (!Visible(g, v)) return Broken("node " + Label(n) + " reads " + v->name() + " of another graph");
      const auto& uses = v->uses();
      if (std::find(uses.begin(), uses.end(), Use{const_cast<Node*>(n), static_cast<int>(i)}) ==
          uses.end()) {
        return Broken("input " + std::to_string(i) + " of " + Label(n) + " (" + v->name() +
                      ") is missing from its use list");
      }
      // Topological order: a producer in this graph comes first.
      if (check_order && v->producer() && v->graph() == &g && !seen.count(v->producer())) {
        return Broken("node " + Label(n) + " comes before the producer of " + v->name());
      }
    }
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      const Value* v = n->output(i);
      if (!v) continue;
      if (!produced.insert(v).second) return Broken("value " + v->name() + " has two producers");
      if (v->producer() != n || v->producer_index() != static_cast<int>(i)) {
        return Broken("output " + std::to_string(i) + " of " + Label(n) + " (" + v->name() +
                      ") names another producer");
      }
      if (g.FindValue(v->name()) != v) return Broken("value " + v->name() + " is not registered");
    }
    seen.insert(n);
  }
  return Status::Ok();
}

Status VerifyUses(const Graph& g) {
  for (const Node* n : g.nodes()) {
    for (const Value* v : n->outputs()) {
      if (!v) continue;
      for (const Use& u : v->uses()) {
        if (u.index < 0) continue;  // a capture by a subgraph
        if (u.node->input(static_cast<size_t>(u.index)) != v) {
          return Broken("use list of " + v->name() + " names input " + std::to_string(u.index) +
                        " of " + Label(u.node) + ", which reads something else");
        }
      }
    }
  }
  return Status::Ok();
}

Status VerifyInterface(const Graph& g) {
  // ONNX lets a subgraph's inputs go untyped (the Loop or Scan that runs it defines them; the
  // backend tests' expanded Range does so): only the model's own inputs must carry a type.
  for (const Value* v : g.inputs()) {
    if (!g.parent() && !v->type().has_type()) {
      return Broken("graph input " + v->name() + " has no type");
    }
  }
  for (const Value* v : g.initializers()) {
    const Tensor* t = v->initializer();
    if (v->elem_type() != DataType::kUndefined && v->elem_type() != t->dtype()) {
      return Broken("initializer " + v->name() + " is typed unlike its tensor");
    }
  }
  for (const Value* v : g.outputs()) {
    if (v && !Visible(g, v)) return Broken("graph output " + v->name() + " is of another graph");
  }
  return Status::Ok();
}

Status VerifyRecursive(const Graph& g) {
  if (Status s = VerifyNodes(g); !s.ok()) return s;
  if (Status s = VerifyUses(g); !s.ok()) return s;
  if (Status s = VerifyInterface(g); !s.ok()) return s;
  for (const Node* n : g.nodes()) {
    for (const Graph* sub : n->Subgraphs()) {
      if (Status s = VerifyRecursive(*sub); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

}  // namespace

Status VerifyGraph(const Graph& g) { return VerifyRecursive(g); }

Status VerifyModel(const Model& model) {
  if (!model.graph) return Broken("model has no graph");
  return VerifyGraph(*model.graph);
}

}  // namespace graphopt::ir
