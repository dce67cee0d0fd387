// Registration of the graphopt metric set and the event methods that update it.
#include "server/metrics/metrics.h"

#include <array>

#include "server/metrics/build_info.h"
#include "server/metrics/process_metrics.h"

namespace graphopt::metrics {
namespace {

// Jobs run from milliseconds (a tiny model, cached) to many minutes (a large transformer with
// verification).
const std::vector<double> kJobDurationBuckets = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                                 5,    10,    30,   60,  120,  300, 600, 1800};
// A pass on a small graph takes microseconds; constant folding a large one, seconds.
const std::vector<double> kPassDurationBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                  1,      2.5,     5,      10,    30};
// Unary RPCs take milliseconds; streams (WatchJob, uploads) may stay open for minutes.
const std::vector<double> kRpcDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

// Queue waits run from nothing (an idle pool) to hours (a backlog behind large models).
const std::vector<double> kQueueWaitBuckets = {0.005, 0.01, 0.05, 0.1, 0.5, 1,    5,   10,
                                               30,    60,   120,  300, 600, 1800, 3600};

// The states jobs_total counts and the reasons and store operations the counters below name;
// each is created at 0 at start (PrecreateSeries).
constexpr std::array<std::string_view, 6> kJobStates = {"queued", "running",   "succeeded",
                                                        "failed", "cancelled", "cached"};
constexpr std::array<std::string_view, 3> kRequeueReasons = {"restart", "shutdown",
                                                             "lease_expired"};
// The job-store operations the job manager times (server/jobs/timed_store_call.h).
constexpr std::array<std::string_view, 11> kStoreOperations = {
    "insert_job",  "enqueue_job", "claim_job", "persist_job", "append_event", "finish_job",
    "release_job", "get_job",     "list_jobs", "find_result", "write_probe"};
// One row in SQLite takes tens of microseconds; PostgreSQL adds a round trip and a commit; an
// unreachable database takes its connect timeout.
const std::vector<double> kStoreOperationBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10};

}  // namespace

std::string_view GrpcStatusCodeName(int code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  if (code < 0 || code >= static_cast<int>(kNames.size())) return "UNKNOWN";
  return kNames[code];
}

ServerMetrics::ServerMetrics()
    : jobs_total(registry_.AddCounter(
          "graphopt_jobs_total",
          "Jobs that entered each state (queued, running, succeeded, failed, cancelled, cached).",
          {"state", "level", "target"})),
      job_duration_seconds(
          registry_.AddHistogram("graphopt_job_duration_seconds",
                                 "Time from a job's start on a worker to its end, by outcome.",
                                 {"level", "target", "outcome"}, kJobDurationBuckets)),
      pass_duration_seconds(registry_.AddHistogram("graphopt_pass_duration_seconds",
                                                   "Time one optimization pass took on one job.",
                                                   {"pass"}, kPassDurationBuckets)),
      pass_applied_total(registry_.AddCounter("graphopt_pass_applied_total",
                                              "Pass runs that changed the graph.", {"pass"})),
      queue_depth(registry_.AddGauge("graphopt_queue_depth", "Jobs waiting for a worker.").Get()),
      workers_busy(
          registry_.AddGauge("graphopt_workers_busy", "Workers currently running a job.").Get()),
      workers(registry_.AddGauge("graphopt_workers", "Workers in the pool.").Get()),
      upload_bytes_total(
          registry_
              .AddCounter("graphopt_upload_bytes_total", "Model bytes received by UploadModel.")
              .Get()),
      verification_failures_total(
          registry_
              .AddCounter("graphopt_verification_failures_total",
                          "Jobs whose optimized model did not match the original's outputs.")
              .Get()),
      nodes_removed_total(registry_
                              .AddCounter("graphopt_nodes_removed_total",
                                          "Graph nodes removed by optimization, over all jobs.")
                              .Get()),
      grpc_requests_total(registry_.AddCounter("graphopt_grpc_requests_total",
                                               "Finished gRPC calls by method and status code.",
                                               {"method", "grpc_type", "code"})),
      grpc_request_duration_seconds(
          registry_.AddHistogram("graphopt_grpc_request_duration_seconds",
                                 "Time from a gRPC call's start to its status, by method (a "
                                 "stream's whole lifetime).",
                                 {"method", "grpc_type"}, kRpcDurationBuckets)),
      job_queue_wait_seconds(registry_.AddHistogram(
          "graphopt_job_queue_wait_seconds",
          "Time a job waited in the queue before a worker started it, by level and target.",
          {"level", "target"}, kQueueWaitBuckets)),
      jobs_requeued_total(registry_.AddCounter(
          "graphopt_jobs_requeued_total",
          "Jobs put back in the queue: found running at a restart, released at shutdown, or "
          "taken over after their replica's lease expired.",
          {"reason"})),
      store_errors_total(registry_.AddCounter("graphopt_store_errors_total",
                                              "Job store operations that failed, by operation.",
                                              {"operation"})),
      store_operation_duration_seconds(registry_.AddHistogram(
          "graphopt_store_operation_duration_seconds",
          "Time one job store operation took (failed ones included), by operation.", {"operation"},
          kStoreOperationBuckets)) {
  RegisterBuildInfo(registry_);
  RegisterProcessMetrics(registry_);
}

