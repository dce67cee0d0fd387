// The graph IR: nodes, values with their producer and uses, initializers, graph inputs and
// outputs, and nested subgraphs (If/Loop/Scan bodies). Passes rewrite this, never protobuf.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "optimizer/ir/tensor.h"
#include "optimizer/util/status.h"

namespace graphopt::ir {

class Graph;
class Node;

// Told when nodes of one graph are created, deleted or get new inputs, so a rewrite driver keeps
// its worklist exact whatever helper edited the graph. Subgraph edits are not reported.
class GraphObserver {
 public:
  virtual ~GraphObserver() = default;
  virtual void OnNodeAdded(Node* n) = 0;
  virtual void OnNodeRemoved(Node* n) = 0;
  virtual void OnNodeInputsChanged(Node* n) = 0;
};

// One dimension of a declared shape: a number, a symbolic name, or unknown.
struct Dim {
  int64_t value = -1;  // >= 0 when known
  std::string param;   // symbolic name ("batch") when value < 0
  bool known() const { return value >= 0; }
  bool operator==(const Dim& o) const { return value == o.value && param == o.param; }
};

// What is known of a value's type. Non-tensor types (sequences, optionals, maps) are kept as
// the serialized onnx.TypeProto so they survive untouched.
struct ValueType {
  DataType elem_type = DataType::kUndefined;
  std::optional<std::vector<Dim>> shape;  // nullopt: rank unknown
  std::string opaque_type_proto;         // non-empty for non-tensor types

  bool is_tensor() const { return opaque_type_proto.empty(); }
  bool has_type() const { return elem_type != DataType::kUndefined || !opaque_type_proto.empty(); }
  // The shape as numbers when every dim is known.
  std::optional<Shape> StaticShape() const;
  static ValueType FromShape(DataType type, const Shape& shape);
  bool operator==(const ValueType& o) const {
    return elem_type == o.elem_type && shape == o.shape && opaque_type_proto == o.opaque_type_proto;
  }
};

// A use of a value: input `index` of `node`; index -1 marks a capture by one of the node's
// subgraphs (the value is referenced from inside an If/Loop/Scan body).
struct Use {
  Node* node;
  int index;
  bool operator==(const Use& o) const { return node == o.node && index == o.index; }
};

class Value {
 public:
  const std::string& name() const { return name_; }
  Graph* graph() const { return graph_; }
  Node* producer() const { return producer_; }
  int producer_index() const { return producer_index_; }
  const std::vector<Use>& uses() const { return uses_; }

  ValueType& type() { return type_; }
  const ValueType& type() const { return type_; }
  DataType elem_type() const { return type_.elem_type; }

  bool is_graph_input() const { return is_graph_input_; }
  bool is_graph_output() const { return graph_output_count_ > 0; }
  // A reference, inside a subgraph, to a value defined in an enclosing graph.
  bool is_outer_ref() const { return is_outer_ref_; }
  bool has_initializer() const { return initializer_ != nullptr; }
  const Tensor* initializer() const { return initializer_.get(); }
  std::string doc_string;

 private:
  friend class Graph;
  friend class Node;
  std::string name_;
  Graph* graph_ = nullptr;
  Node* producer_ = nullptr;
  int producer_index_ = -1;
  std::vector<Use> uses_;
  ValueType type_;
  bool is_graph_input_ = false;
  bool is_outer_ref_ = false;
  int graph_output_count_ = 0;
  std::unique_ptr<Tensor> initializer_;
};

enum class AttrType : int32_t {
  kUndefined = 0,
  kFloat = 1,
  kInt = 2,
  kString = 3,
  kTensor = 4,
  kGraph = 5,
  kFloats = 6,
  kInts = 7,
  kStrings = 8,
  kTensors = 9,
  kGraphs = 10,
  kSparseTensor = 11,
  kSparseTensors = 12,
  kTypeProto = 13,
  kTypeProtos = 14,
};

struct Attribute {
  std::string name;
  AttrType type = AttrType::kUndefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  Tensor t;
  std::unique_ptr<Graph> g;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<Tensor> tensors;
  std::vector<std::unique_ptr<Graph>> graphs;
  std::string ref_attr_name;  // attribute reference inside a function body
  std::string doc_string;
  std::string opaque;  // serialized AttributeProto for kinds the IR does not model (sparse, types)

