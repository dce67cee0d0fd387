#include "cli/fuzz/shrinker.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <map>
#include <set>
#include <vector>

namespace graphopt::fuzz {

namespace {

// The recorded type of every named value (graph inputs, value_info, graph outputs).
std::map<std::string, onnx::TypeProto> Types(const onnx::GraphProto& g) {
  std::map<std::string, onnx::TypeProto> types;
  for (const auto* list : {&g.input(), &g.value_info(), &g.output()}) {
    for (const auto& vi : *list) {
      if (vi.has_type()) types[vi.name()] = vi.type();
    }
  }
  return types;
}

// Drops nodes no graph output needs. Not done after every edit: a dead node can be part of a
// failure (a pass may trip over a reader nobody reads), so it is an edit of its own.
void RemoveDeadNodes(onnx::GraphProto* g) {
  std::set<std::string> needed;
  for (const auto& o : g->output()) needed.insert(o.name());
  std::vector<onnx::NodeProto> kept;
  for (int i = g->node_size() - 1; i >= 0; --i) {
    const auto& n = g->node(i);
    const bool live = std::any_of(n.output().begin(), n.output().end(),
                                  [&](const std::string& o) { return needed.count(o) > 0; });
    if (!live) continue;
    for (const auto& in : n.input()) needed.insert(in);
    kept.push_back(n);
  }
  std::reverse(kept.begin(), kept.end());
  g->clear_node();
  for (auto& n : kept) *g->add_node() = std::move(n);
}

// Drops the inputs, initializers and value_info nothing refers to any more.
void Prune(onnx::GraphProto* g) {
  std::set<std::string> needed;
  for (const auto& o : g->output()) needed.insert(o.name());
  for (const auto& n : g->node()) needed.insert(n.input().begin(), n.input().end());
  std::set<std::string> produced;
  for (const auto& n : g->node()) produced.insert(n.output().begin(), n.output().end());
  auto* inputs = g->mutable_input();
  inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                               [&](const auto& vi) { return !needed.count(vi.name()); }),
                inputs->end());
  auto* inits = g->mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(),
                              [&](const auto& t) { return !needed.count(t.name()); }),
               inits->end());
  auto* infos = g->mutable_value_info();
  infos->erase(std::remove_if(infos->begin(), infos->end(),
                              [&](const auto& vi) { return !produced.count(vi.name()); }),
               infos->end());
}

bool IsOutput(const onnx::GraphProto& g, const std::string& name) {
  return std::any_of(g.output().begin(), g.output().end(),
                     [&](const auto& o) { return o.name() == name; });
}

void AddTyped(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list,
              const std::string& name, const onnx::TypeProto& type) {
  auto* vi = list->Add();
  vi->set_name(name);
  *vi->mutable_type() = type;
}

// One edit of the model; Apply returns false when it does not apply to this model.
struct Edit {
  enum Kind {
    kKeepOnlyOutput,
    kRemoveDeadNodes,
    kDropOutput,
    kDeleteUnread,
    kCut,
    kBypass,
    kInitializerToInput
  } kind;
  int index;
  int arg = 0;
};

// Edits in the order they are tried: the ones that remove the most first.
std::vector<Edit> Edits(const onnx::GraphProto& g) {
  std::vector<Edit> edits;
  for (int i = 0; i < g.node_size(); ++i) edits.push_back({Edit::kKeepOnlyOutput, i});
  edits.push_back({Edit::kRemoveDeadNodes, 0});
  if (g.output_size() > 1) {
    for (int i = 0; i < g.output_size(); ++i) edits.push_back({Edit::kDropOutput, i});
  }
  for (int i = g.node_size() - 1; i >= 0; --i) edits.push_back({Edit::kDeleteUnread, i});
  for (int i = g.node_size() - 1; i >= 0; --i) edits.push_back({Edit::kCut, i});
  for (int i = 0; i < g.node_size(); ++i) {
    for (int j = 0; j < g.node(i).input_size(); ++j) edits.push_back({Edit::kBypass, i, j});
  }
  for (int i = 0; i < g.initializer_size(); ++i) edits.push_back({Edit::kInitializerToInput, i});
  return edits;
}

