#include "optimizer/pass/pass_manager.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "optimizer/ir/printer.h"
#include "optimizer/ir/verifier.h"
#include "optimizer/pass/rule.h"

namespace graphopt {

namespace {

bool VerifyIrFromEnvironment() {
  const char* v = std::getenv("GRAPHOPT_VERIFY_IR");
  return v && *v && std::strcmp(v, "0") != 0;
}

bool TargetAllowsAny(const TargetProfile& target, const std::vector<std::string>& emits) {
  if (emits.empty()) return true;
  for (const auto& op : emits) {
    const auto dot = op.rfind('.');
    const std::string domain = dot == std::string::npos ? "" : op.substr(0, dot);
    const std::string type = dot == std::string::npos ? op : op.substr(dot + 1);
    if (target.Allows(domain, type)) return true;
  }
  return false;
}

// Why `target` may not carry `op` at default-domain opset `opset`, in the profile's words
// where it has them.
std::string WhyNotEmitted(const TargetProfile& target, const std::string& op, int64_t opset) {
  auto slow = target.not_emitted.find(op);
  if (slow != target.not_emitted.end()) return op + " is slower on this target: " + slow->second;
  if (!target.fused_ops.count(op)) {
    return op + " is not among the operators target '" + target.name + "' allows";
  }
  auto since = target.since_opset.find(op);
  if (since != target.since_opset.end()) {
    auto max = target.domains.find("");
    if (max != target.domains.end() && since->second > max->second) {
      return op + " needs opset " + std::to_string(since->second) + ", above the opset " +
             std::to_string(max->second) + " target '" + target.name + "' imports";
    }
    return op + " needs opset " + std::to_string(since->second) + ", the model has opset " +
           std::to_string(opset) + " (--opset " + std::to_string(since->second) + " raises it)";
  }
  return op + " is not allowed by target '" + target.name + "'";
}

std::string WhyDropped(const TargetProfile& target, const std::vector<std::string>& emits,
                       int64_t opset) {
  std::string why;
  for (const auto& op : emits) why += (why.empty() ? "" : "; ") + WhyNotEmitted(target, op, opset);
  return why;
}

}  // namespace

std::vector<DroppedPass> PassManager::Dropped(const PassManagerOptions& options,
                                              const TargetProfile& target, int64_t opset) {
  std::vector<DroppedPass> dropped;
  for (const PassInfo* p : PassRegistry::Get().All()) {
    if (options.disable.count(p->name)) continue;
    const bool by_level = options.level != Level::kDisabled && p->level <= options.level;
    if (!by_level && !options.enable.count(p->name)) continue;
    if (!TargetAllowsAny(target, p->emits)) {
      dropped.push_back(DroppedPass{p->name, WhyDropped(target, p->emits, opset)});
      continue;
    }
    // A pass that runs may still lose rules: their operators need a newer opset, or the target
    // takes no such activation. Listed as "pass/rule".
    std::unique_ptr<Pass> pass = p->factory();
    const auto* rules = dynamic_cast<const RulePass*>(pass.get());
    if (!rules) continue;
    std::set<std::string> listed;  // a rule may have one entry per root operator
    for (const Rule& rule : rules->rules()) {
      if (RuleAllowed(rule, target, opset) || !listed.insert(rule.name).second) continue;
      std::string why;
      if (rule.emits_activation) {
        why = "target '" + target.name + "' takes no " + rule.root_op + " activation on " +
              (rule.emits.empty() ? std::string("the fused operator") : rule.emits.front());
      } else {
        why = WhyDropped(target, rule.emits, opset);
      }
      dropped.push_back(DroppedPass{p->name + "/" + rule.name, why});
    }
  }
  return dropped;
}

Result<std::vector<const PassInfo*>> PassManager::Select(const PassManagerOptions& options,
                                                         const TargetProfile& target) {
  auto& registry = PassRegistry::Get();
  RETURN_IF_ERROR(registry.Check());
  for (const auto* names : {&options.enable, &options.disable}) {
    for (const auto& name : *names) {
      if (!registry.Find(name)) {
        return InvalidArgument("unknown pass '" + name + "' (see `graphopt passes`)");
      }
    }
  }
  std::vector<const PassInfo*> selected;
  for (const PassInfo* p : registry.All()) {
    if (options.disable.count(p->name)) continue;
    const bool by_level = options.level != Level::kDisabled && p->level <= options.level;
    if (!by_level && !options.enable.count(p->name)) continue;
    if (!TargetAllowsAny(target, p->emits)) continue;
    selected.push_back(p);
  }
  return selected;
}

Result<std::vector<PassStats>> PassManager::Run(ir::Model& model, const TargetProfile& target,
                                                Evaluator* evaluator,
                                                const PassManagerOptions& options) {
  ASSIGN_OR_RETURN(auto selected, Select(options, target));
  std::vector<PassStats> stats(selected.size());
  std::vector<std::unique_ptr<Pass>> passes;
  for (size_t i = 0; i < selected.size(); ++i) {
    passes.push_back(selected[i]->factory());
    stats[i].name = selected[i]->name;
    stats[i].level = selected[i]->level;
  }
  using Clock = std::chrono::steady_clock;
  const bool verify_ir = options.verify_ir || VerifyIrFromEnvironment();
  // Each round runs every selected pass once; stop when a round changes nothing.
  for (int round = 1; round <= options.max_iterations; ++round) {
    bool changed = false;
    for (size_t i = 0; i < passes.size(); ++i) {
      if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
      PassStats& s = stats[i];
      if (options.on_pass) {
        options.on_pass(round, static_cast<int>(i), static_cast<int>(passes.size()), s.name);
      }
      // The rewrite limit is reached: the remaining passes would change nothing.
      if (options.rewrites && !options.rewrites->MayRewrite()) continue;
      if (options.rewrites) options.rewrites->pass = s.name;
      PassRun run;
      run.round = round;
      run.nodes_before = static_cast<int64_t>(model.graph->num_nodes());
      if (s.runs == 0) s.nodes_before = s.nodes_after = run.nodes_before;
      PassContext ctx{model, target, options.pass_options, evaluator, &s.record, options.rewrites};
      const auto start = Clock::now();
      Result<int64_t> applied = 0;
      try {
        applied = passes[i]->Run(ctx);
      } catch (const std::logic_error& e) {
        // IR misuse (a node removed while still read, a name taken twice...): a bug of the pass.
        return Internal("pass " + s.name + " misused the IR: " + e.what());
      }
      if (!applied.ok()) {
        return Status(applied.status().code(),
                      "pass " + s.name + ": " + applied.status().message());
      }
      if (*applied > 0) {
        // Passes may append nodes anywhere; restore topological order for the next one.
        Status sorted = model.graph->SortTopologically();
        if (!sorted.ok()) return Status(sorted.code(), "after pass " + s.name + ": " + sorted.message());
        model.graph->PruneOrphanValues();
        changed = true;
      }
      if (verify_ir) {
        Status valid = ir::VerifyModel(model);
        if (!valid.ok()) return Status(valid.code(), "after pass " + s.name + ": " + valid.message());
      }
      if (options.print_ir && (options.print_ir_after == "all" || options.print_ir_after == s.name)) {
        options.print_ir(s.name, ir::ModelText(model));
      }
      run.time_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      run.applied = *applied;
      run.nodes_after = static_cast<int64_t>(model.graph->num_nodes());
      s.time_ms += run.time_ms;
      s.applied += run.applied;
      s.runs++;
      // Only this run's change: other passes ran in between.
      s.nodes_after += run.nodes_after - run.nodes_before;
      s.rounds.push_back(run);
    }
    if (!changed) break;
  }
  return stats;
}

}  // namespace graphopt
