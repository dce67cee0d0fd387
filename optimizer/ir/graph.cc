#include "optimizer/ir/graph.h"

#include <algorithm>
#include <queue>
#include <stdexcept>

namespace graphopt::ir {

std::optional<Shape> ValueType::StaticShape() const {
  if (!shape) return std::nullopt;
  Shape s;
  s.reserve(shape->size());
  for (const Dim& d : *shape) {
    if (!d.known()) return std::nullopt;
    s.push_back(d.value);
  }
  return s;
}

ValueType ValueType::FromShape(DataType type, const Shape& shape) {
  ValueType t;
  t.elem_type = type;
  t.shape.emplace();
  for (int64_t d : shape) t.shape->push_back(Dim{d, ""});
  return t;
}

Attribute::~Attribute() = default;

bool Attribute::Equals(const Attribute& o) const {
  if (name != o.name || type != o.type || ref_attr_name != o.ref_attr_name) return false;
  switch (type) {
    case AttrType::kFloat: return f == o.f || (f != f && o.f != o.f);
    case AttrType::kInt: return i == o.i;
    case AttrType::kString: return s == o.s;
    case AttrType::kTensor: return t.SameContents(o.t);
    case AttrType::kFloats: return floats == o.floats;
    case AttrType::kInts: return ints == o.ints;
    case AttrType::kStrings: return strings == o.strings;
    case AttrType::kTensors:
      if (tensors.size() != o.tensors.size()) return false;
      for (size_t k = 0; k < tensors.size(); ++k) {
        if (!tensors[k].SameContents(o.tensors[k])) return false;
      }
      return true;
    case AttrType::kGraph: return g.get() == o.g.get();
    case AttrType::kGraphs: return graphs.empty() && o.graphs.empty();
    default: return opaque == o.opaque;
  }
}

// ---------------------------------------------------------------- Node

void Node::SetInput(size_t i, Value* v) {
  if (inputs_[i] == v) return;
  if (inputs_[i]) graph_->DropUse(inputs_[i], Use{this, static_cast<int>(i)});
  inputs_[i] = v;
  if (v) graph_->AddUse(v, Use{this, static_cast<int>(i)});
  if (graph_->observer_) graph_->observer_->OnNodeInputsChanged(this);
}

void Node::AddInput(Value* v) {
  inputs_.push_back(v);
  if (v) graph_->AddUse(v, Use{this, static_cast<int>(inputs_.size() - 1)});
  if (graph_->observer_) graph_->observer_->OnNodeInputsChanged(this);
}

void Node::RemoveInput(size_t i) {
  for (size_t k = i; k < inputs_.size(); ++k) {
    if (inputs_[k]) graph_->DropUse(inputs_[k], Use{this, static_cast<int>(k)});
  }
  std::vector<Value*> tail(inputs_.begin() + static_cast<std::ptrdiff_t>(i) + 1, inputs_.end());
  inputs_.resize(i);
  for (Value* v : tail) AddInput(v);
}

void Node::AddImplicitInput(Value* v) {
  implicit_inputs_.push_back(v);
  graph_->AddUse(v, Use{this, -1});
}

const Attribute* Node::attr(const std::string& name) const {
  for (const auto& a : attributes_) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

int64_t Node::GetInt(const std::string& name, int64_t def) const {
  const Attribute* a = attr(name);
  return a && a->type == AttrType::kInt ? a->i : def;
}
float Node::GetFloat(const std::string& name, float def) const {
  const Attribute* a = attr(name);
  return a && a->type == AttrType::kFloat ? a->f : def;
}
std::string Node::GetString(const std::string& name, const std::string& def) const {
  const Attribute* a = attr(name);
  return a && a->type == AttrType::kString ? a->s : def;
}
std::vector<int64_t> Node::GetInts(const std::string& name, std::vector<int64_t> def) const {
  const Attribute* a = attr(name);
  return a && a->type == AttrType::kInts ? a->ints : def;
}
std::vector<float> Node::GetFloats(const std::string& name, std::vector<float> def) const {
  const Attribute* a = attr(name);
  return a && a->type == AttrType::kFloats ? a->floats : def;
}

Attribute& Node::UpsertAttr(const std::string& name, AttrType type) {
  for (auto& a : attributes_) {
    if (a.name == name) {
      a = Attribute();
      a.name = name;
      a.type = type;
      return a;
    }
  }
  attributes_.emplace_back();
  attributes_.back().name = name;
  attributes_.back().type = type;
  return attributes_.back();
}

void Node::SetInt(const std::string& name, int64_t v) { UpsertAttr(name, AttrType::kInt).i = v; }
void Node::SetFloat(const std::string& name, float v) { UpsertAttr(name, AttrType::kFloat).f = v; }
void Node::SetString(const std::string& name, std::string v) {
  UpsertAttr(name, AttrType::kString).s = std::move(v);
}
void Node::SetInts(const std::string& name, std::vector<int64_t> v) {
  UpsertAttr(name, AttrType::kInts).ints = std::move(v);
}
void Node::SetFloats(const std::string& name, std::vector<float> v) {
  UpsertAttr(name, AttrType::kFloats).floats = std::move(v);
}
void Node::SetTensor(const std::string& name, Tensor v) {
  UpsertAttr(name, AttrType::kTensor).t = std::move(v);
}
void Node::RemoveAttr(const std::string& name) {
  attributes_.erase(std::remove_if(attributes_.begin(), attributes_.end(),
                                   [&](const Attribute& a) { return a.name == name; }),
                    attributes_.end());
}

bool Node::HasSubgraphs() const {
  for (const auto& a : attributes_) {
    if (a.g || !a.graphs.empty()) return true;
  }
  return false;
}

std::vector<Graph*> Node::Subgraphs() const {
  std::vector<Graph*> out;
  for (const auto& a : attributes_) {
    if (a.g) out.push_back(a.g.get());
    for (const auto& g : a.graphs) out.push_back(g.get());
  }
  return out;
}

// ---------------------------------------------------------------- Graph

Graph::Graph(Graph* parent, Node* owner) : parent_(parent), owner_(owner) {
  if (!parent_) names_ = std::make_unique<std::unordered_set<std::string>>();
}

Graph::~Graph() {
  // Nodes go first so that no node refers to a freed value while it is destroyed.
  nodes_.clear();
}

Graph* Graph::root() {
  Graph* g = this;
  while (g->parent_) g = g->parent_;
  return g;
}

std::unordered_set<std::string>& Graph::names() { return *root()->names_; }

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(nodes_.size());
  for (const auto& n : nodes_) out.push_back(n.get());
  return out;
}

std::vector<Value*> Graph::initializers() const {
  std::vector<Value*> out;
  for (Value* v : initializer_order_) {
    if (v->has_initializer()) out.push_back(v);
  }
  return out;
}

Value* Graph::FindValue(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? nullptr : it->second.get();
}

Value* Graph::GetOrCreateValue(const std::string& name) {
  if (Value* v = FindValue(name)) return v;
  auto v = std::make_unique<Value>();
  v->name_ = name;
  v->graph_ = this;
  names().insert(name);
  Value* raw = v.get();
  values_.emplace(name, std::move(v));
  return raw;
}

Value* Graph::NewValue(const std::string& hint) {
  auto& reg = names();
  std::string base = hint.empty() ? "v" : hint;
  std::string name = base;
  while (reg.count(name)) name = base + "_" + std::to_string(++root()->name_counter_);
  return GetOrCreateValue(name);
}

Value* Graph::AddInput(const std::string& name, ValueType type) {
  Value* v = GetOrCreateValue(name);
  v->type_ = std::move(type);
  if (!v->is_graph_input_) {
    v->is_graph_input_ = true;
    inputs_.push_back(v);
  }
  return v;
}

void Graph::AddOutput(Value* v) {
  outputs_.push_back(v);
  v->graph_output_count_++;
}

void Graph::SetOutput(size_t i, Value* v) {
  outputs_[i]->graph_output_count_--;
  outputs_[i] = v;
  v->graph_output_count_++;
}

Value* Graph::AddInitializer(const std::string& name, Tensor t) {
  Value* v = GetOrCreateValue(name);
  SetInitializer(v, std::move(t));
  return v;
}

Value* Graph::NewInitializer(const std::string& hint, Tensor t) {
  Value* v = NewValue(hint);
  SetInitializer(v, std::move(t));
  return v;
}

void Graph::SetInitializer(Value* v, Tensor t) {
  if (!v->initializer_) initializer_order_.push_back(v);
  ValueType vt = ValueType::FromShape(t.dtype(), t.shape());
  if (!v->is_graph_input_ || !v->type_.has_type()) v->type_ = vt;
  v->initializer_ = std::make_unique<Tensor>(std::move(t));
}

void Graph::RemoveInitializer(Value* v) {
  v->initializer_.reset();
  initializer_order_.erase(std::remove(initializer_order_.begin(), initializer_order_.end(), v),
                           initializer_order_.end());
}

void Graph::RemoveInput(Value* v) {
  inputs_.erase(std::remove(inputs_.begin(), inputs_.end(), v), inputs_.end());
  v->is_graph_input_ = false;
}

Value* Graph::OuterRef(const std::string& name) {
  if (Value* v = FindValue(name)) return v;
  auto v = std::make_unique<Value>();
  v->name_ = name;
  v->graph_ = this;
  v->is_outer_ref_ = true;
  Value* raw = v.get();
  values_.emplace(name, std::move(v));
  return raw;
}

std::string Graph::UniqueNodeName(const std::string& hint) {
  // Node names share the value-name registry under a prefix so they never collide either.
  auto& reg = names();
  std::string base = hint.empty() ? "node" : hint;
  std::string name = base;
  while (reg.count("\x01" + name)) name = base + "_" + std::to_string(++root()->name_counter_);
  reg.insert("\x01" + name);
  return name;
}

Node* Graph::AddNode(const std::string& op_type, const std::vector<Value*>& inputs,
                     size_t num_outputs, const std::string& name_hint, const std::string& domain) {
  std::vector<Value*> outs;
  const std::string base = name_hint.empty() ? op_type : name_hint;
  for (size_t i = 0; i < num_outputs; ++i) {
    outs.push_back(NewValue(base + (num_outputs > 1 ? "_out" + std::to_string(i) : "_out")));
  }
  return AddNodeWithOutputs(op_type, inputs, outs, UniqueNodeName(base), domain);
}

Node* Graph::AddNodeWithOutputs(const std::string& op_type, const std::vector<Value*>& inputs,
                                const std::vector<Value*>& outputs, const std::string& name,
                                const std::string& domain) {
  auto node = std::make_unique<Node>();
  Node* n = node.get();
  n->op_type_ = op_type;
  n->domain_ = domain;
  n->name_ = name;
  n->graph_ = this;
  nodes_.push_back(std::move(node));
  n->self_ = std::prev(nodes_.end());
  for (Value* v : inputs) n->AddInput(v);
  for (size_t i = 0; i < outputs.size(); ++i) {
    Value* v = outputs[i];
    n->outputs_.push_back(v);
    if (!v) continue;
    if (v->producer_) throw std::logic_error("value " + v->name() + " already has a producer");
    v->producer_ = n;
    v->producer_index_ = static_cast<int>(i);
  }
  if (observer_) observer_->OnNodeAdded(n);
  return n;
}

void Graph::AddUse(Value* v, Use u) {
  v->uses_.push_back(u);
}

void Graph::DropUse(Value* v, Use u) {
  auto it = std::find(v->uses_.begin(), v->uses_.end(), u);
  if (it != v->uses_.end()) v->uses_.erase(it);
}

void Graph::RemoveNode(Node* n) {
  for (Value* out : n->outputs_) {
    if (!out) continue;
    if (!out->uses_.empty() || out->is_graph_output()) {
      throw std::logic_error("RemoveNode: output " + out->name() + " of " + n->name() +
                             " is still used");
    }
  }
  if (observer_) observer_->OnNodeRemoved(n);
  for (size_t i = 0; i < n->inputs_.size(); ++i) {
    if (n->inputs_[i]) DropUse(n->inputs_[i], Use{n, static_cast<int>(i)});
  }
  for (Value* v : n->implicit_inputs_) DropUse(v, Use{n, -1});
  for (Value* out : n->outputs_) {
    if (!out) continue;
    out->producer_ = nullptr;
    if (!out->has_initializer() && !out->is_graph_input()) {
      names().erase(out->name());
      values_.erase(out->name());
    }
  }
  root()->names_->erase("\x01" + n->name());
  nodes_.erase(n->self_);
}

void Graph::SetNodeOutput(Node* n, size_t index, Value* v) {
  Value* old = n->outputs_[index];
  if (old) {
    old->producer_ = nullptr;
    old->producer_index_ = -1;
  }
  v->producer_ = n;
  v->producer_index_ = static_cast<int>(index);
  n->outputs_[index] = v;
}

void Graph::RenameOuterRefs(Node* n, const std::string& from, const std::string& to) {
  for (Graph* sub : n->Subgraphs()) {
    Value* ref = sub->FindValue(from);
    if (!ref || !ref->is_outer_ref_) continue;
    if (Value* existing = sub->FindValue(to)) {
      sub->ReplaceAllUsesWith(ref, existing);
      sub->values_.erase(from);
      continue;
    }
    auto holder = std::move(sub->values_[from]);
    sub->values_.erase(from);
    holder->name_ = to;
    // Nested subgraphs that captured the same value follow the rename.
    for (const Use& u : holder->uses_) {
      if (u.index < 0) RenameOuterRefs(u.node, from, to);
    }
    sub->values_.emplace(to, std::move(holder));
  }
}

void Graph::ReplaceAllUsesWith(Value* from, Value* to) {
  if (from == to) return;
  std::vector<Use> uses = from->uses_;
  for (const Use& u : uses) {
    if (u.index >= 0) {
      u.node->SetInput(static_cast<size_t>(u.index), to);
    } else {
      auto& imp = u.node->implicit_inputs_;
      DropUse(from, u);
      imp.erase(std::remove(imp.begin(), imp.end(), from), imp.end());
      if (std::find(imp.begin(), imp.end(), to) == imp.end()) {
        imp.push_back(to);
        AddUse(to, u);
      }
      RenameOuterRefs(u.node, from->name(), to->name());
    }
  }
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (outputs_[i] == from) SetOutput(i, to);
  }
}

