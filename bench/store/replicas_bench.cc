// Service throughput by store: jobs per second through real graphopt-server processes on SQLite
// (one node), and on one PostgreSQL database with one and with two replicas. Each scenario gets a
// fresh database; 8 client threads run jobs end to end (create, watch to the end, download),
// spread round-robin over the replicas, so half the jobs of the two-replica runs are watched and
// downloaded through the replica that took the call while the other may run them. Starts its own
// temporary PostgreSQL cluster with fsync on (tests/postgres/temporary_postgres.h).
//
//   ./build/tests/replicas_bench [--jobs-per-client N] [--clients C] [--model M.onnx]
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

// One scenario: start its replicas, upload once, run the clients, report.
bool Run(const Scenario& scenario, const Settings& settings,
         graphopt::testing::TemporaryPostgres* cluster, int index) {
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
      return false;
    }
    auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
    if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(60))) {
      std::fprintf(stderr, "%s: replica %d did not start\n", scenario.name.c_str(), r);
      return false;
    }
    servers.push_back(std::move(server));
    channels.push_back(channel);
  }
  v1::Model model;
  auto first = v1::OptimizerService::NewStub(channels[0]);
  if (!graphopt::bench::Upload(*first, graphopt::bench::ReadFile(settings.model),
                               v1::FILE_KIND_ONNX_MODEL, &model)) {
    return false;
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
  std::printf("| %s | %d x %d | %d | %.1f | %.0f | %.0f | %d |\n", scenario.name.c_str(),
              scenario.replicas, settings.workers, total, total / seconds,
              graphopt::bench::Percentile(all, 0.5), graphopt::bench::Percentile(all, 0.99),
              failures.load());
  std::fflush(stdout);
  for (auto& server : servers) server->Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return failures == 0;
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--jobs-per-client") settings.jobs_per_client = std::stoi(value);
    if (flag == "--model") settings.model = value;
    if (flag == "--workers") settings.workers = std::stoi(value);
    if (flag == "--clients") settings.clients = std::stoi(value);
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
  std::printf("model %s, %d clients x %d jobs, fresh jobs end to end\n\n",
              std::filesystem::path(settings.model).filename().c_str(), settings.clients,
              settings.jobs_per_client);
  std::printf("| store | replicas x workers | jobs | jobs/s | p50 ms | p99 ms | failed |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  const std::vector<Scenario> scenarios = {
      {"SQLite + blob files, single node", false, 1},
      {"PostgreSQL + blobs in it, one replica", true, 1},
      {"PostgreSQL + blobs in it, two replicas", true, 2},
      {"PostgreSQL + shared blob folder, one replica", true, 1, false},
      {"PostgreSQL + shared blob folder, two replicas", true, 2, false}};
  bool ok = true;
  int index = 0;
  for (const auto& scenario : scenarios) ok = Run(scenario, settings, cluster.get(), index++) && ok;
  return ok ? 0 : 1;
}
