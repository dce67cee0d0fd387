// The storage collector's passes: retention, unreferenced blobs, storage limit.
#include "server/jobs/storage_collector.h"

#include <unordered_set>

#include "server/config/logging.h"

namespace graphopt::server {
namespace {

constexpr int kBatch = 100;

std::vector<std::string> DigestsOfJob(const JobRecord& job) {
  return {job.artifact_digest, job.report_digest, job.report_html_digest};
}

}  // namespace

StorageCollector::StorageCollector(JobStore& jobs, BlobStore& blobs,
                                   std::shared_ptr<ServerObserver> observer,
                                   StorageCollectorOptions options, Clock now)
    : jobs_(jobs),
      blobs_(blobs),
      observer_(observer ? std::move(observer) : NullObserver()),
      options_(options),
      now_(std::move(now)) {}

StorageCollector::~StorageCollector() { Stop(); }

Result<int64_t> StorageCollector::CollectBlobs(const std::vector<std::string>* candidates,
                                               int64_t cutoff_ms, CollectionResult* result) {
  // Candidates are read before the references: a blob referenced after this read was touched
  // after the cutoff, so DeleteIfUntouchedSince spares it.
  std::vector<std::string> digests;
  if (candidates) {
    digests = *candidates;
  } else {
    ASSIGN_OR_RETURN(auto blobs, blobs_.ListBlobs());
    for (const auto& b : blobs) {
      if (b.touched_at_ms < cutoff_ms) digests.push_back(b.digest);
    }
  }
  if (digests.empty()) return int64_t{0};
  ASSIGN_OR_RETURN(auto referenced_list, jobs_.ListReferencedDigests());
  const std::unordered_set<std::string> referenced(referenced_list.begin(), referenced_list.end());
  int64_t freed = 0;
  std::unordered_set<std::string> seen;
  for (const auto& digest : digests) {
    if (digest.empty() || referenced.count(digest) || !seen.insert(digest).second) continue;
    ASSIGN_OR_RETURN(int64_t bytes, blobs_.DeleteIfUntouchedSince(digest, cutoff_ms));
    if (bytes > 0) {
      freed += bytes;
      ++result->blobs_deleted;
    }
  }
  result->reclaimed_bytes += freed;
  observer_->OnStorageReclaimed(freed);
  return freed;
}

Result<int64_t> StorageCollector::Reclaim(const std::vector<std::string>& digests) {
  CollectionResult result;
  return CollectBlobs(&digests, now_() - options_.grace.count(), &result);
}

Status StorageCollector::ApplyRetention(int64_t now_ms, CollectionResult* result) {
  if (options_.retention.count() <= 0) return Status::Ok();
  const int64_t finished_before = now_ms - options_.retention.count();
  while (true) {
    ASSIGN_OR_RETURN(auto jobs, jobs_.ListOldestFinishedJobs(finished_before, kBatch));
    int64_t deleted = 0;
    for (const auto& job : jobs) {
      Status st = jobs_.DeleteJob(job.id);
      // Another replica's delete got there first: not an error.
      if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
      if (st.ok()) ++deleted;
    }
    result->jobs_deleted += deleted;
    if (static_cast<int>(jobs.size()) < kBatch || deleted == 0) return Status::Ok();
  }
}

Status StorageCollector::ApplyStorageLimit(int64_t cutoff_ms, CollectionResult* result) {
  if (options_.max_storage_bytes <= 0 || result->stored_bytes <= options_.max_storage_bytes) {
    return Status::Ok();
  }
  // Oldest finished jobs first: their artifacts can be computed again.
  while (result->stored_bytes > options_.max_storage_bytes) {
    ASSIGN_OR_RETURN(auto jobs, jobs_.ListOldestFinishedJobs(INT64_MAX, 1));
    if (jobs.empty()) break;
    Status st = jobs_.DeleteJob(jobs.front().id);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
    if (st.ok()) ++result->jobs_deleted;
    auto digests = DigestsOfJob(jobs.front());
    ASSIGN_OR_RETURN(int64_t freed, CollectBlobs(&digests, cutoff_ms, result));
    result->stored_bytes -= freed;
  }
  // Then uploads no queued or running job needs.
  while (result->stored_bytes > options_.max_storage_bytes) {
    ASSIGN_OR_RETURN(auto models, jobs_.ListUnusedModels(1));
    if (models.empty()) break;
    const ModelRecord& m = models.front();
    Status st = jobs_.DeleteModel(m.tenant, m.digest);
    // In use since it was listed, or gone: try the next one on the next round.
    if (!st.ok() && st.code() != StatusCode::kNotFound &&
        st.code() != StatusCode::kFailedPrecondition) {
      return st;
    }
    if (st.code() == StatusCode::kFailedPrecondition) break;
    if (st.ok()) ++result->models_deleted;
    std::vector<std::string> digests = {m.digest};
    ASSIGN_OR_RETURN(int64_t freed, CollectBlobs(&digests, cutoff_ms, result));
    result->stored_bytes -= freed;
  }
  return Status::Ok();
}

Result<CollectionResult> StorageCollector::RunOnce() {
  std::lock_guard run_lock(run_mu_);
  CollectionResult result;
  ASSIGN_OR_RETURN(bool locked, jobs_.TryLockCollector());
  if (!locked) return result;
  struct Unlock {
    JobStore& jobs;
    ~Unlock() { jobs.UnlockCollector(); }
  } unlock{jobs_};
  result.ran = true;
  const int64_t now_ms = now_();
  const int64_t cutoff_ms = now_ms - options_.grace.count();
  RETURN_IF_ERROR(ApplyRetention(now_ms, &result));
  RETURN_IF_ERROR(CollectBlobs(nullptr, cutoff_ms, &result).status());
  ASSIGN_OR_RETURN(auto blobs, blobs_.ListBlobs());
  for (const auto& b : blobs) result.stored_bytes += b.size;
  RETURN_IF_ERROR(ApplyStorageLimit(cutoff_ms, &result));
  observer_->OnCollectorRun();
  observer_->OnStorageBytes(result.stored_bytes);
  if (result.jobs_deleted || result.models_deleted || result.blobs_deleted) {
    LogEvent(spdlog::level::info, "storage_collected",
             {{"jobs_deleted", result.jobs_deleted},
              {"models_deleted", result.models_deleted},
              {"blobs_deleted", result.blobs_deleted},
              {"reclaimed_bytes", result.reclaimed_bytes},
              {"stored_bytes", result.stored_bytes}});
  }
  return result;
}

void StorageCollector::Start() {
  if (options_.interval.count() <= 0 || thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void StorageCollector::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StorageCollector::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    auto result = RunOnce();
    if (!result.ok()) {
      LogEvent(spdlog::level::warn, "storage_collection_failed",
               {{"error", result.status().message()}});
    }
    lock.lock();
    cv_.wait_for(lock, options_.interval, [this] { return stopping_; });
  }
}

}  // namespace graphopt::server
