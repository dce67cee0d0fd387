// Optimizes one fuzz graph at every level and target through the pipeline's in-memory entry
// point (OptimizeModel, as `graphopt optimize`), verified on the reference executor, in a forked
// child so that an abort or a hang loses only that graph's remaining runs, never the fuzz run.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/pass/level.h"

namespace graphopt::fuzz {

struct Combo {
  Level level = Level::kBasic;
  std::string target = "generic";
  std::string Name() const;  // "extended/cpu"
};

enum class Outcome {
  kOk,        // optimized, saved, and the outputs match within the tolerances
  kSkipped,   // the original does not run: the generator's fault, not the optimizer's
  kCrash,     // an error or exception out of the optimizer, an IR verifier error, an abort, a hang
  kMismatch,  // verification failed: outputs differ beyond the tolerances
};
const char* OutcomeName(Outcome outcome);

struct ComboResult {
  Combo combo;
  Outcome outcome = Outcome::kOk;
  std::string message;
  // Operators of the optimized graph that the original lacked, with their counts: what the
  // fusions made of the graph (`graphopt fuzz` sums them to show which rewrites it exercised).
  std::map<std::string, int64_t> new_ops;
};

// In this process: load, optimize with the IR verifier on, verify (pipeline defaults: float
// atol 1e-4, rtol 1e-3, two assignments of symbolic dims), save and reload the artifact.
// Exceptions are caught and reported as crashes; an abort is not (see RunIsolated).
ComboResult RunCombo(const std::string& model_bytes, const Combo& combo);

// Runs `combos` one after the other in a forked child. A child that dies (signal, exit) or
// outlives `timeout_seconds` makes the combo it was running a crash; later combos are not run.
// `run` is RunCombo except in tests.
using ComboRunner = ComboResult (*)(const std::string& model_bytes, const Combo& combo);
std::vector<ComboResult> RunIsolated(const std::string& model_bytes,
                                     const std::vector<Combo>& combos, double timeout_seconds,
                                     ComboRunner run = RunCombo);

}  // namespace graphopt::fuzz
