// JobManager on a PostgreSQL store shared by two managers, each standing for one replica (a
// scripted runner instead of the optimizer): work created on one replica is claimed by the other
// when it has a free worker; a watcher on one replica follows a run on the other; a cancel on one
// stops the run on the other; a replica shutting down hands its running job over; a dead
// replica's job comes back after its lease; the queue limit counts every replica's jobs.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "postgres/postgres_test_fixture.h"
#include "server/jobs/job_manager.h"
#include "server/store/file_blob_store.h"
#include "support/scripted_job_runner.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using namespace std::chrono_literals;
using server::CreateJobParams;
using server::JobEventRecord;
using server::JobEventType;
using server::JobManager;
using server::JobRecord;
using server::JobState;
using server::PostgresJobStore;

class SharedQueueTest : public PostgresStoreTest {
 protected:
  void SetUp() override {
    PostgresStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    dir_ = TempDir();
    store_a_ = OpenStore();
    store_b_ = OpenStore();
    ASSERT_TRUE(store_a_ && store_b_);
    blobs_ = std::move(server::FileBlobStore::Create(dir_ + "/blobs")).value();
    auto writer = blobs_->NewWriter();
    ASSERT_TRUE((*writer)->Append("model-bytes").ok());
    model_digest_ = (*writer)->Commit()->digest;
    ASSERT_TRUE(store_a_->PutModel({model_digest_, "m.onnx", 11, 1, server::NowMillis()}).ok());
  }

  // One replica: its own manager and connections, the shared database and blob folder.
  std::unique_ptr<JobManager> NewReplica(PostgresJobStore& store, const std::string& owner,
                                         size_t queue_capacity = 16) {
    server::JobManagerOptions options;
    options.workers = 1;
    options.queue_capacity = queue_capacity;
    options.work_dir = dir_ + "/work-" + owner;
    options.shared.store = &store;
    options.shared.owner = owner;
    options.shared.lease = 600ms;  // renewed every 200 ms
    options.shared.poll = 100ms;
    auto manager = std::make_unique<JobManager>(store, *blobs_, runner_, nullptr, options);
    EXPECT_TRUE(manager->Start().ok());
    return manager;
  }

  CreateJobParams Params(const std::string& mode) {
    CreateJobParams p;
    p.model_digest = model_digest_;
    p.options.target = mode;
    p.fresh = true;
    return p;
  }

