#include "optimizer/pass/rule.h"

#include <algorithm>
#include <deque>
#include <unordered_map>
#include <unordered_set>

#include "optimizer/target.h"

namespace graphopt {

namespace {

bool SameDomain(const std::string& rule_domain, const ir::Node* n) {
  return rule_domain.empty() || rule_domain == "ai.onnx" ? n->is_onnx_domain()
                                                          : n->domain() == rule_domain;
}

// Nodes still to visit, in first-in first-out order: the initial walk follows the graph's
// (topological) order, so producers are rewritten before their readers look at them. Only nodes
// some rule may apply to are kept (`roots`: the rules' root operators).
class Worklist : public RewriteListener {
 public:
  explicit Worklist(const std::unordered_map<std::string, std::vector<const Rule*>>& roots)
      : roots_(roots) {}
  void Push(ir::Node* n) {
    if (!roots_.count(n->op_type())) return;
    if (pending_.insert(n).second) queue_.push_back(n);
  }
  ir::Node* Pop() {
    while (!queue_.empty()) {
      ir::Node* n = queue_.front();
      queue_.pop_front();
      if (pending_.erase(n)) return n;  // erased nodes left `pending_` already
    }
    return nullptr;
  }
  // Whether `n` was erased since Watch(n).
  void Watch(ir::Node* n) {
    watched_ = n;
    watched_erased_ = false;
  }
  bool watched_erased() const { return watched_erased_; }

  void NodeCreated(ir::Node* n) override { Push(n); }
  void NodeChanged(ir::Node* n) override { Push(n); }
  void NodeErased(ir::Node* n) override {
    pending_.erase(n);
    if (n == watched_) watched_erased_ = true;
  }

 private:
  const std::unordered_map<std::string, std::vector<const Rule*>>& roots_;
  std::deque<ir::Node*> queue_;
  std::unordered_set<ir::Node*> pending_;
  ir::Node* watched_ = nullptr;
  bool watched_erased_ = false;
};

void RecordFailure(PassRecord* record, const Rule& rule, const std::string& reason) {
  if (!record || reason.empty()) return;
  // Bounded: a huge model must not grow the report with every distinct reason.
  constexpr size_t kMaxReasons = PassRecord::kMaxReasons;
  const std::string key = rule.name + ": " + reason;
  auto it = record->match_failures.find(key);
  if (it != record->match_failures.end()) {
    it->second++;
  } else if (record->match_failures.size() < kMaxReasons) {
    record->match_failures.emplace(key, 1);
  }
}

void RecordSuccess(PassRecord* record, const std::string& root_name,
                   const std::vector<std::string>& consumed) {
  if (!record) return;
  if (consumed.empty()) {
    if (record->matched_nodes.size() < PassRecord::kMaxNames) {
      record->matched_nodes.push_back(root_name);
    }
    return;
  }
  for (const std::string& name : consumed) {
    if (record->matched_nodes.size() < PassRecord::kMaxNames) record->matched_nodes.push_back(name);
  }
}

}  // namespace

bool TargetMayEmit(const TargetProfile& target, const std::string& op, int64_t opset) {
  const auto dot = op.rfind('.');
  const std::string domain = dot == std::string::npos ? "" : op.substr(0, dot);
  const std::string type = dot == std::string::npos ? op : op.substr(dot + 1);
  return target.AllowsAt(domain, type, opset);
}

bool RuleAllowed(const Rule& rule, const TargetProfile& target, int64_t opset) {
  bool allowed = rule.emits.empty();
  for (const std::string& op : rule.emits) {
    if (rule.emits_activation) {
      const auto dot = op.rfind('.');
      const std::string domain = dot == std::string::npos ? "" : op.substr(0, dot);
      allowed |= target.AllowsActivation(domain, op.substr(dot + 1), rule.root_op);
    } else {
      allowed |= TargetMayEmit(target, op, opset);
    }
  }
  return allowed;
}

RulePass::RulePass(std::vector<Rule> rules) : rules_(std::move(rules)) {
  std::stable_sort(rules_.begin(), rules_.end(),
                   [](const Rule& a, const Rule& b) { return a.benefit > b.benefit; });
}

Result<int64_t> RulePass::Run(PassContext& ctx) {
  ir::Graph& g = *ctx.model.graph;
  // The rules the target allows, by root operator: decided once per run, never inside a rule.
  std::unordered_map<std::string, std::vector<const Rule*>> by_root;
  for (const Rule& rule : rules_) {
    if (RuleAllowed(rule, ctx.target, ctx.opset())) by_root[rule.root_op].push_back(&rule);
  }
  if (by_root.empty()) return 0;

  Worklist worklist(by_root);
  Rewriter rw(g, &worklist);
  for (ir::Node* n : g.nodes()) worklist.Push(n);
  // A guard against rules that undo each other: far more rewrites than a fixed point needs.
  const int64_t budget = 16 * static_cast<int64_t>(g.num_nodes()) + 1024;
  int64_t applied = 0;
  std::vector<std::string> from, to;
  // Stops when the run's rewrite limit (--bisect-limit) is reached: no rule is tried after.
  while (ctx.MayRewrite()) {
    ir::Node* n = worklist.Pop();
    if (!n) break;
    auto it = by_root.find(n->op_type());
    if (it == by_root.end()) continue;
    const std::string root_name = n->name();
    const std::string root_label = root_name.empty() ? n->op_type() : root_name;
    for (const Rule* rule : it->second) {
      if (!SameDomain(rule->root_domain, n)) continue;
      rw.Begin(n);
      worklist.Watch(n);
      const RewriteResult result = rule->apply(ctx, rw, n);
      if (!result.applied()) {
        rw.Rollback();
        RecordFailure(ctx.record, *rule, result.reason());
        // The anchor matched (the driver only offers roots of the rule's operator) and a
        // condition failed: a near miss when the rule says why.
        ctx.NearMiss(rule->name, root_label, result.reason());
        continue;
      }
      RecordSuccess(ctx.record, root_name, *rw.consumed());
      rw.Provenance(n, &from, &to);
      ctx.Applied(rule->name, std::move(from), std::move(to));
      rw.Commit();
      ++applied;
      // A root rewritten in place (attributes, inputs) is looked at again.
      if (!worklist.watched_erased()) worklist.Push(n);
      break;
    }
    worklist.Watch(nullptr);
    if (applied > budget) break;
  }
  if (applied > 0) ImportFusedDomains(ctx);
  return applied;
}

void ImportFusedDomains(PassContext& ctx) {
  for (const ir::Node* n : ctx.model.graph->nodes()) {
    const std::string& d = n->domain();
    if (n->is_onnx_domain() || ctx.model.OpsetVersion(d) > 0) continue;
    auto it = ctx.target.domains.find(d);
    ctx.model.SetOpsetVersion(d, it != ctx.target.domains.end() ? it->second : 1);
  }
}

}  // namespace graphopt
