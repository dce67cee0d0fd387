// The record of one optimization: what changed, why it is still correct, and how long it took.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "optimizer/analysis/model_metrics.h"
#include "optimizer/pass/pass_stats.h"
#include "optimizer/verify_options.h"

namespace graphopt {

enum class VerificationStatus { kSkipped, kPassed, kFailed };

// The one place verification statuses become words ("passed", "failed", "skipped") and back:
// reports, job records and the API carry the words.
const char* VerificationStatusName(VerificationStatus status);
std::optional<VerificationStatus> ParseVerificationStatus(const std::string& name);
inline std::ostream& operator<<(std::ostream& os, VerificationStatus status) {
  return os << VerificationStatusName(status);
}

// The first rewrite after which the artifact no longer matches the original (found by
// bisecting over the rewrite log): index counts rewrites across passes from 1, so a run with
// --bisect-limit index-1 stops just before it.
struct Culprit {
  int64_t index = 0;
  std::string pass, rule;
  std::vector<std::string> nodes;  // the original nodes it consumed
};

struct Report {
  std::string level;
  std::string target;
  // The ISA the artifact is laid out for ("avx512"...; empty when the target has none), and
  // whether it was this machine's (target `cpu`) rather than named by the profile.
  std::string isa;
  bool isa_from_host = false;
  std::string graphopt_version;
  int64_t nodes_before = 0, nodes_after = 0;
  std::map<std::string, int64_t> ops_before, ops_after;
  int64_t bytes_before = 0, bytes_after = 0;
  std::vector<PassStats> passes;
  VerificationStatus verification_status = VerificationStatus::kSkipped;
  std::string verification_message;
  // Passes of the level the target kept from running, with the profile's reason.
  std::vector<DroppedPass> dropped_passes;
  // Rewrites applied across all passes (the range --bisect-limit counts in), and this run's
  // limit (< 0: none).
  int64_t rewrites_total = 0;
  int64_t bisect_limit = -1;
  // Set when verification failed and bisecting found the first failing rewrite.
  std::optional<Culprit> culprit;
  std::string bisect_message;  // how the bisection went, or why it could not run
  // What went wrong without failing the run (shape inference refused the model...).
  std::vector<std::string> warnings;
  // Near misses dropped from passes[].near_misses because their node was rewritten later (a
  // rule declined in round 1 and fused the node once another pass had folded its inputs).
  int64_t near_misses_resolved = 0;
  std::vector<OutputComparison> verification_outputs;
  double atol = 0, rtol = 0;
  // "equivalence" (outputs equal within atol/rtol) or, after a conversion (--quantize,
  // --precision), "accuracy": the passes were verified for equivalence first, then the
  // converted model's error was measured over `accuracy_samples` inputs per assignment.
  std::string verification_kind = "equivalence";
  std::vector<ConversionStats> conversions;
  std::vector<OutputComparison> accuracy_outputs;  // worst error and lowest cosine per output
  int accuracy_samples = 0;
  double min_cosine = 0;
  std::optional<double> max_error;
  // The symbolic-dim values each verification run used ("batch=1,seq=16").
  std::vector<std::map<std::string, int64_t>> verification_shapes;
  // The integer inputs each run set to one value, parallel to verification_shapes (an empty map:
  // all drawn at random), and for every If whether both branches were run (and with which
  // values) or why only one.
  std::vector<std::map<std::string, int64_t>> verification_int_inputs;
  std::vector<IfBranchCoverage> verification_ifs;
  std::vector<std::string> dims_symbolic;         // input dims the artifact leaves symbolic
  std::map<std::string, int64_t> dims_fixed;      // dims fixed by --dim
  double load_ms = 0, optimize_ms = 0, verify_ms = 0, save_ms = 0;
  // What the model costs before and after the passes, with symbolic dims at `metrics_dims` (the
  // first verification assignment); latency_ms is set when verification ran that assignment.
  bool has_metrics = false;
  std::map<std::string, int64_t> metrics_dims;
  ModelMetrics metrics_before, metrics_after;

  std::string ToJson(int indent = 2) const;
  // Why-not: the `top` most frequent near-miss reasons and the dropped passes, as text.
  std::string ExplainText(size_t top = 10) const;
  // Provenance of the artifact's nodes: [{pass, rule, from, to}] in rewrite order (bounded as
  // the pass records are), compact JSON for the `graphopt.provenance` metadata entry.
  std::string ProvenanceJson() const;
  // onnx-simplifier style table: op type, count before, count after, totals, size and time.
  std::string ToTable() const;
  // The metrics rows of the table: params, weights, GFLOPs by family, peak activations, latency.
  std::string MetricsTable() const;
  // One self-contained HTML page (inline CSS, SVG and script; no network) of this report, with
  // every model-provided string escaped.
  std::string ToHtml() const;
};

}  // namespace graphopt
