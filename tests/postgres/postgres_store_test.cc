// The PostgreSQL stores against a real PostgreSQL server: migrations under concurrency, claim
// exclusivity across two store instances (as two replicas would hold), lease expiry and
// re-queueing, idempotent finish, events seen across instances, byte-identical blobs.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "clients/client_server_fixture.h"
#include "postgres/postgres_test_fixture.h"
#include "server/store/postgres_blob_store.h"
#include "server/store/postgres_job_store.h"
#include "server/store/postgres_schema.h"
#include "server/store/sha256.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using server::JobEventRecord;
using server::JobEventType;
using server::JobRecord;
using server::JobState;
using server::PostgresJobStore;
using namespace std::chrono_literals;

TEST_F(PostgresStoreTest, ConcurrentMigratorsApplyEachMigrationOnce) {
  constexpr int kMigrators = 6;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(kMigrators);
  std::atomic<bool> go{false};
  for (int i = 0; i < kMigrators; ++i) {
    threads.emplace_back([&, i] {
      auto conn = server::PgConnection::Connect(dsn_);
      if (!conn.ok()) {
        errors[i] = conn.status().ToString();
        return;
      }
      while (!go) std::this_thread::yield();
      Status st = server::MigratePostgresSchema(**conn);
      if (!st.ok()) errors[i] = st.ToString();
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  for (const auto& e : errors) EXPECT_EQ(e, "");

  auto conn = server::PgConnection::Connect(dsn_);
  ASSERT_TRUE(conn.ok());
  auto version = server::PostgresSchemaVersion(**conn);
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, server::LatestPostgresSchemaVersion());
  auto rows = (*conn)->Exec(
      "SELECT COUNT(*), COUNT(DISTINCT version) FROM "
      "graphopt_schema_migrations");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->Int(0, 0), server::LatestPostgresSchemaVersion());
  EXPECT_EQ(rows->Int(0, 1), server::LatestPostgresSchemaVersion());
  // Again, on the migrated database: nothing to do, still fine; a store opens on it.
  EXPECT_TRUE(server::MigratePostgresSchema(**conn).ok());
  EXPECT_NE(OpenStore(), nullptr);
}

TEST_F(PostgresStoreTest, RefusesADatabaseNewerThanTheBuild) {
  ASSERT_NE(OpenStore(), nullptr);
  auto conn = server::PgConnection::Connect(dsn_);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)
                  ->ExecScript("INSERT INTO graphopt_schema_migrations (version, "
                               "description) VALUES (999, 'from the future')")
                  .ok());
  server::PostgresStoreOptions options;
  options.dsn = dsn_;
  auto store = PostgresJobStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition) << store.status().ToString();
}

