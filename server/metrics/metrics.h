// The graphopt service's metrics: one registry that owns every graphopt_* instrument plus the
// process and build-info metrics, with one method per event the service reports.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/metrics/registry.h"

namespace graphopt::metrics {

// gRPC status code number (0..16) -> its canonical name ("OK", "NOT_FOUND", ...), for the
// `code` label; "UNKNOWN" for anything else. Kept here so metrics need no gRPC headers.
std::string_view GrpcStatusCodeName(int code);

class ServerMetrics {
 private:
  // First member: it must exist before the instrument references below are bound into it.
  Registry registry_;

 public:
  ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // --- jobs ---------------------------------------------------------------------------
  // A job entered `state` ("queued", "running", "succeeded", "failed", "cancelled",
  // "cached" ...): graphopt_jobs_total{state,level,target} += 1. Call once per transition.
  void JobStateEntered(std::string_view state, std::string_view level, std::string_view target);
  // A job ended (`outcome` = its terminal state) after `seconds` from start of execution:
  // graphopt_job_duration_seconds{level,target,outcome}.
  void JobFinished(std::string_view level, std::string_view target, std::string_view outcome,
                   double seconds);
  // One pass ran for `seconds`; `applied` when it changed the graph:
  // graphopt_pass_duration_seconds{pass} and graphopt_pass_applied_total{pass}.
  void PassFinished(std::string_view pass, double seconds, bool applied);
  // Nodes a job removed from its graph (original count - optimized count, when positive).
  void NodesRemoved(int64_t count);
  // A job whose optimized model did not match the original on the reference executor.
  void VerificationFailed();
  // A job started `seconds` after it entered the queue: graphopt_job_queue_wait_seconds.
  void JobQueueWait(std::string_view level, std::string_view target, double seconds);
  // `jobs` went back to the queue for `reason`: graphopt_jobs_requeued_total{reason}.
  void JobsRequeued(std::string_view reason, int64_t jobs);
  // A store operation failed: graphopt_store_errors_total{operation}.
  void StoreError(std::string_view operation);
  // A store operation took `seconds`: graphopt_store_operation_duration_seconds{operation}, and
  // StoreError(operation) when it failed.
  void StoreOperation(std::string_view operation, double seconds, bool ok);
  // Creates every job outcome series at 0 for these levels and targets, so rates and ratios over
  // them read 0 (not "no data") before the first job of a kind, and the requeue and store error
  // series for every known reason and operation.
  void PrecreateSeries(const std::vector<std::string>& levels,
                       const std::vector<std::string>& targets);

  // --- queue and workers --------------------------------------------------------------
  void SetQueueDepth(int64_t jobs_waiting);
  void SetWorkers(int64_t workers);   // pool size
  void SetWorkersBusy(int64_t busy);  // or, per worker:
  void WorkerStarted();               //   busy += 1 when a worker picks a job
  void WorkerFinished();              //   busy -= 1 when it is done with it

  // --- uploads and RPCs ---------------------------------------------------------------
  // Model bytes received by UploadModel (count chunks as they arrive, accepted or not).
  void UploadBytesReceived(uint64_t bytes);
  // One RPC finished: graphopt_grpc_requests_total{method,grpc_type,code} and
  // graphopt_grpc_request_duration_seconds{method,grpc_type}. `method` is the short RPC name
  // ("CreateJob"), `grpc_type` "unary", "client_stream", "server_stream" or "bidi_stream" (a
  // stream's duration is its lifetime, so dashboards keep the two apart), `code` a canonical
  // name (see GrpcStatusCodeName).
  void GrpcRequestFinished(std::string_view method, std::string_view grpc_type,
                           std::string_view code, double seconds);
  void GrpcRequestFinished(std::string_view method, std::string_view grpc_type, int code,
                           double seconds) {
    GrpcRequestFinished(method, grpc_type, GrpcStatusCodeName(code), seconds);
  }

  // The text GET /metrics serves.
  std::string RenderText() const { return registry_.RenderText(); }
  Registry& registry() { return registry_; }

  // The instruments themselves, for tests and for anything the event methods do not cover.
  Family<Counter>& jobs_total;
  Family<Histogram>& job_duration_seconds;
  Family<Histogram>& pass_duration_seconds;
  Family<Counter>& pass_applied_total;
  Gauge& queue_depth;
  Gauge& workers_busy;
  Gauge& workers;
  Counter& upload_bytes_total;
  Counter& verification_failures_total;
  Counter& nodes_removed_total;
  Family<Counter>& grpc_requests_total;
  Family<Histogram>& grpc_request_duration_seconds;
  Family<Histogram>& job_queue_wait_seconds;
  Family<Counter>& jobs_requeued_total;
  Family<Counter>& store_errors_total;
  Family<Histogram>& store_operation_duration_seconds;
};

}  // namespace graphopt::metrics
