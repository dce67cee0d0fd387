// StoreEventFeed: delivers the events of jobs in a store shared by several replicas to the
// watchers connected to this replica, whichever replica wrote them. One thread follows the
// store's event notifications (LeasedJobStore::WaitForEvents) and reads the new events of the
// watched jobs; the events table is the source of truth, so a lost notification only delays an
// event. On quiet rounds it also re-reads the watched jobs, so a job that became terminal without
// its event (a crash between the two writes) still ends its watchers.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "server/jobs/job_listener.h"
#include "server/store/job_store.h"
#include "server/store/leased_job_store.h"

namespace graphopt::server {

class StoreEventFeed {
 public:
  // `on_store_event` runs on the feed's thread after every wake-up by a notification (any job,
  // any replica): the job manager uses it to look for queued work without a thread of its own.
  StoreEventFeed(JobStore& jobs, LeasedJobStore& shared, std::chrono::milliseconds poll,
                 std::function<void()> on_store_event);
  ~StoreEventFeed();
  StoreEventFeed(const StoreEventFeed&) = delete;
  StoreEventFeed& operator=(const StoreEventFeed&) = delete;

  void Start();
  void Stop();

  // The id of the newest stored event of `job_id` (0 when none): read it before the job's
  // snapshot, then Add from it, and no event falls between the two.
  Result<int64_t> LastEventId(const std::string& job_id);
  // Calls `listener` with the snapshot of `job` (not terminal), then with every event of the
  // job after `after_event_id` until its terminal one. Returns the token for Remove.
  int64_t Add(const JobRecord& job, int64_t after_event_id, JobListener listener);
  void Remove(const std::string& job_id, int64_t token);

  // One round now: deliver what is new; with `check_states`, also end watches of jobs that are
  // terminal in the store. The thread calls it; tests may too.
  void RunOnce(bool check_states);

 private:
  struct Watched {
    int64_t after_event_id = 0;
    JobRecord job;  // as of the last event delivered
    std::map<int64_t, JobListener> listeners;
  };
  void Loop();
  void DeliverLocked(Watched& watched, const JobEventRecord& event);

  JobStore& jobs_;
  LeasedJobStore& shared_;
  std::chrono::milliseconds poll_;
  std::function<void()> on_store_event_;

  std::mutex mu_;
  std::map<std::string, Watched> watched_;
  int64_t next_token_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace graphopt::server
