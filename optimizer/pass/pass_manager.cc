#include "optimizer/pass/pass_manager.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "optimizer/ir/printer.h"
#include "optimizer/ir/verifier.h"

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

}  // namespace

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
  // Each iteration runs every selected pass once; stop when an iteration changes nothing.
  for (int iteration = 0; iteration < options.max_iterations; ++iteration) {
    bool changed = false;
    for (size_t i = 0; i < passes.size(); ++i) {
      if (options.cancelled && options.cancelled()) return Cancelled("optimization cancelled");
      if (options.on_pass) options.on_pass(static_cast<int>(i), static_cast<int>(passes.size()), stats[i].name);
      PassStats& s = stats[i];
      const auto nodes_before = static_cast<int64_t>(model.graph->num_nodes());
      if (s.runs == 0) s.nodes_before = nodes_before;
      PassContext ctx{model, target, options.pass_options, evaluator, &s.record};
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
      s.time_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      s.applied += *applied;
      s.runs++;
      s.nodes_after = static_cast<int64_t>(model.graph->num_nodes());
    }
    if (!changed) break;
  }
  return stats;
}

}  // namespace graphopt
