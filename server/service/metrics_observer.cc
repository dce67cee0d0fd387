// Maps the server's events onto metrics::ServerMetrics' instruments.
#include "server/service/metrics_observer.h"

namespace graphopt::server {

namespace {

class MetricsObserver : public ServerObserver {
 public:
  explicit MetricsObserver(std::shared_ptr<metrics::ServerMetrics> metrics)
      : metrics_(std::move(metrics)),
        reclaimed_bytes_(metrics_->registry()
                             .AddCounter("graphopt_storage_reclaimed_bytes_total",
                                         "Blob bytes freed by deletes and garbage collection.", {})
                             .Get()),
        gc_runs_(metrics_->registry()
                     .AddCounter("graphopt_gc_runs_total",
                                 "Storage collector runs (retention, limits, unreferenced blobs).",
                                 {})
                     .Get()),
        storage_bytes_(metrics_->registry()
                           .AddGauge("graphopt_storage_bytes",
                                     "Bytes in the blob store after the last collector run.", {})
                           .Get()) {}

  void OnRpc(std::string_view method, std::string_view code, double seconds) override {
    metrics_->GrpcRequestFinished(method, code, seconds);
  }
  void OnUploadBytes(int64_t bytes) override {
    metrics_->UploadBytesReceived(static_cast<uint64_t>(bytes));
  }
  void OnJobStateChange(const JobStateChange& change) override {
    metrics_->JobStateEntered(change.cache_hit ? "cached" : ObservedJobStateName(change.current),
                              change.level, change.target);
    const bool terminal = change.current == ObservedJobState::kSucceeded ||
                          change.current == ObservedJobState::kFailed ||
                          change.current == ObservedJobState::kCancelled;
    if (terminal && change.has_previous && change.previous == ObservedJobState::kRunning) {
      metrics_->JobFinished(change.level, change.target, ObservedJobStateName(change.current),
                            change.run_seconds);
    }
    if (change.current == ObservedJobState::kRunning && change.queue_seconds >= 0) {
      metrics_->JobQueueWait(change.level, change.target, change.queue_seconds);
    }
    if (change.current == ObservedJobState::kSucceeded && !change.cache_hit) {
      metrics_->NodesRemoved(change.nodes_removed);
    }
  }
  void OnPassFinished(std::string_view pass_name, double seconds, int64_t applied) override {
    metrics_->PassFinished(pass_name, seconds, applied > 0);
  }
  void OnVerificationFailed(std::string_view, std::string_view) override {
    metrics_->VerificationFailed();
  }
  void OnJobRequeued(std::string_view reason, int64_t jobs) override {
    metrics_->JobsRequeued(reason, jobs);
  }
  void OnStoreError(std::string_view operation) override { metrics_->StoreError(operation); }
  void OnQueueDepth(int64_t depth) override { metrics_->SetQueueDepth(depth); }
  void OnStorageReclaimed(int64_t bytes) override {
    if (bytes > 0) reclaimed_bytes_.Increment(static_cast<double>(bytes));
  }
  void OnCollectorRun() override { gc_runs_.Increment(); }
  void OnStorageBytes(int64_t bytes) override { storage_bytes_.Set(static_cast<double>(bytes)); }
  void OnBusyWorkers(int64_t busy, int64_t total) override {
    metrics_->SetWorkers(total);
    metrics_->SetWorkersBusy(busy);
  }

 private:
  std::shared_ptr<metrics::ServerMetrics> metrics_;
  metrics::Counter& reclaimed_bytes_;
  metrics::Counter& gc_runs_;
  metrics::Gauge& storage_bytes_;
};

}  // namespace

std::shared_ptr<ServerObserver> MakeMetricsObserver(
    std::shared_ptr<metrics::ServerMetrics> metrics) {
  return std::make_shared<MetricsObserver>(std::move(metrics));
}

}  // namespace graphopt::server