TEST_F(PostgresStoreTest, StoresAndListsJobsLikeTheJobStoreContract) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  server::ModelRecord model{"sha256:" + std::string(64, 'c'), "m.onnx", 123, 1, 5};
  ASSERT_TRUE(store->PutModel(model).ok());
  model.file_name = "renamed.onnx";
  ASSERT_TRUE(store->PutModel(model).ok());  // same digest: first record kept
  auto got_model = store->GetModel(model.digest);
  ASSERT_TRUE(got_model.ok());
  EXPECT_EQ(got_model->file_name, "m.onnx");
  EXPECT_EQ(got_model->size, 123);
  EXPECT_EQ(store->GetModel("sha256:none").status().code(), StatusCode::kNotFound);

  std::vector<int64_t> seqs;
  for (int i = 0; i < 5; ++i) {
    JobRecord j = NewJob("job-" + std::to_string(i));
    if (i == 2) j.idempotency_key = "key-2";
    auto inserted = store->InsertJob(j);
    ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
    seqs.push_back(inserted->seq);
  }
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  JobRecord dup = NewJob("job-dup");
  dup.idempotency_key = "key-2";
  EXPECT_EQ(store->InsertJob(dup).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store->InsertJob(NewJob("job-0")).status().code(), StatusCode::kAlreadyExists);

  auto job = store->GetJob("job-3");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->options.level, "extended");
  EXPECT_EQ(job->options.dims.at("batch"), 4);
  EXPECT_EQ(*job->options.atol, 1e-4);
  EXPECT_EQ(job->external_data.at("weights.bin"), "sha256:" + std::string(64, 'b'));
  EXPECT_EQ(store->GetJob("nope").status().code(), StatusCode::kNotFound);
  auto by_key = store->FindJobByIdempotencyKey("key-2");
  ASSERT_TRUE(by_key.ok() && by_key->has_value());
  EXPECT_EQ((*by_key)->id, "job-2");

  // Pages of two, newest first, then a filtered listing.
  server::JobListQuery query;
  query.page_size = 2;
  std::vector<std::string> listed;
  do {
    auto page = store->ListJobs(query);
    ASSERT_TRUE(page.ok());
    for (const auto& j : page->jobs) listed.push_back(j.id);
    query.before_seq = page->next_before_seq;
  } while (query.before_seq != 0);
  EXPECT_EQ(listed, (std::vector<std::string>{"job-4", "job-3", "job-2", "job-1", "job-0"}));

  JobRecord done = *store->GetJob("job-1");
  done.state = JobState::kSucceeded;
  done.artifact_digest = "sha256:art";
  ASSERT_TRUE(store->UpdateJob(done).ok());
  auto succeeded = store->FindSucceededJob("rk-job-1");
  ASSERT_TRUE(succeeded.ok() && succeeded->has_value());
  EXPECT_EQ((*succeeded)->artifact_digest, "sha256:art");
  server::JobListQuery only_succeeded;
  only_succeeded.state = JobState::kSucceeded;
  auto page = store->ListJobs(only_succeeded);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, "job-1");
  auto unfinished = store->ListUnfinishedJobs();
  ASSERT_TRUE(unfinished.ok());
  EXPECT_EQ(unfinished->size(), 4u);
  JobRecord ghost = NewJob("ghost");
  EXPECT_EQ(store->UpdateJob(ghost).code(), StatusCode::kNotFound);
}

// Two store instances (two replicas), two claiming threads each, many jobs: each job is claimed
// exactly once, and the queue drains completely.
TEST_F(PostgresStoreTest, EveryJobIsClaimedExactlyOnceAcrossInstances) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  constexpr int kJobs = 120;
  for (int i = 0; i < kJobs; ++i) {
    ASSERT_TRUE(((i % 2) ? a : b)->InsertJob(NewJob("c" + std::to_string(i))).ok());
  }
  std::mutex mu;
  std::map<std::string, int> claims;
  std::map<std::string, std::string> owner_of;
  std::vector<std::thread> workers;
  std::atomic<int> errors{0};
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      PostgresJobStore& store = (w % 2) ? *a : *b;
      const std::string owner = "replica-" + std::to_string(w);
      while (true) {
        auto claimed = store.ClaimNextJob(owner, 60s);
        if (!claimed.ok()) {
          ++errors;
          return;
        }
        if (!claimed->has_value()) return;
        std::lock_guard lock(mu);
        ++claims[(*claimed)->id];
        owner_of[(*claimed)->id] = owner;
        EXPECT_EQ((*claimed)->state, JobState::kRunning);
        EXPECT_EQ((*claimed)->attempts, 1);
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << id << " claimed " << n << " times";
  // The leases are held: renewing works for the owner, not for anyone else.
  const auto& [id, owner] = *owner_of.begin();
  EXPECT_TRUE(a->RenewLease(id, owner, 60s).ok());
  EXPECT_EQ(b->RenewLease(id, "someone-else", 60s).code(), StatusCode::kFailedPrecondition);
  // Nothing is re-queued while leases are live, and a restarting replica does not take them.
  auto requeued = b->RequeueExpiredLeases(3);
  ASSERT_TRUE(requeued.ok());
  EXPECT_TRUE(requeued->empty());
  auto unfinished = a->ListUnfinishedJobs();
  ASSERT_TRUE(unfinished.ok());
  EXPECT_TRUE(unfinished->empty());
}

TEST_F(PostgresStoreTest, EnqueueAndClaimWriteTheirEventsWithTheState) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  auto queued = store->EnqueueJob(NewJob("evented"));
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  EXPECT_GT(queued->seq, 0);
  auto events = store->ListEvents("evented");
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().type, JobEventType::kQueued);
  EXPECT_EQ(store->EnqueueJob(NewJob("evented")).status().code(), StatusCode::kAlreadyExists);
  JobRecord running = NewJob("not-queued");
  running.state = JobState::kRunning;
  EXPECT_EQ(store->EnqueueJob(running).status().code(), StatusCode::kInvalidArgument);

  auto claimed = store->ClaimNextJob("r", 60s);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->state, JobState::kRunning);
  events = store->ListEvents("evented");
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->back().type, JobEventType::kStarted);
  EXPECT_EQ(events->back().state, JobState::kRunning);
  EXPECT_EQ(store->ListEvents("evented")->size(), 2u);  // one started event per claim
}

