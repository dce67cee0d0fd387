// Load, optimize and save time and peak RSS of the optimizer on the shared models.
//   build/bench/pipeline_bench [--level basic] [--repeat 5] [MODEL...]
// Prints one row per model: medians over the repeats, and the process's peak RSS.
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

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pipeline.h"

namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

long PeakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

}  // namespace

int main(int argc, char** argv) {
  std::string level_name = "basic";
  int repeat = 5;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--level") && i + 1 < argc) level_name = argv[++i];
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else models.push_back(argv[i]);
  }
  if (models.empty()) {
    for (const char* m : {"resnet18.raw.onnx", "squeezenet1_1.raw.onnx", "mobilenet_v2.raw.onnx",
                          "mobilenet_v3_small.raw.onnx", "efficientnet_b0.raw.onnx",
                          "vit_small.raw.onnx", "text_encoder.raw.onnx"}) {
      models.push_back(std::string(GRAPHOPT_SHARED_DIR) + "/models/" + m);
    }
  }
  auto level = graphopt::ParseLevel(level_name);
  if (!level.ok()) {
    std::fprintf(stderr, "%s\n", level.status().message().c_str());
    return 2;
  }
  const std::string out = std::filesystem::temp_directory_path() / "graphopt-bench.onnx";
  std::printf("%-30s %8s %8s %10s %8s %8s %8s %9s\n", "model", "nodes", "->", "load_ms",
              "opt_ms", "save_ms", "MiB", "rss_MiB");
  for (const auto& path : models) {
    // Each model runs in a fresh child so that peak RSS is the model's own, not the maximum
    // over every model before it.
    std::fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) {
      int status = 0;
      waitpid(pid, &status, 0);
      continue;
    }
    std::vector<double> load, opt, save;
    int64_t before = 0, after = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      auto model = graphopt::LoadModel(path);
      if (!model.ok()) {
        std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
        _exit(2);
      }
      load.push_back(Ms(t0));
      graphopt::PipelineOptions options;
      options.level = *level;
      options.verify = false;
      options.dims = {{"batch", 1}, {"seq", 64}};
      t0 = Clock::now();
      auto report = graphopt::OptimizeModel(**model, nullptr, options);
      opt.push_back(Ms(t0));
      if (!report.ok()) {
        std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
        _exit(2);
      }
      before = report->nodes_before;
      after = report->nodes_after;
      t0 = Clock::now();
      if (!graphopt::SaveModel(**model, out).ok()) _exit(2);
      save.push_back(Ms(t0));
    }
    const double mib = static_cast<double>(std::filesystem::file_size(path)) / (1 << 20);
    std::printf("%-30s %8lld %8lld %10.1f %8.1f %8.1f %8.1f %9ld\n",
                std::filesystem::path(path).filename().c_str(), static_cast<long long>(before),
                static_cast<long long>(after), Median(load), Median(opt), Median(save), mib,
                PeakRssMiB());
    std::fflush(stdout);
    _exit(0);
  }
  std::filesystem::remove(out);
  return 0;
}