void Graph::RenameValue(Value* v, const std::string& new_name) {
  if (v->name_ == new_name) return;
  auto& reg = names();
  if (reg.count(new_name)) throw std::logic_error("RenameValue: name taken: " + new_name);
  const std::string old = v->name_;
  for (const Use& u : v->uses_) {
    if (u.index < 0) RenameOuterRefs(u.node, old, new_name);
  }
  auto holder = std::move(values_[old]);
  values_.erase(old);
  reg.erase(old);
  holder->name_ = new_name;
  reg.insert(new_name);
  values_.emplace(new_name, std::move(holder));
}

Status Graph::SortTopologically() {
  std::unordered_map<Node*, size_t> position;
  std::vector<Node*> order;
  for (auto& n : nodes_) {
    position[n.get()] = order.size();
    order.push_back(n.get());
  }
  std::unordered_map<Node*, int> pending;
  auto producer_here = [&](Value* v) -> Node* {
    return v && v->producer_ && v->producer_->graph_ == this ? v->producer_ : nullptr;
  };
  for (Node* n : order) {
    int count = 0;
    for (Value* v : n->inputs_) count += producer_here(v) ? 1 : 0;
    for (Value* v : n->implicit_inputs_) count += producer_here(v) ? 1 : 0;
    pending[n] = count;
  }
  // Min-heap on the original position keeps the existing order wherever it is already valid.
  auto later = [&](Node* a, Node* b) { return position[a] > position[b]; };
  std::priority_queue<Node*, std::vector<Node*>, decltype(later)> ready(later);
  for (Node* n : order) {
    if (pending[n] == 0) ready.push(n);
  }
  std::vector<Node*> sorted;
  sorted.reserve(order.size());
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    sorted.push_back(n);
    for (Value* out : n->outputs_) {
      if (!out) continue;
      for (const Use& u : out->uses_) {
        if (u.node->graph_ == this && --pending[u.node] == 0) ready.push(u.node);
      }
    }
  }
  if (sorted.size() != order.size()) {
    for (Node* n : order) {
      if (pending[n] > 0) {
        return InvalidArgument("graph '" + name + "' has a cycle through node '" + n->name() +
                               "' (" + n->op_type() + ")");
      }
    }
  }
  std::unordered_map<Node*, std::unique_ptr<Node>> owned;
  for (auto& n : nodes_) owned[n.get()] = std::move(n);
  nodes_.clear();
  for (Node* n : sorted) {
    nodes_.push_back(std::move(owned[n]));
    n->self_ = std::prev(nodes_.end());
  }
  return Status::Ok();
}