  Attribute() = default;
  Attribute(Attribute&&) noexcept = default;
  Attribute& operator=(Attribute&&) noexcept = default;
  ~Attribute();
  // Structural equality (subgraphs compare by identity only: CSE never merges those).
  bool Equals(const Attribute& other) const;
};

class Node;
// Sets on `to` every attribute of `from` that holds no subgraph (numbers, strings, tensors and
// their lists), replacing same-named ones: rewrites re-create an operator with its attributes.
void CopyPlainAttributes(const Node& from, Node* to);

class Node {
 public:
  const std::string& op_type() const { return op_type_; }
  const std::string& domain() const { return domain_; }
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  Graph* graph() const { return graph_; }
  // True for the default ONNX domain ("" or "ai.onnx").
  bool is_onnx_domain() const { return domain_.empty() || domain_ == "ai.onnx"; }
  bool Is(const char* op) const { return is_onnx_domain() && op_type_ == op; }

  // Inputs may be nullptr where ONNX allows an empty name for an omitted optional input.
  const std::vector<Value*>& inputs() const { return inputs_; }
  Value* input(size_t i) const { return i < inputs_.size() ? inputs_[i] : nullptr; }
  // Outputs may be nullptr for an omitted optional output.
  const std::vector<Value*>& outputs() const { return outputs_; }
  Value* output(size_t i) const { return i < outputs_.size() ? outputs_[i] : nullptr; }
  // Values of enclosing scopes that this node's subgraphs read.
  const std::vector<Value*>& implicit_inputs() const { return implicit_inputs_; }

  void SetInput(size_t i, Value* v);
  void AddInput(Value* v);
  void RemoveInput(size_t i);  // later inputs shift down
  // Records that a subgraph of this node reads `v` from an enclosing scope.
  void AddImplicitInput(Value* v);

  // Attributes, kept in their original order.
  const std::vector<Attribute>& attributes() const { return attributes_; }
  std::vector<Attribute>& mutable_attributes() { return attributes_; }
  const Attribute* attr(const std::string& name) const;
  bool HasAttr(const std::string& name) const { return attr(name) != nullptr; }
  int64_t GetInt(const std::string& name, int64_t def) const;
  float GetFloat(const std::string& name, float def) const;
  std::string GetString(const std::string& name, const std::string& def) const;
  std::vector<int64_t> GetInts(const std::string& name, std::vector<int64_t> def = {}) const;
  std::vector<float> GetFloats(const std::string& name, std::vector<float> def = {}) const;
  void SetInt(const std::string& name, int64_t v);
  void SetFloat(const std::string& name, float v);
  void SetString(const std::string& name, std::string v);
  void SetInts(const std::string& name, std::vector<int64_t> v);
  void SetFloats(const std::string& name, std::vector<float> v);
  void SetTensor(const std::string& name, Tensor v);
  void RemoveAttr(const std::string& name);
  bool HasSubgraphs() const;
  std::vector<Graph*> Subgraphs() const;

  std::string doc_string;

 private:
  friend class Graph;
  friend void CopyPlainAttributes(const Node& from, Node* to);
  Attribute& UpsertAttr(const std::string& name, AttrType type);
  std::string op_type_, domain_, name_;
  Graph* graph_ = nullptr;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Value*> implicit_inputs_;
  std::vector<Attribute> attributes_;
  std::list<std::unique_ptr<Node>>::iterator self_;
};

class Graph {
 public:
  explicit Graph(Graph* parent = nullptr, Node* owner = nullptr);
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  std::string name;
  std::string doc_string;
  Graph* parent() const { return parent_; }
  Node* owner() const { return owner_; }
  Graph* root();

  // Nodes in their current order (topological after SortTopologically()).
  std::vector<Node*> nodes() const;
  size_t num_nodes() const { return nodes_.size(); }
  const std::vector<Value*>& inputs() const { return inputs_; }
  // Outputs may be nullptr for an omitted optional output.
  const std::vector<Value*>& outputs() const { return outputs_; }
  // Initialized values in insertion order.
  std::vector<Value*> initializers() const;