TEST_F(PostgresStoreTest, ProgressEventsOfABatchArriveInOrderWithEveryField) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<JobEventRecord> batch;
  for (int i = 1; i <= 3; ++i) {
    JobEventRecord e;
    e.job_id = i < 3 ? "job-a" : "job-b";
    e.type = i < 3 ? JobEventType::kPass : JobEventType::kVerifying;
    e.time_ms = 1700000000000 + i;
    e.state = JobState::kRunning;
    e.progress = {"optimizing", i, 3, "pass \"" + std::to_string(i) + "\"'"};
    batch.push_back(e);
  }
  ASSERT_TRUE(store->AppendProgressEvents(batch).ok());
  ASSERT_TRUE(store->AppendProgressEvents({}).ok());
  auto events = store->ListEventsOfJobsAfter({"job-a", "job-b"}, 0);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const JobEventRecord& e = (*events)[i].event;
    EXPECT_EQ(e.job_id, batch[i].job_id);
    EXPECT_EQ(e.type, batch[i].type);
    EXPECT_EQ(e.time_ms, batch[i].time_ms);
    EXPECT_EQ(e.progress.pass_index, i + 1);
    EXPECT_EQ(e.progress.pass_name, batch[i].progress.pass_name);
    if (i > 0) EXPECT_GT((*events)[i].id, (*events)[i - 1].id);
  }
  EXPECT_EQ(store->ListEventsOfJobsAfter({"job-b"}, 0)->size(), 1u);
  EXPECT_EQ(store->ListEventsOfJobsAfter({"job-a"}, (*events)[0].id)->size(), 1u);
}

TEST_F(PostgresStoreTest, ClaimsHigherPriorityFirstThenOldest) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertJob(NewJob("low-old", 0)).ok());
  ASSERT_TRUE(store->InsertJob(NewJob("high", 5)).ok());
  ASSERT_TRUE(store->InsertJob(NewJob("low-new", 0)).ok());
  std::vector<std::string> order;
  while (true) {
    auto claimed = store->ClaimNextJob("r", 60s);
    ASSERT_TRUE(claimed.ok());
    if (!claimed->has_value()) break;
    order.push_back((*claimed)->id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"high", "low-old", "low-new"}));
  EXPECT_EQ(*store->CountQueuedJobs(), 0);
  ASSERT_TRUE(store->InsertJob(NewJob("waiting")).ok());
  EXPECT_EQ(*store->CountQueuedJobs(), 1);
}

// A replica that stops renewing loses its job to another replica's sweep; the job runs again
// elsewhere and the first replica learns it no longer holds it.
TEST_F(PostgresStoreTest, ExpiredLeaseIsRequeuedByAnotherInstance) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->InsertJob(NewJob("crashy")).ok());
  ASSERT_TRUE(a->InsertJob(NewJob("healthy")).ok());
  auto first = a->ClaimNextJob("replica-a", 1ms);  // a lease that lapses at once
  auto second = a->ClaimNextJob("replica-a", 600s);
  ASSERT_TRUE(first.ok() && first->has_value() && second.ok() && second->has_value());
  ASSERT_EQ((*first)->id, "crashy");

  std::vector<std::string> requeued;
  for (int i = 0; i < 200 && requeued.empty(); ++i) {  // the database clock must pass 1 ms
    auto r = b->RequeueExpiredLeases(3);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    requeued = *r;
    if (requeued.empty()) std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(requeued, std::vector<std::string>{"crashy"});
  EXPECT_EQ(a->RenewLease("crashy", "replica-a", 60s).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(a->RenewLease("healthy", "replica-a", 60s).ok());

  auto job = b->GetJob("crashy");
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->state, JobState::kQueued);
  auto events = b->ListEvents("crashy");
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->back().type, JobEventType::kRequeued);

  auto again = b->ClaimNextJob("replica-b", 600s);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->id, "crashy");
  EXPECT_EQ((*again)->attempts, 2);
}