  JobRecord WaitFor(JobManager& manager, const std::string& id,
                    const std::function<bool(const JobRecord&)>& done) {
    for (int i = 0; i < 2000; ++i) {
      auto job = manager.GetJob(id);
      if (job.ok() && done(*job)) return *job;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "job " << id << " did not reach the awaited state";
    return {};
  }
  JobRecord WaitDone(JobManager& manager, const std::string& id) {
    return WaitFor(manager, id, [](const JobRecord& j) { return server::IsTerminal(j.state); });
  }
  // Running and inside its first pass.
  JobRecord WaitRunning(JobManager& manager, const std::string& id) {
    return WaitFor(manager, id, [](const JobRecord& j) {
      return j.state == JobState::kRunning && !j.progress.pass_name.empty();
    });
  }
  bool WaitIdle(JobManager& manager) {
    for (int i = 0; i < 1000 && manager.busy_workers() > 0; ++i) std::this_thread::sleep_for(5ms);
    return manager.busy_workers() == 0;
  }
  int CountEvents(const std::string& id, JobEventType type) {
    int n = 0;
    for (const auto& e : store_a_->ListEvents(id).value()) n += e.type == type;
    return n;
  }
  // Starts a "block" job on `manager` and waits until it occupies that replica's one worker.
  std::string Occupy(JobManager& manager) {
    auto blocker = manager.CreateJob(Params("block"));
    EXPECT_TRUE(blocker.ok());
    if (!blocker.ok()) return "";
    for (int i = 0; i < 2000 && manager.busy_workers() == 0; ++i) {
      std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(manager.busy_workers(), 1);
    return blocker->id;
  }

  std::string dir_;
  std::unique_ptr<PostgresJobStore> store_a_, store_b_;
  std::unique_ptr<server::FileBlobStore> blobs_;
  server::ScriptedRunner runner_;
  std::string model_digest_;
};

TEST_F(SharedQueueTest, JobsFromBothReplicasRunExactlyOnce) {
  auto a = NewReplica(*store_a_, "a");
  auto b = NewReplica(*store_b_, "b");
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) {
    auto job = (i % 2 ? *a : *b).CreateJob(Params("ok"));
    ASSERT_TRUE(job.ok()) << job.status().ToString();
    ids.push_back(job->id);
  }
  for (const auto& id : ids) {
    const JobRecord done = WaitDone(*a, id);
    EXPECT_EQ(done.state, JobState::kSucceeded) << done.error_message;
    EXPECT_EQ(done.attempts, 1);
    EXPECT_FALSE(done.artifact_digest.empty());
    EXPECT_EQ(CountEvents(id, JobEventType::kStarted), 1) << id;
    EXPECT_EQ(CountEvents(id, JobEventType::kSucceeded), 1) << id;
  }
  EXPECT_EQ(runner_.runs.load(), 12);
  EXPECT_EQ(a->queue_depth(), 0u);
}

TEST_F(SharedQueueTest, AJobQueuedOnABusyReplicaRunsOnAFreeOne) {
  auto a = NewReplica(*store_a_, "a");
  const std::string blocker = Occupy(*a);
  auto b = NewReplica(*store_b_, "b");
  auto job = a->CreateJob(Params("ok"));
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(WaitDone(*a, job->id).state, JobState::kSucceeded);
  EXPECT_EQ(a->busy_workers(), 1);  // a's only worker never left the blocker
  ASSERT_TRUE(a->CancelJob(blocker).ok());
  EXPECT_TRUE(WaitIdle(*a));
}

TEST_F(SharedQueueTest, AWatcherOnOneReplicaFollowsTheRunOnAnother) {
  auto a = NewReplica(*store_a_, "a");
  const std::string blocker = Occupy(*a);
  auto b = NewReplica(*store_b_, "b");
  const std::string second_blocker = Occupy(*b);
  auto job = a->CreateJob(Params("ok"));  // waits: both replicas are busy
  ASSERT_TRUE(job.ok());

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<JobEventType, bool>> seen;
  std::vector<std::string> passes;
  JobRecord last;
  auto subscription =
      a->Watch(job->id, [&](const JobEventRecord& e, const JobRecord& j, bool snapshot) {
        std::lock_guard lock(mu);
        seen.push_back({e.type, snapshot});
        if (e.type == JobEventType::kPass) passes.push_back(e.progress.pass_name);
        last = j;
        cv.notify_all();
      });
  ASSERT_TRUE(subscription.ok()) << subscription.status().ToString();
  ASSERT_TRUE(b->CancelJob(second_blocker).ok());  // frees b's worker: b runs the job
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return server::IsTerminal(last.state); }));
  }
  EXPECT_EQ(a->busy_workers(), 1);  // so b ran it
  ASSERT_GE(seen.size(), 7u);
  EXPECT_EQ(seen.front(), std::make_pair(JobEventType::kQueued, true));
  EXPECT_EQ(seen[1].first, JobEventType::kStarted);
  EXPECT_EQ(passes, (std::vector<std::string>{"pass_1", "pass_2", "pass_3"}));
  EXPECT_EQ(seen[seen.size() - 2].first, JobEventType::kVerifying);
  EXPECT_EQ(seen.back().first, JobEventType::kSucceeded);
  EXPECT_FALSE(last.artifact_digest.empty());  // the terminal event carries the whole job
  EXPECT_EQ(last.nodes_after, 3);
  ASSERT_TRUE(a->CancelJob(blocker).ok());
}

