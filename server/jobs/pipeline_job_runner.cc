// Translates a job's options into PipelineOptions and the pipeline's Report into a RunOutcome.
// This is the only file of the server that includes optimizer headers beyond status.h.
#include "server/jobs/pipeline_job_runner.h"

#include <chrono>
#include <thread>

#include "optimizer/pass/level.h"
#include "optimizer/pipeline.h"
#include "optimizer/sample_dims.h"
#include "optimizer/target.h"

namespace graphopt::server {

namespace {

void DelayPass(const RunRequest& request) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(request.pass_delay_ms);
  while (std::chrono::steady_clock::now() < until && !(request.cancelled && request.cancelled())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void SetConversions(const JobOptionsRecord& job, PipelineOptions* pipeline) {
  pipeline->quantize = job.quantize;
  pipeline->precision = job.precision;
  pipeline->max_error = job.max_error;
  if (job.min_cosine) pipeline->min_cosine = *job.min_cosine;
}

class PipelineJobRunner : public JobRunner {
 public:
  Status Validate(const JobOptionsRecord& options) const override {
    PipelineOptions pipeline;
    auto level = ParseLevel(options.level);
    if (!level.ok()) return InvalidArgument("unknown level '" + options.level + "'");
    pipeline.level = *level;
    pipeline.target = options.target;
    pipeline.dims = options.dims;
    pipeline.enable = options.enable;
    pipeline.disable = options.disable;
    if (options.atol) pipeline.verify_options.atol = *options.atol;
    if (options.rtol) pipeline.verify_options.rtol = *options.rtol;
    SetConversions(options, &pipeline);
    return ValidatePipelineOptions(pipeline);
  }

  // The check `graphopt optimize --dim` makes, at CreateJob instead of when the job runs. A
  // model with external data cannot be parsed from its bytes alone: its job checks when it runs.
  Status ValidateForModel(const JobOptionsRecord& options,
                          const std::function<Result<std::string>()>& model_bytes) const override {
    if (options.dims.empty()) return Status::Ok();
    ASSIGN_OR_RETURN(std::string bytes, model_bytes());
    return CheckDimNamesInModelBytes(bytes, options.dims);
  }

  std::string Version() const override { return GraphoptVersion(); }

  Result<RunOutcome> Run(const RunRequest& request) override {
    PipelineOptions options;
    ASSIGN_OR_RETURN(options.level, ParseLevel(request.options.level));
    options.target = request.options.target;
    options.dims = request.options.dims;
    options.check_dim_names = true;  // a misspelt --dim fails the job (INVALID_ARGUMENT)
    options.enable = request.options.enable;
    options.disable = request.options.disable;
    options.verify = request.options.verify;
    options.verify_options.dims = request.options.dims;
    if (request.options.atol) options.verify_options.atol = *request.options.atol;
    if (request.options.rtol) options.verify_options.rtol = *request.options.rtol;
    SetConversions(request.options, &options);
    options.on_progress = [&request](const ProgressEvent& e) {
      if (request.pass_delay_ms > 0 && !e.pass_name.empty()) DelayPass(request);
      if (request.on_progress) {
        request.on_progress(RunProgress{e.stage, e.pass_index, e.pass_count, e.pass_name, e.round});
      }
    };
    options.cancelled = request.cancelled;

    Report failed_report;
    Result<Report> optimized =
        OptimizeFile(request.model_path, request.output_path, options, &failed_report);
    const bool verification_failed =
        !optimized.ok() && failed_report.verification_status == VerificationStatus::kFailed;
    if (!optimized.ok() && !verification_failed) return optimized.status();
    const Report& report = optimized.ok() ? *optimized : failed_report;
    RunOutcome outcome;
    if (verification_failed) outcome.failure = optimized.status();
    outcome.report_json = report.ToJson();
    outcome.report_html = report.ToHtml();
    outcome.nodes_before = report.nodes_before;
    outcome.nodes_after = report.nodes_after;
    outcome.bytes_before = report.bytes_before;
    outcome.bytes_after = report.bytes_after;
    outcome.verification_status = VerificationStatusName(report.verification_status);
    outcome.graphopt_version = report.graphopt_version;
    for (const auto& pass : report.passes) {
      outcome.passes.push_back({pass.name, pass.time_ms / 1000.0, pass.applied});
    }
    return outcome;
  }
};

}  // namespace

std::unique_ptr<JobRunner> MakePipelineJobRunner() { return std::make_unique<PipelineJobRunner>(); }

}  // namespace graphopt::server
