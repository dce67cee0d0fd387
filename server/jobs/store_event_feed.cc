// Watchers of jobs in a shared store (see store_event_feed.h).
#include "server/jobs/store_event_feed.h"

#include <algorithm>
#include <cstdint>
#include <set>
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
  std::map<std::string, int64_t> cursors;
  int64_t oldest = INT64_MAX;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, watched] : watched_) {
      cursors[id] = watched.after_event_id;
      oldest = std::min(oldest, watched.after_event_id);
    }
  }
  if (cursors.empty()) return;
  // The store is read without the lock, so adding or removing a watcher never waits for it; one
  // query serves every watched job.
  std::vector<std::string> ids;
  for (const auto& [id, after] : cursors) ids.push_back(id);
  auto events = shared_.ListEventsOfJobsAfter(ids, oldest);
  if (!events.ok()) return;  // the next round retries
  // The whole job is read for a terminal event (artifact, report, error), and on quiet rounds
  // for every watched job in case its terminal event is missing.
  std::map<std::string, JobRecord> records;
  for (const auto& [id, after] : cursors) {
    bool terminal = false;
    for (const auto& e : *events) {
      terminal = terminal || (e.event.job_id == id && e.id > after && IsTerminal(e.event.state));
    }
    if (!terminal && !check_states) continue;
    auto record = jobs_.GetJob(id);
    if (record.ok()) records.emplace(id, std::move(record).value());
  }

  std::lock_guard lock(mu_);
  std::set<std::string> ended;
  for (const auto& stored : *events) {
    const std::string& id = stored.event.job_id;
    auto it = watched_.find(id);
    if (it == watched_.end() || ended.count(id)) continue;
    Watched& watched = it->second;
    if (stored.id <= watched.after_event_id) continue;  // delivered by an earlier round
    watched.after_event_id = stored.id;
    const bool terminal = IsTerminal(stored.event.state);
    auto record = records.find(id);
    if (terminal && record != records.end()) watched.job = record->second;
    DeliverLocked(watched, stored.event);
    if (terminal) ended.insert(id);
  }
  for (const auto& [id, record] : records) {
    auto it = watched_.find(id);
    if (it == watched_.end() || ended.count(id) || !IsTerminal(record.state)) continue;
    // Terminal in the store without a terminal event to show for it.
    it->second.job = record;
    DeliverLocked(it->second, SnapshotEvent(record));
    ended.insert(id);
  }
  for (const auto& id : ended) watched_.erase(id);
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
