// `graphopt passes` and `graphopt targets`: what this build can do.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/command.h"
#include "optimizer/pass/pass.h"
#include "optimizer/target.h"

namespace graphopt::cli {

namespace {

// In the order the pass manager runs them, with the dependencies that order honours.
int ListPasses() {
  const Status check = PassRegistry::Get().Check();
  if (!check.ok()) {
    std::fprintf(stderr, "graphopt: %s\n", check.message().c_str());
    return kExitError;
  }
  for (const PassInfo* p : PassRegistry::Get().All()) {
    std::printf("%-32s %-9s %s", p->name.c_str(), LevelName(p->level), p->description.c_str());
    if (!p->emits.empty()) {
      std::printf(" [emits:");
      for (const auto& op : p->emits) std::printf(" %s", op.c_str());
      std::printf("]");
    }
    if (const auto after = PassRegistry::Get().After(p->name); !after.empty()) {
      std::printf(" [after:");
      for (const auto& other : after) std::printf(" %s", other.c_str());
      std::printf("]");
    }
    std::printf("\n");
  }
  return kExitOk;
}

int ListTargets() {
  for (const TargetProfile* t : TargetRegistry::Get().All()) {
    std::printf("%-10s %-8s %s\n", t->name.c_str(), t->portable ? "portable" : "specific",
                t->description.c_str());
    if (!t->isa.empty()) {
      std::printf("%-19s isa: %s%s, NCHWc block %lld\n", "", t->isa.c_str(),
                  t->isa_from_host ? " (this machine's)" : "",
                  static_cast<long long>(t->nchwc_block_size));
    }
    if (!t->portability.empty()) std::printf("%-19s runs on: %s\n", "", t->portability.c_str());
    for (const auto& [op, why] : t->not_emitted) {
      std::printf("%-19s not emitted: %s (%s)\n", "", op.c_str(), why.c_str());
    }
  }
  return kExitOk;
}

GRAPHOPT_REGISTER_COMMAND("passes", 50, [](CLI::App& app) -> std::function<int()> {
  app.add_subcommand("passes", "list optimization passes with their level");
  return ListPasses;
});

GRAPHOPT_REGISTER_COMMAND("targets", 51, [](CLI::App& app) -> std::function<int()> {
  app.add_subcommand("targets", "list target profiles");
  return ListTargets;
});

}  // namespace

}  // namespace graphopt::cli