bool Apply(onnx::GraphProto* g, const Edit& e) {
  const auto types = Types(*g);
  switch (e.kind) {
    case Edit::kKeepOnlyOutput: {
      const std::string& out = g->node(e.index).output(0);
      if (out.empty() || !types.count(out)) return false;
      if (g->output_size() == 1 && g->output(0).name() == out) return false;
      g->clear_output();
      AddTyped(g->mutable_output(), out, types.at(out));
      break;
    }
    case Edit::kRemoveDeadNodes:
      RemoveDeadNodes(g);
      break;
    case Edit::kDropOutput:
      g->mutable_output()->DeleteSubrange(e.index, 1);
      break;
    case Edit::kDeleteUnread: {
      std::set<std::string> read;
      for (const auto& o : g->output()) read.insert(o.name());
      for (const auto& n : g->node()) read.insert(n.input().begin(), n.input().end());
      for (const auto& out : g->node(e.index).output()) {
        if (read.count(out)) return false;
      }
      g->mutable_node()->DeleteSubrange(e.index, 1);
      break;
    }
    case Edit::kCut: {
      // The node's outputs become graph inputs of their recorded types.
      const onnx::NodeProto n = g->node(e.index);
      for (const auto& out : n.output()) {
        if (out.empty()) continue;
        if (!types.count(out) || IsOutput(*g, out)) return false;
      }
      g->mutable_node()->DeleteSubrange(e.index, 1);
      for (const auto& out : n.output()) {
        if (!out.empty()) AddTyped(g->mutable_input(), out, types.at(out));
      }
      break;
    }
    case Edit::kBypass: {
      // Readers of the node's only output read its input `arg` instead (same type).
      const onnx::NodeProto n = g->node(e.index);
      const std::string& in = n.input(e.arg);
      if (in.empty() || n.output_size() != 1 || !types.count(in) || !types.count(n.output(0))) {
        return false;
      }
      if (types.at(in).SerializeAsString() != types.at(n.output(0)).SerializeAsString())
        return false;
      if (IsOutput(*g, in)) return false;
      const std::string out = n.output(0);
      g->mutable_node()->DeleteSubrange(e.index, 1);
      for (auto& reader : *g->mutable_node()) {
        for (auto& name : *reader.mutable_input()) {
          if (name == out) name = in;
        }
      }
      for (auto& o : *g->mutable_output()) {
        if (o.name() == out) o.set_name(in);
      }
      break;
    }
    case Edit::kInitializerToInput: {
      // A weight becomes a runtime input: nothing folds it any more. Integer initializers
      // (shapes, axes) stay: as inputs they would make shapes data-dependent.
      const onnx::TensorProto t = g->initializer(e.index);
      if (t.data_type() != onnx::TensorProto::FLOAT) return false;
      onnx::TypeProto type;
      auto* tt = type.mutable_tensor_type();
      tt->set_elem_type(t.data_type());
      auto* shape = tt->mutable_shape();
      for (int64_t d : t.dims()) shape->add_dim()->set_dim_value(d);
      g->mutable_initializer()->DeleteSubrange(e.index, 1);
      auto* inputs = g->mutable_input();
      inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                                   [&](const auto& vi) { return vi.name() == t.name(); }),
                    inputs->end());
      AddTyped(inputs, t.name(), type);
      break;
    }
  }
  Prune(g);
  return g->node_size() > 0;
}

// What the shrinker minimizes, in this order: nodes, graph outputs, initializers. An edit is kept
// only when it lowers this, so the search cannot cycle (between two single outputs, say).
int64_t Size(const onnx::GraphProto& g) {
  return int64_t{g.node_size()} * 1000000 + int64_t{g.output_size()} * 1000 + g.initializer_size();
}

}  // namespace

ShrinkResult Shrink(const std::string& model_bytes, const StillFails& still_fails,
                    int max_attempts) {
  ShrinkResult result;
  result.model_bytes = model_bytes;
  onnx::ModelProto current;
  if (!current.ParseFromString(model_bytes)) return result;
  bool progress = true;
  while (progress && result.attempts < max_attempts) {
    progress = false;
    for (const Edit& edit : Edits(current.graph())) {
      if (result.attempts >= max_attempts) break;
      onnx::ModelProto candidate = current;
      if (!Apply(candidate.mutable_graph(), edit)) continue;
      std::string bytes = candidate.SerializeAsString();
      if (Size(candidate.graph()) >= Size(current.graph())) continue;
      ++result.attempts;
      if (!still_fails(bytes)) continue;
      ++result.accepted;
      current = std::move(candidate);
      result.model_bytes = std::move(bytes);
      progress = true;
      break;  // the edit list changed: start again on the smaller model
    }
  }
  return result;
}

}  // namespace graphopt::fuzz
