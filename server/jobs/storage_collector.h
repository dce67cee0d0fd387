// StorageCollector: retention of finished jobs, a storage limit, and garbage collection of blobs
// nothing references any more (deleted models, artifacts and reports of deleted jobs), for
// either pair of stores. Runs periodically on its own thread and on demand after deletes.
//
// Races with writers are settled by touch times, not locks: a blob is deleted only if it was not
// committed or touched within `grace` before the run began (BlobStore::DeleteIfUntouchedSince is
// atomic against Commit and Touch), and every writer touches a blob before recording the
// reference to it (an upload commits, CreateJob touches its inputs, a worker commits its
// artifact). With several replicas, one collector runs at a time (JobStore::TryLockCollector).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/jobs/observer.h"
#include "server/store/blob_store.h"
#include "server/store/job_store.h"

namespace graphopt::server {

struct StorageCollectorOptions {
  std::chrono::milliseconds retention{0};  // finished jobs older than this go; 0: kept
  int64_t max_storage_bytes = 0;           // 0: no limit
  std::chrono::milliseconds grace{std::chrono::seconds(60)};
  std::chrono::milliseconds interval{std::chrono::minutes(5)};  // 0: no periodic runs
};

struct CollectionResult {
  bool ran = false;  // false: another replica's collector holds the lock
  int64_t jobs_deleted = 0;
  int64_t models_deleted = 0;
  int64_t blobs_deleted = 0;
  int64_t reclaimed_bytes = 0;
  int64_t stored_bytes = 0;  // in the blob store afterwards
};

class StorageCollector {
 public:
  using Clock = std::function<int64_t()>;  // milliseconds since the epoch
  StorageCollector(JobStore& jobs, BlobStore& blobs, std::shared_ptr<ServerObserver> observer,
                   StorageCollectorOptions options, Clock now = NowMillis);
  ~StorageCollector();

  // Retention, then unreferenced blobs, then the storage limit (oldest finished jobs first,
  // then uploads no unfinished job uses).
  Result<CollectionResult> RunOnce();
  // Deletes those of `digests` nothing references (called right after DeleteJob/DeleteModel);
  // returns the bytes freed.
  Result<int64_t> Reclaim(const std::vector<std::string>& digests);

  // The periodic thread (every options.interval); Stop joins it.
  void Start();
  void Stop();

 private:
  // Deletes every blob among `candidates` (all blobs when null) that is unreferenced and
  // untouched since `cutoff_ms`.
  Result<int64_t> CollectBlobs(const std::vector<std::string>* candidates, int64_t cutoff_ms,
                               CollectionResult* result);
  Status ApplyRetention(int64_t now_ms, CollectionResult* result);
  Status ApplyStorageLimit(int64_t cutoff_ms, CollectionResult* result);
  void Loop();

  JobStore& jobs_;
  BlobStore& blobs_;
  std::shared_ptr<ServerObserver> observer_;
  StorageCollectorOptions options_;
  Clock now_;

  std::mutex run_mu_;  // one run at a time in this process
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace graphopt::server
