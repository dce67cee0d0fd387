// Batched, ordered writing of progress events (see progress_event_writer.h).
#include "server/jobs/progress_event_writer.h"

#include <vector>

#include "server/config/logging.h"

namespace graphopt::server {
namespace {
// Rows per INSERT: well below PostgreSQL's 65535 bind parameters (10 per event).
constexpr size_t kMaxBatch = 500;
}  // namespace

ProgressEventWriter::ProgressEventWriter(LeasedJobStore& store)
    : store_(store), thread_([this] { Loop(); }) {}

ProgressEventWriter::~ProgressEventWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void ProgressEventWriter::Add(JobEventRecord event) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(event));
    ++added_;
  }
  work_cv_.notify_one();
}

void ProgressEventWriter::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = added_;
  done_cv_.wait(lock, [&] { return written_ >= target; });
}

void ProgressEventWriter::Loop() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything is written
    std::vector<JobEventRecord> batch;
    while (!queue_.empty() && batch.size() < kMaxBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    const Status stored = store_.AppendProgressEvents(batch);
    if (!stored.ok()) {
      // Progress only: a watcher misses some pass events; states and terminal events are
      // written elsewhere, durably.
      LogEvent(spdlog::level::warn, "progress_events_not_stored",
               {{"events", batch.size()}, {"error", stored.ToString()}});
    }
    lock.lock();
    written_ += batch.size();
    done_cv_.notify_all();
  }
}

}  // namespace graphopt::server