void Graph::PruneOrphanValues() {
  std::vector<std::string> dead;
  for (auto& [name, v] : values_) {
    if (!v->producer_ && v->uses_.empty() && !v->initializer_ && !v->is_graph_input_ &&
        !v->is_graph_output()) {
      dead.push_back(name);
    }
  }
  for (const auto& name : dead) {
    if (!values_[name]->is_outer_ref_) names().erase(name);
    values_.erase(name);
  }
}

size_t Graph::CountNodesRecursive() const {
  size_t n = nodes_.size();
  for (const auto& node : nodes_) {
    for (Graph* g : node->Subgraphs()) n += g->CountNodesRecursive();
  }
  return n;
}

int64_t Model::OpsetVersion(const std::string& d) const {
  for (const auto& o : opset_imports) {
    if (o.domain == d || (d.empty() && o.domain == "ai.onnx") || (d == "ai.onnx" && o.domain.empty())) {
      return o.version;
    }
  }
  return 0;
}

void Model::SetOpsetVersion(const std::string& d, int64_t version) {
  for (auto& o : opset_imports) {
    if (o.domain == d) {
      o.version = version;
      return;
    }
  }
  opset_imports.push_back({d, version});
}

void Model::SetMetadata(const std::string& key, const std::string& value) {
  for (auto& kv : metadata_props) {
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  }
  metadata_props.emplace_back(key, value);
}

std::map<std::string, int64_t> CountOps(const Graph& g) {
  std::map<std::string, int64_t> counts;
  for (Node* n : g.nodes()) {
    std::string key = n->is_onnx_domain() ? n->op_type() : n->domain() + "." + n->op_type();
    counts[key]++;
  }
  return counts;
}


void CopyPlainAttributes(const Node& from, Node* to) {
  for (const Attribute& a : from.attributes()) {
    if (a.g || !a.graphs.empty()) continue;
    Attribute& copy = to->UpsertAttr(a.name, a.type);
    copy.f = a.f;
    copy.i = a.i;
    copy.s = a.s;
    copy.t = a.t;
    copy.floats = a.floats;
    copy.ints = a.ints;
    copy.strings = a.strings;
    copy.tensors = a.tensors;
    copy.ref_attr_name = a.ref_attr_name;
    copy.doc_string = a.doc_string;
    copy.opaque = a.opaque;
  }
}

}  // namespace graphopt::ir