// Poison jobs: a job whose replica stopped while running it may be what stops replicas; it
// runs again only after the jobs of its priority that never ran.
TEST_F(PostgresStoreTest, RequeuedJobWaitsBehindJobsThatNeverRan) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertJob(NewJob("crashy")).ok());
  auto first = store->ClaimNextJob("r", 1ms);
  ASSERT_TRUE(first.ok() && first->has_value());
  ASSERT_TRUE(store->InsertJob(NewJob("newer")).ok());
  ASSERT_TRUE(store->InsertJob(NewJob("urgent-crashy-peer", 5)).ok());
  for (int i = 0; i < 200 && store->GetJob("crashy")->state == JobState::kRunning; ++i) {
    ASSERT_TRUE(store->RequeueExpiredLeases(3).ok());
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(store->GetJob("crashy")->state, JobState::kQueued);
  std::vector<std::string> order;
  while (true) {
    auto claimed = store->ClaimNextJob("r", 60s);
    ASSERT_TRUE(claimed.ok());
    if (!claimed->has_value()) break;
    order.push_back((*claimed)->id);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"urgent-crashy-peer", "newer", "crashy"}));
}

TEST_F(PostgresStoreTest, JobWhoseLeaseExpiresTooOftenFails) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertJob(NewJob("killer")).ok());
  int failed_after = 0;
  for (int attempt = 1; attempt <= 3 && failed_after == 0; ++attempt) {
    auto claimed = store->ClaimNextJob("r", 1ms);
    ASSERT_TRUE(claimed.ok() && claimed->has_value()) << "attempt " << attempt;
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(store->RequeueExpiredLeases(/*max_attempts=*/2).ok());
      auto job = store->GetJob("killer");
      ASSERT_TRUE(job.ok());
      if (job->state == JobState::kFailed) failed_after = attempt;
      if (job->state != JobState::kRunning) break;
      std::this_thread::sleep_for(5ms);
    }
  }
  EXPECT_EQ(failed_after, 2);
  auto job = store->GetJob("killer");
  EXPECT_EQ(job->error_code, "INTERNAL");
  auto events = store->ListEvents("killer");
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->back().type, JobEventType::kFailed);
}

TEST_F(PostgresStoreTest, FinishingTwiceKeepsTheFirstResult) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->InsertJob(NewJob("twice")).ok());
  auto claimed = a->ClaimNextJob("replica-a", 60s);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());

  JobRecord first = **claimed;
  first.state = JobState::kSucceeded;
  first.artifact_digest = "sha256:first";
  first.nodes_after = 7;
  auto outcome = a->FinishJob(first);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(outcome->finished_by_this_call);
  EXPECT_EQ(outcome->previous, JobState::kRunning);
  EXPECT_EQ(outcome->stored.artifact_digest, "sha256:first");

  JobRecord second = **claimed;
  second.state = JobState::kFailed;
  second.error_code = "INTERNAL";
  auto again = b->FinishJob(second);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->finished_by_this_call);
  EXPECT_EQ(again->stored.state, JobState::kSucceeded);
  EXPECT_EQ(again->stored.artifact_digest, "sha256:first");
  // The claim wrote its started event, the first finish its terminal one; the second nothing.
  auto events = b->ListEvents("twice");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ(events->front().type, JobEventType::kStarted);
  EXPECT_EQ(events->back().type, JobEventType::kSucceeded);
  EXPECT_EQ(events->back().state, JobState::kSucceeded);

  // A late progress write cannot revive it either, and the lease is gone.
  JobRecord late = **claimed;
  late.progress.stage = "verifying";
  EXPECT_TRUE(b->UpdateJob(late).ok());
  auto stored = b->GetJob("twice");
  EXPECT_EQ(stored->state, JobState::kSucceeded);
  EXPECT_EQ(stored->nodes_after, 7);
  EXPECT_EQ(a->RenewLease("twice", "replica-a", 60s).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(a->FinishJob(**claimed).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, CancelledWhileRunningStaysCancelled) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->InsertJob(NewJob("cancel-me")).ok());
  auto claimed = a->ClaimNextJob("replica-a", 60s);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  // The cancel arrives at replica B, which writes the terminal state and its event at once.
  auto cancelled = b->CancelJob("cancel-me");
  ASSERT_TRUE(cancelled.ok()) << cancelled.status().ToString();
  EXPECT_TRUE(cancelled->finished_by_this_call);
  EXPECT_EQ(cancelled->previous, JobState::kRunning);
  EXPECT_EQ(cancelled->stored.state, JobState::kCancelled);
  EXPECT_EQ(cancelled->stored.error_message, "cancelled by request while running");
  EXPECT_EQ(cancelled->stored.attempts, 1);  // the claim's fields are kept
  EXPECT_EQ(a->ListEvents("cancel-me")->back().type, JobEventType::kCancelled);
  // Replica A notices at its next renewal and its finish changes nothing.
  EXPECT_EQ(a->RenewLease("cancel-me", "replica-a", 60s).code(), StatusCode::kFailedPrecondition);
  JobRecord done = **claimed;
  done.state = JobState::kSucceeded;
  auto outcome = a->FinishJob(done);
  ASSERT_TRUE(outcome.ok());
  EXPECT_FALSE(outcome->finished_by_this_call);
  EXPECT_EQ(outcome->stored.state, JobState::kCancelled);
  // Cancelling again, or an unknown job, says so.
  auto again = a->CancelJob("cancel-me");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->finished_by_this_call);
  EXPECT_EQ(a->CancelJob("no-such-job").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(a->ListEvents("cancel-me")->size(), 2u);  // started, cancelled; nothing else
}

