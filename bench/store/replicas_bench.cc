// Service throughput by store: jobs per second through real graphopt-server processes on SQLite
// (one node), and on one PostgreSQL database with one and with two replicas. Each scenario gets a
// fresh database; 8 client threads run jobs end to end (create, watch to the end, download),
// spread round-robin over the replicas, so half the jobs of the two-replica runs are watched and
// downloaded through the replica that took the call while the other may run them. Starts its own
// temporary PostgreSQL cluster with fsync on (tests/postgres/temporary_postgres.h).
//
//   ./build/tests/replicas_bench [--rounds R] [--jobs-per-client N] [--clients C] [--model M]
//                                [--level basic|extended] [--workers W]   (W per replica)
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/service_client.h"
#include "metrics/child_process.h"
#include "postgres/temporary_postgres.h"
#include "support/test_support.h"

namespace {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;
using graphopt::testing::ChildProcess;

struct Scenario {
  std::string name;
  bool postgres = false;
  int replicas = 1;
  bool blobs_in_postgres = true;  // else file:DIR, one folder for all replicas (a shared volume)
};

struct Settings {
  std::string server = GRAPHOPT_SERVER_BINARY;
  std::string model =
      std::string(GRAPHOPT_SHARED_DIR) + "/onnx-backend-tests/pytorch-converted/test_Conv2d/model.onnx";
  v1::Level level = v1::LEVEL_BASIC;
  int workers = 1;
  int clients = 8;
  int jobs_per_client = 10;
};

struct Measured {
  double jobs_per_second = 0, p50_ms = 0, p99_ms = 0;
  int failures = 0;
};

// One scenario: start its replicas, upload once, run the clients, measure.
Measured Run(const Scenario& scenario, const Settings& settings,
             graphopt::testing::TemporaryPostgres* cluster, int index) {
  Measured failed;
  failed.failures = 1;
  const std::string dir = graphopt::testing::TempDir();
  std::string store = "sqlite:" + dir + "/graphopt.db";
  if (scenario.postgres) {
    std::string dsn = cluster->CreateDatabase("replicas" + std::to_string(index));
    (void)dsn;  // the servers take the URI form
    store = "postgresql://postgres@127.0.0.1:" + std::to_string(cluster->port()) + "/replicas" +
            std::to_string(index);
  }
  std::vector<std::unique_ptr<ChildProcess>> servers;
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int r = 0; r < scenario.replicas; ++r) {
    const std::string address =
        "127.0.0.1:" + std::to_string(graphopt::bench::FreeLoopbackPort());
    std::vector<std::string> argv = {settings.server, "--listen", address, "--metrics-listen",
                                     "off", "--data-dir", dir + "/replica" + std::to_string(r),
                                     "--store", store, "--workers",
                                     std::to_string(settings.workers), "--queue-size", "10000",
                                     "--log-level", "warn"};
    if (scenario.postgres) {
      argv.insert(argv.end(),
                  {"--blob-store", scenario.blobs_in_postgres ? "postgres" : "file:" + dir + "/blobs",
                   "--replica-id", "replica-" + std::to_string(r)});
    }
    auto server = std::make_unique<ChildProcess>();
    std::string error;
    if (!server->Start(argv, dir + "/replica" + std::to_string(r) + ".log", &error)) {
      std::fprintf(stderr, "%s: %s\n", scenario.name.c_str(), error.c_str());
      return failed;
    }
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(60))) {
      std::fprintf(stderr, "%s: replica %d did not start\n", scenario.name.c_str(), r);
      return failed;
    }
    servers.push_back(std::move(server));
    channels.push_back(channel);
  }
  v1::Model model;
  auto first = v1::OptimizerService::NewStub(channels[0]);
  if (!graphopt::bench::Upload(*first, graphopt::bench::ReadFile(settings.model),
                               v1::FILE_KIND_ONNX_MODEL, &model)) {
    return failed;
  }
  std::vector<std::vector<double>> latencies(settings.clients);
  std::atomic<int> failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < settings.clients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = v1::OptimizerService::NewStub(channels[c % channels.size()]);
      for (int j = 0; j < settings.jobs_per_client; ++j) {
        const auto t0 = Clock::now();
        if (!graphopt::bench::RunJob(*stub, model.digest(), settings.level)) ++failures;
        latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
      }
    });
  }
  for (auto& t : clients) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const int total = settings.clients * settings.jobs_per_client;
  Measured m;
  m.jobs_per_second = total / seconds;
  m.p50_ms = graphopt::bench::Percentile(all, 0.5);
  m.p99_ms = graphopt::bench::Percentile(all, 0.99);
  m.failures = failures.load();
  for (auto& server : servers) server->Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  int rounds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--jobs-per-client") settings.jobs_per_client = std::stoi(value);
    if (flag == "--model") settings.model = value;
    if (flag == "--workers") settings.workers = std::stoi(value);
    if (flag == "--clients") settings.clients = std::stoi(value);
    if (flag == "--rounds") rounds = std::stoi(value);
    if (flag == "--server") settings.server = value;
    if (flag == "--level") settings.level = value == "extended" ? v1::LEVEL_EXTENDED : v1::LEVEL_BASIC;
  }
  std::string error;
  bool missing = false;
  auto cluster = graphopt::testing::TemporaryPostgres::Start(&error, &missing, /*durable=*/true);
  if (!cluster) {
    std::fprintf(stderr, "no PostgreSQL cluster: %s\n", error.c_str());
    return 1;
  }
  std::printf("model %s, %d clients x %d jobs per scenario, fresh jobs end to end, %d rounds\n\n",
              std::filesystem::path(settings.model).filename().c_str(), settings.clients,
              settings.jobs_per_client, rounds);
  const std::vector<Scenario> scenarios = {
      {"SQLite + blob files, single node", false, 1},
      {"PostgreSQL + blobs in it, one replica", true, 1},
      {"PostgreSQL + blobs in it, two replicas", true, 2},
      {"PostgreSQL + shared blob folder, one replica", true, 1, false},
      {"PostgreSQL + shared blob folder, two replicas", true, 2, false}};
  // Rounds run every scenario in turn, so a slow spell of the machine hits them all alike.
  std::vector<std::vector<Measured>> results(scenarios.size());
  bool ok = true;
  int index = 0;
  for (int round = 0; round < rounds; ++round) {
    for (size_t i = 0; i < scenarios.size(); ++i) {
      results[i].push_back(Run(scenarios[i], settings, cluster.get(), index++));
      ok = ok && results[i].back().failures == 0;
    }
  }
  auto median = [](std::vector<double> v) { return graphopt::bench::Percentile(std::move(v), 0.5); };
  std::printf("| store | replicas x workers | jobs/s (median) | jobs/s (each round) | p50 ms | p99 ms | failed |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < scenarios.size(); ++i) {
    std::vector<double> rate, p50, p99;
    std::string each;
    int failures = 0;
    for (const auto& m : results[i]) {
      rate.push_back(m.jobs_per_second);
      p50.push_back(m.p50_ms);
      p99.push_back(m.p99_ms);
      failures += m.failures;
      char cell[32];
      std::snprintf(cell, sizeof(cell), "%s%.0f", each.empty() ? "" : ", ", m.jobs_per_second);
      each += cell;
    }
    std::printf("| %s | %d x %d | %.1f | %s | %.0f | %.0f | %d |\n", scenarios[i].name.c_str(),
                scenarios[i].replicas, settings.workers, median(rate), each.c_str(), median(p50),
                median(p99), failures);
  }
  return ok ? 0 : 1;
}
