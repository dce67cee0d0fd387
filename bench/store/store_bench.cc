// Job store throughput: jobs created, claimed and finished per second on SQLite (the single-node
// store) and on PostgreSQL with one or two store instances (one or two replicas). Starts its own
// temporary PostgreSQL cluster (tests/postgres/temporary_postgres.h).
//
//   ./build/store_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "postgres/temporary_postgres.h"
#include "server/store/postgres_job_store.h"
#include "server/store/sqlite_job_store.h"
#include "support/test_support.h"

namespace {

using graphopt::server::JobRecord;
using graphopt::server::JobState;
using namespace std::chrono_literals;

std::unique_ptr<graphopt::testing::TemporaryPostgres> g_cluster;
std::atomic<int64_t> g_next_id{0};

JobRecord NewJob() {
  JobRecord j;
  j.id = "bench-" + std::to_string(g_next_id++);
  j.state = JobState::kQueued;
  j.model_digest = "sha256:" + std::string(64, 'a');
  j.result_key = j.id;
  j.request_key = j.id;
  j.created_at_ms = graphopt::server::NowMillis();
  return j;
}

void Finish(JobRecord& j) {
  j.state = JobState::kSucceeded;
  j.finished_at_ms = graphopt::server::NowMillis();
  j.artifact_digest = "sha256:" + std::string(64, 'b');
}

// What the single-node job manager stores per job: insert, running, succeeded.
void BM_SqliteCreateRunFinish(benchmark::State& state) {
  static std::unique_ptr<graphopt::server::SqliteJobStore> store;
  if (state.thread_index() == 0) {
    store = std::move(
        *graphopt::server::SqliteJobStore::Open(graphopt::testing::TempDir() + "/bench.db"));
  }
  for (auto _ : state) {
    auto job = store->InsertJob(NewJob());
    if (!job.ok()) {
      state.SkipWithError(job.status().ToString().c_str());
      break;
    }
    job->state = JobState::kRunning;
    (void)store->UpdateJob(*job);
    Finish(*job);
    (void)store->UpdateJob(*job);
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) store.reset();
}
BENCHMARK(BM_SqliteCreateRunFinish)->Threads(1)->Threads(2)->UseRealTime();

// Insert, claim (SKIP LOCKED, with a lease) and finish; `instances` stores share the database as
// replicas would, thread i using instance i % instances.
void PostgresCreateClaimFinish(benchmark::State& state, int instances) {
  static std::vector<std::unique_ptr<graphopt::server::PostgresJobStore>> stores;
  static std::atomic<int> database{0};
  if (state.thread_index() == 0) {
    const std::string dsn = g_cluster->CreateDatabase("bench" + std::to_string(database++));
    stores.clear();
    for (int i = 0; i < instances; ++i) {
      graphopt::server::PostgresStoreOptions options;
      options.dsn = dsn;
      options.max_connections = 4;
      auto store = graphopt::server::PostgresJobStore::Open(options);
      if (!store.ok()) {
        state.SkipWithError(store.status().ToString().c_str());
        return;
      }
      stores.push_back(std::move(*store));
    }
  }
  const std::string owner = "replica-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    auto& store = *stores[state.thread_index() % stores.size()];
    auto claimed = store.InsertJob(NewJob()).ok()
                       ? store.ClaimNextJob(owner, 30s)
                       : graphopt::Result<std::optional<JobRecord>>(graphopt::Internal("insert"));
    if (!claimed.ok()) {
      state.SkipWithError(claimed.status().ToString().c_str());
      break;
    }
    if (claimed->has_value()) {
      JobRecord job = **claimed;
      Finish(job);
      if (!store.FinishJob(job).ok()) {
        state.SkipWithError("finish failed");
        break;
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) stores.clear();
}

void BM_PostgresOneInstance(benchmark::State& state) { PostgresCreateClaimFinish(state, 1); }
void BM_PostgresTwoInstances(benchmark::State& state) { PostgresCreateClaimFinish(state, 2); }
BENCHMARK(BM_PostgresOneInstance)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK(BM_PostgresTwoInstances)->Threads(2)->Threads(4)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  std::string error;
  bool missing = false;
  // Durable (fsync on), like the SQLite store's synchronous=FULL, so the figures compare.
  g_cluster = graphopt::testing::TemporaryPostgres::Start(&error, &missing, /*durable=*/true);
  if (!g_cluster) {
    std::fprintf(stderr, "store_bench: %s\n", error.c_str());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_cluster.reset();
  return 0;
}