TEST_F(PostgresStoreTest, CancelledWhileQueuedIsNeverClaimed) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertJob(NewJob("queued")).ok());
  auto cancelled = store->CancelJob("queued");
  ASSERT_TRUE(cancelled.ok());
  EXPECT_TRUE(cancelled->finished_by_this_call);
  EXPECT_EQ(cancelled->previous, JobState::kQueued);
  EXPECT_EQ(cancelled->stored.error_message, "cancelled by request while queued");
  auto claimed = store->ClaimNextJob("r", 60s);
  ASSERT_TRUE(claimed.ok());
  EXPECT_FALSE(claimed->has_value());
  EXPECT_EQ(*store->CountQueuedJobs(), 0);
}

TEST_F(PostgresStoreTest, ReleasedJobGoesBackToTheQueue) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->InsertJob(NewJob("released")).ok());
  auto claimed = store->ClaimNextJob("r", 60s);
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_TRUE(store->ReleaseJob("released", "not-the-owner").ok());
  EXPECT_EQ(store->GetJob("released")->state, JobState::kRunning);
  ASSERT_TRUE(store->ReleaseJob("released", "r").ok());
  EXPECT_EQ(store->GetJob("released")->state, JobState::kQueued);
  EXPECT_EQ(store->ListEvents("released")->back().type, JobEventType::kRequeued);
  auto again = store->ClaimNextJob("r2", 60s);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->id, "released");
}

// A watcher on instance B is woken by an event instance A appends (LISTEN/NOTIFY), and reads it.
TEST_F(PostgresStoreTest, EventsAppendedOnOneInstanceWakeWatchersOnAnother) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->InsertJob(NewJob("watched")).ok());
  // Let B's listener connect (its first connection bumps the counter once).
  for (int i = 0; i < 500 && b->EventCounter() == 0; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GT(b->EventCounter(), 0u) << "B's listener never connected";

  const uint64_t seen = b->EventCounter();
  auto before = b->ListEventsAfter("watched", 0);
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());

  std::thread writer([&] {
    std::this_thread::sleep_for(50ms);
    server::JobEventRecord e;
    e.job_id = "watched";
    e.type = JobEventType::kPass;
    e.time_ms = 42;
    e.state = JobState::kRunning;
    e.progress = {"optimizing", 3, 9, "fuse_conv_batchnorm"};
    ASSERT_TRUE(a->AppendEvent(e).ok());
  });
  // Generous timeout: the assertion is that the counter moved (a notification arrived), not
  // how fast.
  b->WaitForEvents(seen, 60s);
  writer.join();
  EXPECT_GT(b->EventCounter(), seen);
  auto after = b->ListEventsAfter("watched", 0);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->size(), 1u);
  const auto& e = (*after)[0].event;
  EXPECT_EQ(e.type, JobEventType::kPass);
  EXPECT_EQ(e.time_ms, 42);
  EXPECT_EQ(e.progress.pass_index, 3);
  EXPECT_EQ(e.progress.pass_count, 9);
  EXPECT_EQ(e.progress.pass_name, "fuse_conv_batchnorm");
  // Reading after the last id returns nothing new.
  auto none = b->ListEventsAfter("watched", (*after)[0].id);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

