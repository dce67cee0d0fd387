#include "optimizer/pass/rewrite_util.h"

#include <unordered_set>

namespace graphopt {

const Tensor* ConstantValue(const ir::Value* v) {
  if (!v) return nullptr;
  if (v->has_initializer()) return v->is_graph_input() ? nullptr : v->initializer();
  const ir::Node* p = v->producer();
  if (p && p->Is("Constant")) {
    const ir::Attribute* a = p->attr("value");
    if (a && a->type == ir::AttrType::kTensor) return &a->t;
  }
  return nullptr;
}

bool IsConstant(const ir::Value* v) { return ConstantValue(v) != nullptr; }

std::optional<std::vector<int64_t>> ConstantInts(const ir::Value* v) {
  const Tensor* t = ConstantValue(v);
  if (!t || !(t->dtype() == DataType::kInt64 || t->dtype() == DataType::kInt32)) return std::nullopt;
  return t->ToInt64Vector();
}

bool IsScalarConstantEqual(const ir::Value* v, double x) {
  const Tensor* t = ConstantValue(v);
  if (!t || t->size() != 1 || t->dtype() == DataType::kString) return false;
  return t->GetDouble(0) == x;
}

std::optional<Shape> StaticShape(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = ConstantValue(v)) return t->shape();
  return v->type().StaticShape();
}

bool HasSingleUse(const ir::Value* v) { return v->uses().size() == 1 && !v->is_graph_output(); }

namespace {

// Can `to` take the name of the graph output `from`?
bool CanInheritOutputName(const ir::Graph& g, const ir::Value* to) {
  return to->producer() && to->graph() == &g && !to->is_graph_output() && !to->is_graph_input() &&
         !to->has_initializer() && !to->is_outer_ref();
}

}  // namespace

bool CanReplaceValue(const ir::Graph& g, const ir::Value* from, const ir::Value* to) {
  return from != to && (!from->is_graph_output() || CanInheritOutputName(g, to));
}

bool ReplaceValue(ir::Graph& g, ir::Value* from, ir::Value* to) {
  if (from == to) return false;
  if (!from->is_graph_output()) {
    g.ReplaceAllUsesWith(from, to);
    return true;
  }
  if (!CanInheritOutputName(g, to)) return false;
  // `from` keeps its name as a graph output: detach it, then let `to` take that name.
  const std::string name = from->name();
  ir::ValueType type = from->type().has_type() ? from->type() : to->type();
  std::string doc = from->doc_string;
  ir::Node* producer = from->producer();
  g.ReplaceAllUsesWith(from, to);
  if (producer) {
    // Give the old producer a fresh placeholder so the name is free.
    ir::Value* placeholder = g.NewValue(name + "_replaced");
    g.SetNodeOutput(producer, static_cast<size_t>(from->producer_index()), placeholder);
  }
  g.PruneOrphanValues();
  g.RenameValue(to, name);
  to->type() = type;
  to->doc_string = doc;
  return true;
}

bool BypassNode(ir::Graph& g, ir::Node* n, size_t input_index) {
  ir::Value* in = n->input(input_index);
  ir::Value* out = n->output(0);
  if (!in || !out) return false;
  if (!ReplaceValue(g, out, in)) return false;
  RemoveIfDead(g, n);
  return true;
}

bool IsRemovableWhenUnused(const ir::Node* n) {
  // Operators of domains we do not know might have effects we cannot see; they stay.
  const std::string& d = n->domain();
  return n->is_onnx_domain() || d == "ai.onnx.ml" || d == "com.microsoft";
}

void RemoveIfDead(ir::Graph& g, ir::Node* n) {
  std::vector<ir::Node*> work{n};
  std::unordered_set<ir::Node*> removed;
  while (!work.empty()) {
    ir::Node* m = work.back();
    work.pop_back();
    if (removed.count(m) || (m != n && !IsRemovableWhenUnused(m))) continue;
    bool used = false;
    for (ir::Value* out : m->outputs()) used |= out && (!out->uses().empty() || out->is_graph_output());
    if (used) continue;
    for (ir::Value* in : m->inputs()) {
      if (in && in->producer() && in->graph() == &g) work.push_back(in->producer());
    }
    for (ir::Value* in : m->implicit_inputs()) {
      if (in->producer() && in->graph() == &g) work.push_back(in->producer());
    }
    g.RemoveNode(m);
    removed.insert(m);
  }
}

}  // namespace graphopt
