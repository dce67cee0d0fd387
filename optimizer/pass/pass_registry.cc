#include <algorithm>
#include <map>

#include "optimizer/pass/pass.h"
#include "optimizer/pass/rule.h"
#include "optimizer/target.h"

namespace graphopt {

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDisabled: return "disabled";
    case Level::kBasic: return "basic";
    case Level::kExtended: return "extended";
    case Level::kLayout: return "layout";
    case Level::kAll: return "all";
  }
  return "unknown";
}

Result<Level> ParseLevel(const std::string& name) {
  for (Level l : {Level::kDisabled, Level::kBasic, Level::kExtended, Level::kLayout, Level::kAll}) {
    if (name == LevelName(l)) return l;
  }
  return InvalidArgument("unknown level '" + name + "' (use disabled, basic, extended, layout or all)");
}

bool PassContext::MayEmit(const std::string& op) const {
  return TargetMayEmit(target, op, opset());
}

namespace {

std::string NodeLabel(const ir::Node* n) { return n->name().empty() ? n->op_type() : n->name(); }

}  // namespace

void PassContext::Applied(const std::string& rule, const ir::Node* consumed) {
  if (consumed && record && record->matched_nodes.size() < PassRecord::kMaxNames) {
    record->matched_nodes.push_back(NodeLabel(consumed));
  }
  std::vector<std::string> from;
  if (consumed) from.push_back(NodeLabel(consumed));
  // The driver of a hand-written pass does not see what it created: provenance names what
  // was consumed only.
  Applied(rule, std::move(from), {});
}

void PassContext::Applied(const std::string& rule, std::vector<std::string> from,
                          std::vector<std::string> to) {
  RewriteEntry entry;
  entry.rule = rule;
  entry.from = std::move(from);
  entry.to = std::move(to);
  if (rewrites) {
    entry.index = ++rewrites->count;
    rewrites->last = entry;
    rewrites->last_pass = rewrites->pass;
  }
  if (!record) return;
  record->rule_counts[rule]++;
  // Bounded: a huge model must not grow the report with every rewrite.
  if (record->rewrites.size() < PassRecord::kMaxRewrites) {
    record->rewrites.push_back(std::move(entry));
  } else {
    record->rewrites_dropped++;
  }
}

void PassContext::NearMiss(const std::string& rule, const std::string& label,
                           const std::string& reason) {
  if (!record || reason.empty()) return;
  for (const graphopt::NearMiss& m : record->near_misses) {
    // A node revisited by the worklist or a later round declines again for the same reason.
    if (m.rule == rule && m.node == label && m.reason == reason) return;
  }
  if (record->near_misses.size() < PassRecord::kMaxNearMisses) {
    record->near_misses.push_back(graphopt::NearMiss{rule, label, reason});
  } else {
    record->near_misses_dropped++;
  }
}

PassRegistry& PassRegistry::Get() {
  static PassRegistry registry;
  return registry;
}

void PassRegistry::Register(PassInfo info) { passes_.push_back(std::move(info)); }

void PassRegistry::AddAfter(const std::string& pass, const std::string& other) {
  after_.emplace_back(pass, other);
}

const PassInfo* PassRegistry::Find(const std::string& name) const {
  for (const auto& p : passes_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<std::string> PassRegistry::After(const std::string& name) const {
  std::vector<std::string> out;
  for (const auto& [pass, other] : after_) {
    if (pass == name) out.push_back(other);
  }
  return out;
}

namespace {

bool ByLevelOrderName(const PassInfo* a, const PassInfo* b) {
  if (a->level != b->level) return a->level < b->level;
  if (a->order != b->order) return a->order < b->order;
  return a->name < b->name;
}

}  // namespace

Result<std::vector<const PassInfo*>> PassRegistry::Ordered() const {
  std::vector<const PassInfo*> sorted;
  for (const auto& p : passes_) sorted.push_back(&p);
  std::sort(sorted.begin(), sorted.end(), ByLevelOrderName);
  std::map<const PassInfo*, std::vector<const PassInfo*>> successors;
  std::map<const PassInfo*, int> waiting;  // unfinished predecessors
  for (const auto& [name, other] : after_) {
    const PassInfo* p = Find(name);
    const PassInfo* q = Find(other);
    if (!p || !q) {
      return InvalidArgument("GRAPHOPT_PASS_AFTER(" + name + ", " + other + "): unknown pass");
    }
    if (p->level != q->level) {
      return InvalidArgument("GRAPHOPT_PASS_AFTER(" + name + ", " + other +
                             "): passes of different levels (levels already order them)");
    }
    successors[q].push_back(p);
    waiting[p]++;
  }
  // Kahn's algorithm, always taking the first ready pass in (level, order, name) order.
  std::vector<const PassInfo*> out;
  std::vector<bool> done(sorted.size(), false);
  while (out.size() < sorted.size()) {
    size_t pick = sorted.size();
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (!done[i] && waiting[sorted[i]] == 0) {
        pick = i;
        break;
      }
    }
    if (pick == sorted.size()) {
      std::string cycle;
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (!done[i]) cycle += (cycle.empty() ? "" : ", ") + sorted[i]->name;
      }
      return InvalidArgument("pass dependencies form a cycle among: " + cycle);
    }
    // A pass never runs before a lower level's passes: the level stays the first key.
    for (size_t i = 0; i < pick; ++i) {
      if (!done[i] && sorted[i]->level < sorted[pick]->level) {
        return InvalidArgument("pass dependencies form a cycle through " + sorted[i]->name);
      }
    }
    done[pick] = true;
    out.push_back(sorted[pick]);
    for (const PassInfo* s : successors[sorted[pick]]) waiting[s]--;
  }
  return out;
}

Status PassRegistry::Check() const { return Ordered().status(); }

std::vector<const PassInfo*> PassRegistry::All() const {
  auto ordered = Ordered();
  if (ordered.ok()) return *ordered;
  std::vector<const PassInfo*> out;
  for (const auto& p : passes_) out.push_back(&p);
  std::sort(out.begin(), out.end(), ByLevelOrderName);
  return out;
}

}  // namespace graphopt
