#include "optimizer/passes/basic/eliminate_common_subexpressions.h"

#include <cstring>
#include <set>
#include <unordered_map>

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/rewriter.h"

namespace graphopt {

namespace {

// A node's identity for CSE: op, domain, input values and a digest of its attributes. Equal
// keys are confirmed attribute by attribute before merging.
std::string Key(const ir::Node* n) {
  std::string key = n->domain() + "|" + n->op_type() + "|";
  for (ir::Value* in : n->inputs()) {
    key += std::to_string(reinterpret_cast<uintptr_t>(in)) + ",";
  }
  key += "|" + std::to_string(n->outputs().size()) + "|";
  for (const auto& a : n->attributes()) {
    key += a.name + ":" + std::to_string(static_cast<int>(a.type)) + "=";
    switch (a.type) {
      case ir::AttrType::kInt: key += std::to_string(a.i); break;
      case ir::AttrType::kFloat: {
        uint32_t bits;
        std::memcpy(&bits, &a.f, 4);
        key += std::to_string(bits);
        break;
      }
      case ir::AttrType::kString: key += a.s; break;
      case ir::AttrType::kInts: for (int64_t i : a.ints) key += std::to_string(i) + ","; break;
      case ir::AttrType::kTensor: key += std::to_string(a.t.ContentHash()); break;
      default: key += std::to_string(a.floats.size() + a.strings.size()); break;
    }
    key += ";";
  }
  return key;
}

bool SameAttributes(const ir::Node* a, const ir::Node* b) {
  if (a->attributes().size() != b->attributes().size()) return false;
  for (size_t i = 0; i < a->attributes().size(); ++i) {
    if (!a->attributes()[i].Equals(b->attributes()[i])) return false;
  }
  return true;
}

bool Mergeable(const ir::Node* n) {
  static const std::set<std::string> kRandom = {"RandomNormal", "RandomUniform",
                                                "RandomNormalLike", "RandomUniformLike",
                                                "Multinomial", "Bernoulli", "Dropout"};
  // Subgraph-carrying nodes and unknown domains are never merged: we cannot see what they do.
  return IsRemovableWhenUnused(n) && !n->HasSubgraphs() && !kRandom.count(n->op_type());
}

}  // namespace

Result<int64_t> EliminateCommonSubexpressions::Run(PassContext& ctx) {
  ir::Graph& g = *ctx.model.graph;
  Rewriter rw(g);
  std::unordered_map<std::string, std::vector<ir::Node*>> seen;
  int64_t merged = 0;
  for (ir::Node* n : g.nodes()) {
    if (!ctx.MayRewrite()) break;  // --bisect-limit reached
    if (!Mergeable(n)) continue;
    auto& candidates = seen[Key(n)];
    ir::Node* same = nullptr;
    for (ir::Node* c : candidates) {
      if (SameAttributes(c, n)) {
        same = c;
        break;
      }
    }
    if (!same) {
      candidates.push_back(n);
      continue;
    }
    // Move every use of n's outputs to `same`'s; a graph output of n keeps its name only if
    // `same`'s output can take it, otherwise n stays.
    bool all_moved = true;
    for (size_t i = 0; i < n->outputs().size(); ++i) {
      ir::Value* dup = n->output(i);
      ir::Value* keep = same->output(i);
      if (!dup) continue;
      if (!keep) {
        all_moved = false;
        continue;
      }
      if (!rw.ReplaceValue(dup, keep)) all_moved = false;
    }
    if (all_moved) {
      ctx.Applied("common_subexpression", n);
      rw.EraseIfDead(n);
      ++merged;
    }
  }
  return merged;
}

GRAPHOPT_REGISTER_PASS(EliminateCommonSubexpressions, "eliminate_common_subexpressions", kBasic,
                       30, "compute identical nodes (same op, inputs, attributes) once");

}  // namespace graphopt