  // Value lookup in this graph only.
  Value* FindValue(const std::string& name) const;
  // Creates a value with a name unique in the whole model, derived from `hint`.
  Value* NewValue(const std::string& hint);
  // Creates (or returns) the value called `name`; the name must not already exist elsewhere.
  Value* GetOrCreateValue(const std::string& name);
  Value* AddInput(const std::string& name, ValueType type);
  void AddOutput(Value* v);
  void SetOutput(size_t i, Value* v);
  Value* AddInitializer(const std::string& name, Tensor t);
  // Adds a new initializer value with a unique name derived from `hint`.
  Value* NewInitializer(const std::string& hint, Tensor t);
  void SetInitializer(Value* v, Tensor t);
  void RemoveInitializer(Value* v);
  // Drops the value from graph inputs (e.g. an unused one); keeps it if it has an initializer.
  void RemoveInput(Value* v);
  // A reference to an enclosing scope's value called `name`, creating it on first use.
  Value* OuterRef(const std::string& name);

  // Creates a node after `before_this` (or at the end) with fresh outputs named from hints.
  Node* AddNode(const std::string& op_type, const std::vector<Value*>& inputs,
                size_t num_outputs, const std::string& name_hint = "", const std::string& domain = "");
  // Creates a node writing existing (producer-less) values.
  Node* AddNodeWithOutputs(const std::string& op_type, const std::vector<Value*>& inputs,
                           const std::vector<Value*>& outputs, const std::string& name = "",
                           const std::string& domain = "");
  // Detaches and deletes a node; its outputs must have no uses left.
  void RemoveNode(Node* n);
  // Moves every use of `from` (explicit, graph outputs and subgraph captures) to `to`.
  // A graph output keeps its name: callers that need that must not replace a graph output.
  void ReplaceAllUsesWith(Value* from, Value* to);
  // Makes `v`'s producer `n` output `index` (used when rewiring graph outputs).
  void SetNodeOutput(Node* n, size_t index, Value* v);
  // Renames a value; the new name must be unused in the model.
  void RenameValue(Value* v, const std::string& new_name);

  // Orders nodes so producers precede consumers; fails naming a node on a cycle.
  Status SortTopologically();
  // Deletes values that have no producer, no uses, no initializer and are not inputs/outputs.
  void PruneOrphanValues();
  // Unique node name from a hint.
  std::string UniqueNodeName(const std::string& hint);

  // Counts nodes here and in nested subgraphs.
  size_t CountNodesRecursive() const;

  // At most one observer at a time (the rewrite driver); nullptr detaches it.
  void set_observer(GraphObserver* o) { observer_ = o; }
  GraphObserver* observer() const { return observer_; }

  // For import: the shared name registry of the whole model.
  std::unordered_set<std::string>& names();

 private:
  friend class Node;
  void AddUse(Value* v, Use u);
  void DropUse(Value* v, Use u);
  void RenameOuterRefs(Node* n, const std::string& from, const std::string& to);
  Graph* parent_;
  Node* owner_;
  std::list<std::unique_ptr<Node>> nodes_;
  std::unordered_map<std::string, std::unique_ptr<Value>> values_;
  std::vector<Value*> inputs_;
  std::vector<Value*> outputs_;
  std::vector<Value*> initializer_order_;
  std::unique_ptr<std::unordered_set<std::string>> names_;  // root only
  int64_t name_counter_ = 0;
  GraphObserver* observer_ = nullptr;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

// A whole model: graph plus the ModelProto fields the optimizer must carry through.
struct Model {
  int64_t ir_version = 0;
  std::vector<OpsetImport> opset_imports;
  std::string producer_name, producer_version, domain, doc_string;
  int64_t model_version = 0;
  std::vector<std::pair<std::string, std::string>> metadata_props;
  std::vector<std::string> opaque_functions;   // serialized FunctionProto, passed through
  std::vector<std::string> opaque_training_info;
  std::unique_ptr<Graph> graph;

  // Opset version of a domain ("" for default), or 0 if not imported.
  int64_t OpsetVersion(const std::string& domain) const;
  void SetOpsetVersion(const std::string& domain, int64_t version);
  void SetMetadata(const std::string& key, const std::string& value);
};

// Counts of each op type in the top-level graph (subgraph nodes included under their type).
std::map<std::string, int64_t> CountOps(const Graph& g);

}  // namespace graphopt::ir
