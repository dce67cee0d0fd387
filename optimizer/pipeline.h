// The whole optimization of one model: load, optimize by level for a target, verify, save.
// Used in process by the CLI and by the server's workers.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "optimizer/evaluator.h"
#include "optimizer/io/model_io.h"
#include "optimizer/pass/pass.h"
#include "optimizer/report.h"

namespace graphopt {

struct ProgressEvent {
  std::string stage;  // "loading", "optimizing", "verifying", "saving"
  int pass_index = 0;
  int pass_count = 0;
  std::string pass_name;
};

struct PipelineOptions {
  Level level = Level::kBasic;
  std::string target = "generic";
  // Raise the default-domain opset to this first (0 keeps the model's), e.g. 17 so that
  // LayerNormalization becomes available.
  int64_t opset = 0;
  std::map<std::string, int64_t> dims;  // --dim NAME=VALUE: fixes symbolic dims everywhere
  std::set<std::string> enable;
  std::set<std::string> disable;
  bool verify = true;
  VerifyOptions verify_options;
  SaveOptions save;
  int64_t fold_size_cap_bytes = int64_t{16} << 20;
  int max_iterations = 8;
  std::function<void(const ProgressEvent&)> on_progress;
  std::function<bool()> cancelled;
};

// Checks what a caller asked for before any work: a known target and known passes, no pass both
// enabled and disabled, positive dims, finite non-negative tolerances. The CLI and the server
// call this one function, so both refuse the same options with the same words
// (INVALID_ARGUMENT; the CLI exits 2).
Status ValidatePipelineOptions(const PipelineOptions& options);

// The graphopt version recorded in reports and artifacts.
const char* GraphoptVersion();

// Optimizes `in_path` into `out_path`. A failed verification is an error (FAILED_PRECONDITION)
// and nothing is written; the report of such a run is still stored in `*failed_report`.
Result<Report> OptimizeFile(const std::string& in_path, const std::string& out_path,
                            const PipelineOptions& options, Report* failed_report = nullptr);

// The in-memory core of OptimizeFile: rewrites `model` (the original is `reference`, used for
// verification; it may be null to skip verification).
Result<Report> OptimizeModel(ir::Model& model, const ir::Model* reference,
                             const PipelineOptions& options);

}  // namespace graphopt
