// `graphopt fuzz`: a differential fuzzer. Random valid graphs, optimized at every level and
// target, compared with the original on the reference executor; failures are shrunk to minimal
// reproducers written to --out.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/command.h"
#include "cli/fuzz/case_runner.h"
#include "cli/fuzz/graph_generator.h"
#include "cli/fuzz/shrinker.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/printer.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
#include "optimizer/target.h"

namespace graphopt::cli {

namespace {

using fuzz::Combo;
using fuzz::ComboResult;
using fuzz::Outcome;

struct FuzzArgs {
  double seconds = 60;
  uint64_t seed = 1;
  int64_t graphs = 0;  // 0: as many as the time allows
  uint64_t first = 0;  // index of the first graph
  std::vector<std::string> levels, targets;
  std::string out = "fuzz-failures";
  double graph_timeout = 120;
  int max_motifs = 8;
  int shrink_attempts = 400;
  bool no_shrink = false, verbose = false;
};

// SplitMix64: a graph's own seed from the run's seed and its index, so graph i of a run can be
// regenerated alone (--seed S --first i --graphs 1 prints and reruns it).
uint64_t GraphSeed(uint64_t seed, uint64_t index) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Result<std::vector<Combo>> Combos(const FuzzArgs& a) {
  std::vector<std::string> levels = a.levels, targets = a.targets;
  if (levels.empty()) levels = {"basic", "extended", "layout"};
  if (targets.empty()) {
    for (const TargetProfile* p : TargetRegistry::Get().All()) targets.push_back(p->name);
  }
  std::vector<Combo> combos;
  for (const auto& l : levels) {
    ASSIGN_OR_RETURN(Level level, ParseLevel(l));
    for (const auto& t : targets) {
      RETURN_IF_ERROR(TargetRegistry::Get().Find(t).status());
      combos.push_back({level, t});
    }
  }
  return combos;
}

std::string Describe(const std::string& bytes) {
  auto model = LoadModelFromBytes(bytes);
  return model.ok() ? ir::ModelText(**model) : "(does not load: " + model.status().message() + ")";
}

int64_t CountNodes(const std::string& bytes) {
  auto model = LoadModelFromBytes(bytes);
  return model.ok() ? static_cast<int64_t>((*model)->graph->num_nodes()) : -1;
}

// For a mismatch: which rewrite of the reproducer breaks it (the pipeline's own bisection).
std::string FirstFailingRewrite(const std::string& bytes, const Combo& combo) {
  auto loaded = LoadModelFromBytes(bytes);
  if (!loaded.ok()) return "";
  std::unique_ptr<ir::Model> model = std::move(*loaded);
  std::unique_ptr<ir::Model> original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = combo.level;
  options.target = combo.target;
  auto report = OptimizeModel(*model, original.get(), options);
  if (!report.ok() || !report->culprit) return "";
  const Culprit& c = *report->culprit;
  std::string text = "rewrite " + std::to_string(c.index) + " of " +
                     std::to_string(report->rewrites_total) + ": pass " + c.pass + ", rule " +
                     c.rule;
  for (const auto& n : c.nodes) text += " " + n;
  return text;
}

// Shrinks the failure of `failed` and writes NAME.onnx and NAME.txt to the output folder.
void WriteReproducer(const FuzzArgs& a, const std::string& name, const std::string& bytes,
                     const ComboResult& failed, uint64_t graph_seed,
                     const std::vector<std::string>& motifs) {
  std::string small = bytes;
  fuzz::ShrinkResult shrunk;
  if (!a.no_shrink) {
    const auto still_fails = [&](const std::string& candidate) {
      const auto results = fuzz::RunIsolated(candidate, {failed.combo}, a.graph_timeout);
      return !results.empty() && results[0].outcome == failed.outcome;
    };
    shrunk = fuzz::Shrink(bytes, still_fails, a.shrink_attempts);
    small = shrunk.model_bytes;
  }
  // The reproducer's own message: shrinking may have changed the details, not the kind.
  const ComboResult again = fuzz::RunIsolated(small, {failed.combo}, a.graph_timeout).at(0);
  std::filesystem::create_directories(a.out);
  const std::string base = (std::filesystem::path(a.out) / name).string();
  std::ofstream(base + ".onnx", std::ios::binary) << small;
  std::ofstream txt(base + ".txt");
  txt << fuzz::OutcomeName(failed.outcome) << " at level/target " << failed.combo.Name() << "\n"
      << "message: " << again.message << "\n"
      << "original message: " << failed.message << "\n"
      << "graph seed: " << graph_seed << "; motifs:";
  for (const auto& m : motifs) txt << " " << m;
  txt << "\nnodes: " << CountNodes(bytes) << " generated, " << CountNodes(small)
      << " after shrinking (" << shrunk.attempts << " candidates, " << shrunk.accepted
      << " kept)\n";
  if (failed.outcome == Outcome::kMismatch) {
    const std::string culprit = FirstFailingRewrite(small, failed.combo);
    if (!culprit.empty()) txt << "first failing rewrite: " << culprit << "\n";
  }
  txt << "reproduce: graphopt optimize " << base << ".onnx -o /tmp/fuzz-repro.onnx --level "
      << LevelName(failed.combo.level) << " --target " << failed.combo.target << " --verify-ir\n\n"
      << Describe(small) << "\n";
  std::cout << "  reproducer: " << base << ".onnx (" << CountNodes(small) << " nodes)\n";
}

int RunFuzz(const FuzzArgs& a) {
  auto combos = Combos(a);
  if (!combos.ok()) {
    std::cerr << "graphopt: " << combos.status().message() << "\n";
    return kExitError;
  }
  if (a.seconds <= 0 && a.graphs <= 0) {
    std::cerr << "graphopt: give --seconds or --graphs a positive value\n";
    return kExitError;
  }
  fuzz::GeneratorOptions gen;
  gen.max_motifs = a.max_motifs;
  const auto start = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  int64_t graphs = 0, crashes = 0, mismatches = 0, skipped = 0, runs = 0;
  std::map<std::string, int64_t> new_ops;  // over every run: what the rewrites produced
  for (uint64_t i = a.first;; ++i) {
    if (a.graphs > 0 && graphs >= a.graphs) break;
    if (a.seconds > 0 && elapsed() >= a.seconds) break;
    const uint64_t graph_seed = GraphSeed(a.seed, i);
    fuzz::GeneratedGraph g = fuzz::GenerateGraph(graph_seed, gen);
    auto bytes = SerializeModel(*g.model);
    if (!bytes.ok()) {
      std::cerr << "graphopt: graph " << i << " does not serialize: " << bytes.status().message()
                << "\n";
      return kExitError;
    }
    ++graphs;
    const auto results = fuzz::RunIsolated(*bytes, *combos, a.graph_timeout);
    runs += static_cast<int64_t>(results.size());
    bool reported_crash = false, reported_mismatch = false;
    for (const ComboResult& r : results) {
      for (const auto& [op, count] : r.new_ops) new_ops[op] += count;
      if (r.outcome == Outcome::kSkipped) {
        ++skipped;
        if (a.verbose)
          std::cout << "graph " << i << " " << r.combo.Name() << " skipped: " << r.message << "\n";
        continue;
      }
      if (r.outcome == Outcome::kOk) continue;
      const bool crash = r.outcome == Outcome::kCrash;
      (crash ? crashes : mismatches)++;
      std::cout << fuzz::OutcomeName(r.outcome) << ": graph " << i << " (seed " << graph_seed
                << ") at " << r.combo.Name() << ": " << r.message << "\n";
      // One reproducer per graph and kind: the other combos usually fail the same way.
      bool& reported = crash ? reported_crash : reported_mismatch;
      if (!reported) {
        reported = true;
        std::string name = "fuzz-" + std::to_string(a.seed) + "-" + std::to_string(i) + "-" +
                           fuzz::OutcomeName(r.outcome) + "-" + LevelName(r.combo.level) + "-" +
                           r.combo.target;
        WriteReproducer(a, name, *bytes, r, graph_seed, g.motifs);
      }
    }
    if (a.verbose) {
      std::cout << "graph " << i << " seed " << graph_seed << (g.symbolic ? " symbolic" : "")
                << " nodes " << g.model->graph->num_nodes() << ":";
      for (const auto& m : g.motifs) std::cout << " " << m;
      std::cout << "\n";
    }
  }
  std::cout << "operators the rewrites produced (summed over runs):";
  for (const auto& [op, count] : new_ops) std::cout << " " << op << " " << count;
  std::cout << "\n";
  std::cout << runs << " optimizations in " << static_cast<int64_t>(elapsed()) << " s ("
            << combos->size() << " level/target combinations per graph); " << skipped
            << " skipped (the original did not run)\n";
  std::cout << graphs << " graphs, " << crashes << " crashes, " << mismatches << " mismatches\n";
  return crashes + mismatches > 0 ? kExitMismatch : kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<FuzzArgs>();
  CLI::App* cmd =
      app.add_subcommand("fuzz",
                         "differential fuzzer: random graphs, optimized at every level and target, "
                         "compared with the original");
  cmd->add_option("--seconds", args->seconds, "time budget (default 60; 0: only --graphs)");
  cmd->add_option("--seed", args->seed, "seed of the run: the same seed gives the same graphs");
  cmd->add_option("--graphs", args->graphs, "stop after N graphs (default: time only)");
  cmd->add_option("--first", args->first,
                  "start at graph I of the seed's stream (with --graphs 1: rerun one graph)");
  cmd->add_option("--level", args->levels, "levels to optimize at (default basic,extended,layout)")
      ->delimiter(',');
  cmd->add_option("--target", args->targets, "targets (default: every profile)")->delimiter(',');
  cmd->add_option("--out", args->out, "folder for reproducers (default ./fuzz-failures)");
  cmd->add_option(
      "--graph-timeout", args->graph_timeout,
      "seconds one graph may take at all combinations before it is a hang (default 120)");
  cmd->add_option("--max-motifs", args->max_motifs, "motifs per graph, at most (default 8)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--shrink-attempts", args->shrink_attempts,
                  "candidates the shrinker may try per failure (default 400)");
  cmd->add_flag("--no-shrink", args->no_shrink, "write failing graphs as generated");
  cmd->add_flag("-v,--verbose", args->verbose, "print every graph's seed and motifs");
  return [args] { return RunFuzz(*args); };
};

GRAPHOPT_REGISTER_COMMAND("fuzz", 80, Setup);

}  // namespace

}  // namespace graphopt::cli
