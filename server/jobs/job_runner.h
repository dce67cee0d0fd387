// What a worker runs for one job, behind an interface: the real implementation calls the
// optimizer's pipeline (pipeline_job_runner.cc, the server's only bridge to the optimizer);
// tests substitute their own.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "optimizer/util/status.h"
#include "server/store/job_record.h"

namespace graphopt::server {

struct RunProgress {
  std::string stage;  // "loading", "optimizing", "verifying", "saving"
  int pass_index = 0;
  int pass_count = 0;
  std::string pass_name;
  int round = 0;  // fixed-point round of the passes, from 1 (0 outside "optimizing")
};

struct RunRequest {
  std::string job_id;
  std::string model_path;   // the main .onnx, with its external data files beside it
  std::string output_path;  // where the optimized model goes
  JobOptionsRecord options;
  std::function<void(const RunProgress&)> on_progress;
  // Polled between passes; true stops the run with kCancelled. A worker-process runner also
  // polls it while the worker runs and kills the worker when it turns true.
  std::function<bool()> cancelled;
  // Test hook (--debug-pass-delay-ms): sleep this long at every pass boundary, where the
  // pipeline runs (in the worker process under process isolation).
  int pass_delay_ms = 0;
};

struct PassOutcome {
  std::string name;
  double seconds = 0;
  int64_t applied = 0;
};

struct RunOutcome {
  std::string report_json;
  std::string report_html;  // the same report as one self-contained HTML page
  int64_t nodes_before = 0, nodes_after = 0;
  int64_t bytes_before = 0, bytes_after = 0;
  std::string verification_status;  // passed | failed | skipped
  std::string graphopt_version;
  std::vector<PassOutcome> passes;
  // Not ok when the run produced a report but no artifact: verification failed
  // (kFailedPrecondition). The report (with its culprit rewrite) is kept with the failed job.
  Status failure;
};

class JobRunner {
 public:
  virtual ~JobRunner() = default;
  // Checks options before a job is accepted (unknown level, target or pass: kInvalidArgument).
  virtual Status Validate(const JobOptionsRecord& options) const = 0;
  // Checks options against the uploaded model, read through `model_bytes` only when needed:
  // a `dims` name that is no symbolic dim of the model is kInvalidArgument naming the model's
  // symbolic dims. Default: nothing to check.
  virtual Status ValidateForModel(const JobOptionsRecord& options,
                                  const std::function<Result<std::string>()>& model_bytes) const {
    return Status::Ok();
  }
  // Identifies the optimizer build: part of the result cache key, so an upgrade re-optimizes.
  virtual std::string Version() const = 0;
  // A failed verification returns an outcome whose `failure` is kFailedPrecondition and whose
  // report says why; other errors return no outcome.
  virtual Result<RunOutcome> Run(const RunRequest& request) = 0;
};

}  // namespace graphopt::server