std::string ReadAll(server::BlobReader& reader) {
  std::string out;
  std::vector<char> buffer(7777);  // deliberately not a divisor of the chunk size
  while (true) {
    auto n = reader.Read(buffer.data(), buffer.size());
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(buffer.data(), *n);
  }
  return out;
}

TEST_F(PostgresStoreTest, BlobsRoundTripByteIdenticalAcrossInstances) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  const std::string spool_a = TempDir() + "/spool-a";
  auto blobs_a = server::PostgresBlobStore::Create(a->pool(), spool_a, 1 << 16);
  auto blobs_b = server::PostgresBlobStore::Create(b->pool(), TempDir() + "/spool-b");
  ASSERT_TRUE(blobs_a.ok() && blobs_b.ok()) << blobs_a.status().ToString();

  const std::string bytes = RandomBytes((3 << 16) + 12345, 7);  // 3 full chunks and a part
  auto writer = (*blobs_a)->NewWriter();
  ASSERT_TRUE(writer.ok());
  for (size_t at = 0; at < bytes.size(); at += 10000) {
    ASSERT_TRUE((*writer)->Append(std::string_view(bytes).substr(at, 10000)).ok());
  }
  const std::string expected_digest = server::DigestFromHex(server::Sha256Hex(bytes));
  EXPECT_EQ((*writer)->Digest(), expected_digest);
  auto back = (*writer)->ReadBack();
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(ReadAll(**back), bytes);
  EXPECT_FALSE((*blobs_b)->Contains(expected_digest));  // not visible before Commit
  auto info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, expected_digest);
  EXPECT_EQ(info->size, static_cast<int64_t>(bytes.size()));

  // Read on the other instance, in pieces that straddle chunk boundaries, and as a file.
  EXPECT_TRUE((*blobs_b)->Contains(expected_digest));
  auto reader = (*blobs_b)->Open(expected_digest);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->size(), static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(ReadAll(**reader), bytes);
  const std::string file = TempDir() + "/materialized.bin";
  ASSERT_TRUE((*blobs_b)->MaterializeAt(expected_digest, file).ok());
  EXPECT_EQ(ReadBytes(file), bytes);

  // The same bytes again, through ImportFile on B: one copy, file consumed.
  const std::string import = TempDir() + "/import.bin";
  { std::ofstream(import, std::ios::binary) << bytes; }
  auto imported = (*blobs_b)->ImportFile(import);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->digest, expected_digest);
  EXPECT_FALSE(std::filesystem::exists(import));
  auto conn = server::PgConnection::Connect(dsn_);
  ASSERT_TRUE(conn.ok());
  auto count = (*conn)->Exec("SELECT COUNT(*), (SELECT COUNT(*) FROM blob_chunks) FROM blobs");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->Int(0, 0), 1);
  EXPECT_EQ(count->Int(0, 1), 4);  // chunks of the first commit (64 KiB each)

  // Empty blobs work too; unknown digests are NOT_FOUND; an abandoned writer leaves nothing.
  auto empty = (*blobs_a)->NewWriter();
  ASSERT_TRUE(empty.ok());
  auto empty_info = (*empty)->Commit();
  ASSERT_TRUE(empty_info.ok());
  auto empty_reader = (*blobs_b)->Open(empty_info->digest);
  ASSERT_TRUE(empty_reader.ok());
  EXPECT_EQ(ReadAll(**empty_reader), "");
  EXPECT_EQ((*blobs_b)->Open("sha256:" + std::string(64, '0')).status().code(),
            StatusCode::kNotFound);
  {
    auto abandoned = (*blobs_a)->NewWriter();
    ASSERT_TRUE((*abandoned)->Append("never committed").ok());
  }
  EXPECT_FALSE((*blobs_a)->Contains(server::DigestFromHex(server::Sha256Hex("never committed"))));
  EXPECT_TRUE(std::filesystem::is_empty(spool_a));
}

}  // namespace
}  // namespace graphopt::testing
