// LeaseKeeper: the background half of a replica's part in the shared queue. It renews the
// leases of the jobs this replica holds (every lease/3), tells the owner of a job whose lease was
// lost (cancelled elsewhere, or re-queued after a stall) so the worker stops at the next pass
// boundary, and re-queues jobs whose lease expired on any replica (a dead replica's jobs).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "server/store/leased_job_store.h"

namespace graphopt::server {

struct LeaseKeeperOptions {
  std::string owner;  // this replica's id (DefaultReplicaId() or the pod name)
  std::chrono::milliseconds lease{30000};
  int max_attempts = 3;  // a job whose lease expired this often fails instead of re-queueing
};

class LeaseKeeper {
 public:
  // `on_lost(job_id)` runs on the keeper's thread when a held job is no longer this replica's;
  // `on_requeued(ids)` after a sweep re-queued jobs (wake the claiming workers).
  LeaseKeeper(LeasedJobStore& store, LeaseKeeperOptions options,
              std::function<void(const std::string&)> on_lost,
              std::function<void(const std::vector<std::string>&)> on_requeued = nullptr);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // Starts the renewal/sweep thread.
  void Start();
  // Stops it (also done by the destructor). Held jobs keep their leases until they expire;
  // release them first on a graceful shutdown.
  void Stop();

  // A job this replica claimed (ClaimNextJob) / no longer works on (finished or released).
  void Hold(const std::string& job_id);
  void Drop(const std::string& job_id);
  std::set<std::string> held() const;

  // One round, now: renew every held lease, then re-queue expired ones. Returns the re-queued
  // ids. The thread calls this; tests call it directly.
  std::vector<std::string> RunOnce();

 private:
  void Loop();

  LeasedJobStore& store_;
  LeaseKeeperOptions options_;
  std::function<void(const std::string&)> on_lost_;
  std::function<void(const std::vector<std::string>&)> on_requeued_;

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::set<std::string> held_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace graphopt::server