TEST_F(SharedQueueTest, ACancelOnOneReplicaStopsTheRunOnAnother) {
  auto b = NewReplica(*store_b_, "b");
  const std::string id = Occupy(*b);
  WaitRunning(*b, id);
  auto a = NewReplica(*store_a_, "a");
  auto cancelled = a->CancelJob(id);
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_EQ(cancelled->state, JobState::kCancelled);  // at once, in the shared store
  EXPECT_EQ(cancelled->error_message, "cancelled by request while running");
  // b learns it at its next renewal and stops, writing nothing.
  EXPECT_TRUE(WaitIdle(*b));
  EXPECT_EQ(b->GetJob(id)->state, JobState::kCancelled);
  EXPECT_EQ(CountEvents(id, JobEventType::kCancelled), 1);
  EXPECT_EQ(CountEvents(id, JobEventType::kSucceeded) + CountEvents(id, JobEventType::kFailed), 0);
  EXPECT_EQ(a->CancelJob(id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a->CancelJob("job-none").status().code(), StatusCode::kNotFound);

  auto queued = a->CreateJob(Params("ok"));  // b is free again, so cancel before it starts:
  ASSERT_TRUE(queued.ok());
  auto cancel_queued = b->CancelJob(queued->id);
  if (cancel_queued.ok()) {
    EXPECT_EQ(cancel_queued->state, JobState::kCancelled);
  } else {
    // b (or a) claimed and finished it first: the cancel must say so, not pretend.
    EXPECT_EQ(cancel_queued.status().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(server::IsTerminal(WaitDone(*a, queued->id).state));
}

TEST_F(SharedQueueTest, AReplicaShuttingDownHandsItsRunningJobOver) {
  auto b = NewReplica(*store_b_, "b");
  const std::string id = Occupy(*b);
  WaitRunning(*b, id);
  auto a = NewReplica(*store_a_, "a");
  EXPECT_TRUE(b->Shutdown(0ms));  // no grace: stopped at the pass boundary and released
  const JobRecord moved =
      WaitFor(*a, id, [](const JobRecord& j) { return j.state == JobState::kRunning; });
  EXPECT_EQ(moved.attempts, 2);
  EXPECT_EQ(CountEvents(id, JobEventType::kRequeued), 1);
  EXPECT_EQ(CountEvents(id, JobEventType::kStarted), 2);
  for (int i = 0; i < 400 && a->busy_workers() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(a->busy_workers(), 1);
  ASSERT_TRUE(a->CancelJob(id).ok());
  EXPECT_TRUE(WaitIdle(*a));
}

TEST_F(SharedQueueTest, ADeadReplicasJobRunsAgainAfterItsLease) {
  JobRecord job;
  job.id = "job-of-a-dead-replica";
  job.state = JobState::kQueued;
  job.model_digest = model_digest_;
  job.options.target = "ok";
  job.result_key = "rk";
  job.request_key = "rq";
  job.created_at_ms = server::NowMillis();
  ASSERT_TRUE(store_a_->InsertJob(job).ok());
  // Claimed by a replica that dies at once: nobody renews its 300 ms lease.
  auto claimed = store_b_->ClaimNextJob("dead", 300ms);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());

  auto a = NewReplica(*store_a_, "a");
  const JobRecord done = WaitDone(*a, job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded) << done.error_message;
  EXPECT_EQ(done.attempts, 2);
  EXPECT_EQ(CountEvents(job.id, JobEventType::kRequeued), 1);
}

TEST_F(SharedQueueTest, TheQueueLimitCountsEveryReplicasJobs) {
  auto a = NewReplica(*store_a_, "a", /*queue_capacity=*/2);
  const std::string blocker_a = Occupy(*a);
  auto b = NewReplica(*store_b_, "b", /*queue_capacity=*/2);
  const std::string blocker_b = Occupy(*b);
  ASSERT_TRUE(a->CreateJob(Params("ok")).ok());
  ASSERT_TRUE(a->CreateJob(Params("ok")).ok());
  EXPECT_EQ(b->CreateJob(Params("ok")).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b->queue_depth(), 2u);
  ASSERT_TRUE(a->CancelJob(blocker_a).ok());
  ASSERT_TRUE(b->CancelJob(blocker_b).ok());
}

}  // namespace
}  // namespace graphopt::testing
