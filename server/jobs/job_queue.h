// The bounded priority queue of waiting jobs: higher priority first, then first come first
// served. Not thread-safe; JobManager guards it with its lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "optimizer/util/status.h"

namespace graphopt::server {

class JobQueue {
 public:
  explicit JobQueue(size_t capacity) : capacity_(capacity) {}

  // kResourceExhausted when full; kAlreadyExists when the job is already queued. `order` breaks
  // ties between equal priorities (lower first): the job's store sequence number.
  Status Push(const std::string& job_id, int priority, int64_t order);
  // Jobs recovered after a restart were accepted before: they are queued even past capacity.
  // `runs_before` (runs interrupted by a stop) puts a job behind those of its priority that
  // never ran: one that may be what stops the server is never retried ahead of the others.
  void PushRecovered(const std::string& job_id, int priority, int64_t order, int runs_before = 0);
  std::optional<std::string> Pop();
  // True when the job was waiting and is now removed.
  bool Remove(const std::string& job_id);

  bool Contains(const std::string& job_id) const { return index_.count(job_id) > 0; }
  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }
  bool full() const { return entries_.size() >= capacity_; }

 private:
  // Sorted so that begin() is the next job: (-priority, runs_before, order, id).
  using Entry = std::tuple<int, int, int64_t, std::string>;
  size_t capacity_;
  std::set<Entry> entries_;
  std::map<std::string, Entry> index_;
};

}  // namespace graphopt::server
