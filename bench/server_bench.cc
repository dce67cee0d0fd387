// Benchmark of graphopt-server on loopback (not a test): upload throughput, jobs per second for
// a small model, and end-to-end latency (upload -> job -> watch -> download) p50/p99 with 8
// concurrent clients. Starts its own server with a temporary data folder.
//
//   server_bench [--server PATH] [--model SMALL.onnx] [--jobs N] [--upload-mib M]
//                [--isolation process|thread]   (the cost of a worker process per job)
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/support/service_client.h"

namespace {

namespace v1 = graphopt::v1;
using Clock = std::chrono::steady_clock;
using graphopt::bench::FreeLoopbackPort;
using graphopt::bench::Percentile;
using graphopt::bench::ReadFile;
using graphopt::bench::RunJob;
using graphopt::bench::Upload;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string server_path = GRAPHOPT_SERVER_BINARY;
  std::string model_path = std::string(GRAPHOPT_SHARED_DIR) +
                           "/onnx-backend-tests/pytorch-converted/test_Conv2d/model.onnx";
  int jobs_per_client = 10;
  int upload_mib = 256;
  std::string isolation = "process";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--server") server_path = argv[i + 1];
    if (flag == "--model") model_path = argv[i + 1];
    if (flag == "--jobs") jobs_per_client = std::atoi(argv[i + 1]);
    if (flag == "--upload-mib") upload_mib = std::atoi(argv[i + 1]);
    if (flag == "--isolation") isolation = argv[i + 1];
  }
  const std::string data_dir =
      std::filesystem::temp_directory_path() / ("graphopt-bench-" + std::to_string(::getpid()));
  const std::string address = "127.0.0.1:" + std::to_string(FreeLoopbackPort());
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl(server_path.c_str(), server_path.c_str(), "--listen", address.c_str(),
            "--metrics-listen", "off", "--data-dir", data_dir.c_str(), "--log-level", "warn",
            "--queue-size", "10000", "--max-upload-bytes", "4GB", "--isolation",
            isolation.c_str(), nullptr);
    ::_exit(127);
  }
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(30))) {
    std::fprintf(stderr, "server did not start\n");
    return 1;
  }
  auto stub = v1::OptimizerService::NewStub(channel);
  int exit_code = 0;

  // 1. Upload throughput: raw bytes (not parsed), distinct content so nothing is deduplicated.
  {
    std::string blob(static_cast<size_t>(upload_mib) << 20, '\0');
    std::mt19937_64 random(42);
    for (size_t i = 0; i + 8 <= blob.size(); i += 8) {
      uint64_t v = random();
      std::memcpy(&blob[i], &v, 8);
    }
    v1::Model model;
    auto start = Clock::now();
    bool ok = Upload(*stub, blob, v1::FILE_KIND_EXTERNAL_DATA, &model);
    double s = Seconds(start);
    std::printf("upload: %d MiB in %.2f s = %.1f MiB/s (sha256 + fsync included)%s\n", upload_mib,
                s, upload_mib / s, ok ? "" : "  FAILED");
    if (!ok) exit_code = 1;
  }

  // 2 and 3. Jobs for a small model from 8 concurrent clients.
  v1::Model small;
  if (!Upload(*stub, ReadFile(model_path), v1::FILE_KIND_ONNX_MODEL, &small)) return 1;
  constexpr int kClients = 8;
  std::vector<std::vector<double>> latencies(kClients);
  std::atomic<int> failures{0};
  auto start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto client_stub = v1::OptimizerService::NewStub(channel);
      for (int j = 0; j < jobs_per_client; ++j) {
        auto t0 = Clock::now();
        if (!RunJob(*client_stub, small.digest())) ++failures;
        latencies[c].push_back(Seconds(t0) * 1000);
      }
    });
  }
  for (auto& t : clients) t.join();
  const double elapsed = Seconds(start);
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  const int total = kClients * jobs_per_client;
  std::printf(
      "jobs: %d jobs (%s, level basic, fresh) from %d clients in %.2f s = %.1f jobs/s, %d failed\n",
      total, std::filesystem::path(model_path).filename().c_str(), kClients, elapsed,
      total / elapsed, failures.load());
  std::printf(
      "end-to-end latency (create -> watch -> download): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      Percentile(all, 0.5), Percentile(all, 0.99), Percentile(all, 1.0));
  if (failures > 0) exit_code = 1;

  ::kill(pid, SIGTERM);
  ::waitpid(pid, nullptr, 0);
  std::error_code ec;
  std::filesystem::remove_all(data_dir, ec);
  return exit_code;
}
