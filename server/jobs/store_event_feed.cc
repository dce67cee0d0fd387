// Watchers of jobs in a shared store (see store_event_feed.h).
#include "server/jobs/store_event_feed.h"

#include <optional>
#include <vector>

namespace graphopt::server {

StoreEventFeed::StoreEventFeed(JobStore& jobs, LeasedJobStore& shared,
                               std::chrono::milliseconds poll,
                               std::function<void()> on_store_event)
    : jobs_(jobs), shared_(shared), poll_(poll), on_store_event_(std::move(on_store_event)) {}

StoreEventFeed::~StoreEventFeed() { Stop(); }

void StoreEventFeed::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void StoreEventFeed::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

Result<int64_t> StoreEventFeed::LastEventId(const std::string& job_id) {
  ASSIGN_OR_RETURN(auto events, shared_.ListEventsAfter(job_id, 0));
  return events.empty() ? int64_t{0} : events.back().id;
}

int64_t StoreEventFeed::Add(const JobRecord& job, int64_t after_event_id, JobListener listener) {
  std::lock_guard lock(mu_);
  Watched& watched = watched_[job.id];
  if (watched.listeners.empty()) {
    watched.after_event_id = after_event_id;
    watched.job = job;
  }
  // A second watcher of a job already followed starts from where the first one is, so both see
  // the same events from here on.
  listener(SnapshotEvent(watched.job), watched.job, /*snapshot=*/true);
  const int64_t token = next_token_++;
  watched.listeners.emplace(token, std::move(listener));
  return token;
}

void StoreEventFeed::Remove(const std::string& job_id, int64_t token) {
  std::lock_guard lock(mu_);
  auto it = watched_.find(job_id);
  if (it == watched_.end()) return;
  it->second.listeners.erase(token);
  if (it->second.listeners.empty()) watched_.erase(it);
}

void StoreEventFeed::DeliverLocked(Watched& watched, const JobEventRecord& event) {
  watched.job.state = event.state;
  watched.job.progress = event.progress;
  for (auto& [token, listener] : watched.listeners) listener(event, watched.job, false);
}

void StoreEventFeed::RunOnce(bool check_states) {
  struct Fetched {
    std::string job_id;
    std::vector<StoredJobEvent> events;
    std::optional<JobRecord> record;  // read when an event is terminal, or on quiet rounds
  };
  std::vector<std::pair<std::string, int64_t>> cursors;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, watched] : watched_) cursors.emplace_back(id, watched.after_event_id);
  }
  // The store is read without the lock, so adding or removing a watcher never waits for it.
  std::vector<Fetched> fetched;
  for (const auto& [id, after] : cursors) {
    auto events = shared_.ListEventsAfter(id, after);
    if (!events.ok()) continue;  // the next round retries
    Fetched f{id, std::move(events).value(), std::nullopt};
    bool terminal = false;
    for (const auto& e : f.events) terminal = terminal || IsTerminal(e.event.state);
    if (terminal || check_states) {
      auto record = jobs_.GetJob(id);
      if (record.ok()) f.record = std::move(record).value();
    }
    fetched.push_back(std::move(f));
  }

  std::lock_guard lock(mu_);
  for (auto& f : fetched) {
    auto it = watched_.find(f.job_id);
    if (it == watched_.end()) continue;
    Watched& watched = it->second;
    bool ended = false;
    for (const auto& stored : f.events) {
      if (stored.id <= watched.after_event_id) continue;  // delivered by a concurrent round
      watched.after_event_id = stored.id;
      const bool terminal = IsTerminal(stored.event.state);
      if (terminal && f.record) watched.job = *f.record;  // artifact, report, error
      DeliverLocked(watched, stored.event);
      if (terminal) {
        ended = true;
        break;
      }
    }
    if (!ended && f.record && IsTerminal(f.record->state)) {
      // Terminal in the store without a terminal event to show for it.
      watched.job = *f.record;
      DeliverLocked(watched, SnapshotEvent(*f.record));
      ended = true;
    }
    if (ended) watched_.erase(it);
  }
}

void StoreEventFeed::Loop() {
  uint64_t seen = shared_.EventCounter();
  bool quiet = false;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    RunOnce(/*check_states=*/quiet);
    if (!quiet && on_store_event_) on_store_event_();
    shared_.WaitForEvents(seen, poll_);
    const uint64_t now = shared_.EventCounter();
    quiet = now == seen;
    seen = now;
  }
}

}  // namespace graphopt::server
