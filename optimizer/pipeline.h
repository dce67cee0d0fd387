// The whole optimization of one model: load, optimize by level for a target, verify, save.
// Used in process by the CLI and by the server's workers. Exposes no IR type (checked by
// scripts/check_layers.sh); the in-memory entry point is optimizer/optimize_model.h.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "optimizer/io/save_options.h"
#include "optimizer/pass/level.h"
#include "optimizer/report.h"
#include "optimizer/util/status.h"
#include "optimizer/verify_options.h"

namespace graphopt {

struct ProgressEvent {
  std::string stage;  // "loading", "optimizing", "verifying", "bisecting", "saving"
  int round = 0;       // fixed-point round of the passes, from 1 (0 outside "optimizing")
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
  // Refuse a `dims` name that is no symbolic dim of the model's inputs (INVALID_ARGUMENT naming
  // the model's symbolic dims), as the CLI and the server do; library callers may pass extras.
  bool check_dim_names = false;
  // --verify-dim NAME=VALUE: the sample value verification uses for a symbolic dim.
  std::map<std::string, int64_t> verify_dims;
  // --verify-int NAME=VALUE: the value an integer (or bool) input holds during verification,
  // instead of the values that take each branch of the Ifs it decides. An unknown name is
  // INVALID_ARGUMENT.
  std::map<std::string, int64_t> verify_ints;
  std::set<std::string> enable;
  std::set<std::string> disable;
  bool verify = true;
  VerifyOptions verify_options;
  // Conversions that change outputs within a measured error, never implied by a level:
  // quantize "dynamic-int8" (int8 weights, activations quantized at run time) and precision
  // "fp16" (float16 weights and compute, for targets that declare it). With either,
  // verification measures accuracy against the float original over `accuracy_samples` inputs
  // and fails when an output's cosine similarity is below `min_cosine` or, when set, its
  // largest absolute error is above `max_error`.
  std::string quantize;
  std::string precision;
  std::optional<double> max_error;
  double min_cosine = 0.99;
  int accuracy_samples = 3;
  SaveOptions save;
  int64_t fold_size_cap_bytes = int64_t{16} << 20;
  int max_iterations = 8;
  // Apply only the first N rewrites (counted across passes from 1; < 0: all), to find by hand
  // which rewrite breaks a model (LLVM's opt-bisect-limit).
  int64_t bisect_limit = -1;
  // When verification fails, bisect over the rewrites for the first failing one
  // (Report::culprit); each step re-optimizes and re-verifies the model.
  bool bisect_on_failure = true;
  // Store the rewrite provenance in the artifact as the metadata entry `graphopt.provenance`.
  bool provenance_metadata = false;
  std::function<void(const ProgressEvent&)> on_progress;
  std::function<bool()> cancelled;
  // Debugging: check the IR's invariants after every pass (GRAPHOPT_VERIFY_IR=1 does too), and
  // hand the graph in ONNX text format to `print_ir` after the pass named `print_ir_after`
  // ("all": after each).
  bool verify_ir = false;
  std::string print_ir_after;
  std::function<void(const std::string& pass, const std::string& text)> print_ir;
};

// Checks what a caller asked for before any work: a known target and known passes, no pass both
// enabled and disabled, positive dims, finite non-negative tolerances. The CLI and the server
// call this one function, so both refuse the same options with the same words
// (INVALID_ARGUMENT; the CLI exits 2).
Status ValidatePipelineOptions(const PipelineOptions& options);

// The graphopt version recorded in reports and artifacts.
const char* GraphoptVersion();

// True when this build has a pass called `name` (see `graphopt passes`).
bool PassExists(const std::string& name);

// Optimizes `in_path` into `out_path`. A failed verification is an error (FAILED_PRECONDITION)
// and nothing is written; the report of such a run is still stored in `*failed_report`.
Result<Report> OptimizeFile(const std::string& in_path, const std::string& out_path,
                            const PipelineOptions& options, Report* failed_report = nullptr);

}  // namespace graphopt
