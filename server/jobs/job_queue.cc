// Bounded priority queue of job ids.
#include "server/jobs/job_queue.h"

namespace graphopt::server {

Status JobQueue::Push(const std::string& job_id, int priority, int64_t order) {
  if (index_.count(job_id)) return {StatusCode::kAlreadyExists, "job " + job_id + " is queued"};
  if (full()) {
    return ResourceExhausted("the job queue is full (" + std::to_string(capacity_) +
                             " jobs waiting); retry later");
  }
  PushRecovered(job_id, priority, order);
  return Status::Ok();
}

void JobQueue::PushRecovered(const std::string& job_id, int priority, int64_t order,
                             int runs_before) {
  if (index_.count(job_id)) return;
  Entry entry{-priority, runs_before, order, job_id};
  entries_.insert(entry);
  index_.emplace(job_id, entry);
}

std::optional<std::string> JobQueue::Pop() {
  if (entries_.empty()) return std::nullopt;
  std::string id = std::get<3>(*entries_.begin());
  entries_.erase(entries_.begin());
  index_.erase(id);
  return id;
}

bool JobQueue::Remove(const std::string& job_id) {
  auto it = index_.find(job_id);
  if (it == index_.end()) return false;
  entries_.erase(it->second);
  index_.erase(it);
  return true;
}

}  // namespace graphopt::server