void ServerMetrics::JobStateEntered(std::string_view state, std::string_view level,
                                    std::string_view target) {
  jobs_total.WithLabels({state, level, target}).Increment();
}

void ServerMetrics::JobFinished(std::string_view level, std::string_view target,
                                std::string_view outcome, double seconds) {
  job_duration_seconds.WithLabels({level, target, outcome}).Observe(seconds);
}

void ServerMetrics::PassFinished(std::string_view pass, double seconds, bool applied) {
  pass_duration_seconds.WithLabels({pass}).Observe(seconds);
  // Touch the counter even when not applied, so every pass that ever ran shows a series.
  Counter& applied_count = pass_applied_total.WithLabels({pass});
  if (applied) applied_count.Increment();
}

void ServerMetrics::NodesRemoved(int64_t count) {
  if (count > 0) nodes_removed_total.Increment(static_cast<double>(count));
}

void ServerMetrics::VerificationFailed() { verification_failures_total.Increment(); }

void ServerMetrics::JobQueueWait(std::string_view level, std::string_view target,
                                 double seconds) {
  job_queue_wait_seconds.WithLabels({level, target}).Observe(seconds < 0 ? 0 : seconds);
}

void ServerMetrics::JobsRequeued(std::string_view reason, int64_t jobs) {
  if (jobs > 0) jobs_requeued_total.WithLabels({reason}).Increment(static_cast<double>(jobs));
}

void ServerMetrics::StoreError(std::string_view operation) {
  store_errors_total.WithLabels({operation}).Increment();
}

void ServerMetrics::StoreOperation(std::string_view operation, double seconds, bool ok) {
  store_operation_duration_seconds.WithLabels({operation}).Observe(seconds < 0 ? 0 : seconds);
  if (!ok) StoreError(operation);
}

void ServerMetrics::PrecreateSeries(const std::vector<std::string>& levels,
                                    const std::vector<std::string>& targets) {
  // WithLabels creates a series at 0 without changing it.
  for (const std::string& level : levels) {
    for (const std::string& target : targets) {
      for (std::string_view state : kJobStates) jobs_total.WithLabels({state, level, target});
    }
  }
  for (std::string_view reason : kRequeueReasons) jobs_requeued_total.WithLabels({reason});
  for (std::string_view op : kStoreOperations) {
    store_errors_total.WithLabels({op});
    store_operation_duration_seconds.WithLabels({op});
  }
}

void ServerMetrics::SetQueueDepth(int64_t jobs_waiting) {
  queue_depth.Set(static_cast<double>(jobs_waiting));
}
void ServerMetrics::SetWorkers(int64_t n) { workers.Set(static_cast<double>(n)); }
void ServerMetrics::SetWorkersBusy(int64_t busy) { workers_busy.Set(static_cast<double>(busy)); }
void ServerMetrics::WorkerStarted() { workers_busy.Increment(); }
void ServerMetrics::WorkerFinished() { workers_busy.Decrement(); }

void ServerMetrics::UploadBytesReceived(uint64_t bytes) {
  upload_bytes_total.Increment(static_cast<double>(bytes));
}

void ServerMetrics::GrpcRequestFinished(std::string_view method, std::string_view grpc_type,
                                        std::string_view code, double seconds) {
  grpc_requests_total.WithLabels({method, grpc_type, code}).Increment();
  grpc_request_duration_seconds.WithLabels({method, grpc_type}).Observe(seconds);
}

}  // namespace graphopt::metrics
