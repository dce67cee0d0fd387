// Lease renewal and expired-lease sweeping for the shared queue (see lease_keeper.h).
#include "server/store/lease_keeper.h"

namespace graphopt::server {

LeaseKeeper::LeaseKeeper(LeasedJobStore& store, LeaseKeeperOptions options,
                         std::function<void(const std::string&)> on_lost,
                         std::function<void(const std::vector<std::string>&)> on_requeued)
    : store_(store),
      options_(std::move(options)),
      on_lost_(std::move(on_lost)),
      on_requeued_(std::move(on_requeued)) {}

LeaseKeeper::~LeaseKeeper() { Stop(); }

void LeaseKeeper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void LeaseKeeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LeaseKeeper::Hold(const std::string& job_id) {
  std::lock_guard lock(mu_);
  held_.insert(job_id);
}

void LeaseKeeper::Drop(const std::string& job_id) {
  std::lock_guard lock(mu_);
  held_.erase(job_id);
}

std::set<std::string> LeaseKeeper::held() const {
  std::lock_guard lock(mu_);
  return held_;
}

std::vector<std::string> LeaseKeeper::RunOnce() {
  for (const std::string& id : held()) {
    const Status renewed = store_.RenewLease(id, options_.owner, options_.lease);
    if (renewed.code() == StatusCode::kFailedPrecondition) {
      Drop(id);
      if (on_lost_) on_lost_(id);
    }
    // Other errors (database briefly unreachable) are retried next round: a lease is three
    // rounds long, so one failed renewal does not lose the job.
  }
  auto requeued = store_.RequeueExpiredLeases(options_.max_attempts);
  if (!requeued.ok() || requeued->empty()) return {};
  if (on_requeued_) on_requeued_(*requeued);
  return *requeued;
}

void LeaseKeeper::Loop() {
  const auto period = std::max(options_.lease / 3, std::chrono::milliseconds(10));
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    RunOnce();
    lock.lock();
    wake_.wait_for(lock, period, [&] { return stopping_; });
  }
}

}  // namespace graphopt::server
