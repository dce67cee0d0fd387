#include <algorithm>

#include "optimizer/pass/pass.h"

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

void PassContext::Applied(const std::string& rule, const ir::Node* consumed) {
  if (!record) return;
  record->rule_counts[rule]++;
  // Enough names to explain a rewrite without letting a huge model bloat the report.
  constexpr size_t kMaxNames = 200;
  if (consumed && record->matched_nodes.size() < kMaxNames) {
    record->matched_nodes.push_back(consumed->name().empty() ? consumed->op_type() : consumed->name());
  }
}

PassRegistry& PassRegistry::Get() {
  static PassRegistry registry;
  return registry;
}

void PassRegistry::Register(PassInfo info) { passes_.push_back(std::move(info)); }

const PassInfo* PassRegistry::Find(const std::string& name) const {
  for (const auto& p : passes_) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::vector<const PassInfo*> PassRegistry::All() const {
  std::vector<const PassInfo*> out;
  for (const auto& p : passes_) out.push_back(&p);
  std::sort(out.begin(), out.end(), [](const PassInfo* a, const PassInfo* b) {
    if (a->level != b->level) return a->level < b->level;
    if (a->order != b->order) return a->order < b->order;
    return a->name < b->name;
  });
  return out;
}

}  // namespace graphopt
