// The hook through which the server reports what happens (RPCs, uploads, job and pass events)
// to an observer such as the Prometheus registry in server/metrics/. Plain C++ types only, so the
// jobs layer can call it without gRPC and a metrics library can implement it without the API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace graphopt::server {

// A job's state as the observer sees it; same names as the API's JobState without the prefix.
enum class ObservedJobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };

inline const char* ObservedJobStateName(ObservedJobState s) {
  switch (s) {
    case ObservedJobState::kQueued:
      return "queued";
    case ObservedJobState::kRunning:
      return "running";
    case ObservedJobState::kSucceeded:
      return "succeeded";
    case ObservedJobState::kFailed:
      return "failed";
    case ObservedJobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

struct JobStateChange {
  std::string job_id;
  std::string level;          // "basic", ...
  std::string target;         // "generic", ...
  bool has_previous = false;  // false when the job was just created
  ObservedJobState previous = ObservedJobState::kQueued;
  ObservedJobState current = ObservedJobState::kQueued;
  // On a terminal state after running: seconds from start to finish (0 otherwise).
  double run_seconds = 0;
  // On queued -> running: seconds the job waited since it was created or last re-queued
  // (negative when unknown, e.g. a job claimed from a shared store with no creation time).
  double queue_seconds = -1;
  bool cache_hit = false;  // succeeded at once from the result cache
  int64_t nodes_removed = 0;  // on success after running: nodes before minus nodes after
  std::string error_code;  // "DEADLINE_EXCEEDED", ... on failure
};

// Every method has an empty default so an observer implements only what it measures. Methods are
// called from gRPC and worker threads concurrently and must be thread-safe and quick.
class ServerObserver {
 public:
  virtual ~ServerObserver() = default;

  // One finished RPC: method is the short name ("UploadModel"), code the gRPC code name ("OK").
  virtual void OnRpc(std::string_view method, std::string_view code, double seconds) {}
  // Bytes received by UploadModel (called per chunk, accepted or not).
  virtual void OnUploadBytes(int64_t bytes) {}
  virtual void OnJobStateChange(const JobStateChange& change) {}
  // After a job's pipeline run, once per pass: its total time and how many rewrites it applied.
  virtual void OnPassFinished(std::string_view pass_name, double seconds, int64_t applied) {}
  // Verification ran and failed (the job then fails with FAILED_PRECONDITION).
  virtual void OnVerificationFailed(std::string_view level, std::string_view target) {}
  // A job went back to the queue: `reason` is "restart" (found running at start), "shutdown"
  // (released by a stopping replica) or "lease_expired" (taken over from a dead replica).
  virtual void OnJobRequeued(std::string_view reason, int64_t jobs) {}
  // A store operation ("append_event", "persist_job", "finish_job", "release_job") failed.
  virtual void OnStoreError(std::string_view operation) {}
  // Gauges, pushed whenever they change.
  virtual void OnQueueDepth(int64_t depth) {}
  virtual void OnBusyWorkers(int64_t busy, int64_t total) {}
  // Set to true once stores are open and jobs recovered; false when shutting down.
  virtual void OnReady(bool ready) {}
  // Storage collection: bytes freed (after a delete or a collector run), one collector run
  // (periodic or not), and the bytes the blob store holds after a run.
  virtual void OnStorageReclaimed(int64_t bytes) {}
  virtual void OnCollectorRun() {}
  virtual void OnStorageBytes(int64_t bytes) {}
};

// An observer that ignores everything (the default when no metrics are configured).
inline std::shared_ptr<ServerObserver> NullObserver() { return std::make_shared<ServerObserver>(); }

}  // namespace graphopt::server
