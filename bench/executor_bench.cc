// Reference executor speed and memory on the shared real models (batch 1, seq 64): median run
// time over repeats, the executor's peak live intermediates, and the process's peak RSS. Each
// model runs in a forked child so peak RSS is per model.
//   executor_bench [--repeat N] [--filter SUBSTR]
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/reference/executor.h"
#include "backends/reference/inputs.h"
#include "optimizer/io/model_io.h"

namespace {

struct Measure {
  double median_ms = 0, min_ms = 0, load_ms = 0;
  double peak_live_mib = 0, peak_rss_mib = 0;
  char error[256] = {0};
};

Measure RunModel(const std::string& path, int repeat) {
  using Clock = std::chrono::steady_clock;
  Measure m;
  const auto t0 = Clock::now();
  auto model = graphopt::LoadModel(path);
  m.load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  if (!model.ok()) {
    std::snprintf(m.error, sizeof(m.error), "%s", model.status().message().c_str());
    return m;
  }
  graphopt::reference::InputOptions input_options;
  input_options.dims = {{"batch", 1}, {"seq", 64}};
  input_options.int_ranges["input_ids"] = 8000;
  auto inputs = graphopt::reference::GenerateInputs(*(*model)->graph, input_options);
  if (!inputs.ok()) {
    std::snprintf(m.error, sizeof(m.error), "%s", inputs.status().message().c_str());
    return m;
  }
  graphopt::reference::RunOptions run_options;
  run_options.dims = input_options.dims;
  graphopt::reference::Executor executor(**model, run_options);
  std::vector<double> times;
  for (int r = 0; r < repeat + 1; ++r) {  // the first run warms caches and builds plans
    auto out = executor.Run(*inputs);
    if (!out.ok()) {
      std::snprintf(m.error, sizeof(m.error), "%s", out.status().ToString().c_str());
      return m;
    }
    if (r > 0) times.push_back(executor.stats().run_ms);
  }
  std::sort(times.begin(), times.end());
  m.median_ms = times[times.size() / 2];
  m.min_ms = times.front();
  m.peak_live_mib = static_cast<double>(executor.stats().peak_live_bytes) / (1 << 20);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  m.peak_rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int repeat = 10;
  std::string filter;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--filter") == 0) filter = argv[i + 1];
  }
  std::vector<std::string> models;
  for (const auto& e : std::filesystem::directory_iterator(GRAPHOPT_SHARED_DIR "/models")) {
    const std::string name = e.path().filename().string();
    if (e.path().extension() == ".onnx" && name.find(filter) != std::string::npos) {
      models.push_back(e.path().string());
    }
  }
  std::sort(models.begin(), models.end());
  std::printf("%-28s %10s %10s %10s %14s %13s\n", "model", "median_ms", "min_ms", "load_ms",
              "peak_live_MiB", "peak_rss_MiB");
  for (const std::string& path : models) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    const pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      const Measure m = RunModel(path, repeat);
      const ssize_t written = write(fds[1], &m, sizeof(m));
      _exit(written == static_cast<ssize_t>(sizeof(m)) ? 0 : 1);
    }
    close(fds[1]);
    Measure m;
    const ssize_t got = read(fds[0], &m, sizeof(m));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string name = std::filesystem::path(path).filename().string();
    if (got != static_cast<ssize_t>(sizeof(m))) {
      std::printf("%-28s crashed\n", name.c_str());
    } else if (m.error[0]) {
      std::printf("%-28s error: %s\n", name.c_str(), m.error);
    } else {
      std::printf("%-28s %10.1f %10.1f %10.1f %14.2f %13.1f\n", name.c_str(), m.median_ms, m.min_ms,
                  m.load_ms, m.peak_live_mib, m.peak_rss_mib);
    }
    std::fflush(stdout);
  }
  return 0;
}
