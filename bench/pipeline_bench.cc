// Load, optimize and save time and peak RSS of the optimizer on the shared models.
//   build/bench/pipeline_bench [--level basic] [--repeat 5] [MODEL...]
// Prints one row per model: medians over the repeats, and the process's peak RSS.
//   build/bench/pipeline_bench --scaling [--level extended] [--target cpu] [--repeat 3]
// Optimize time of generated graphs of 1k to 200k nodes: Relu chains (every pair collapses)
// and repeated erf-GELU blocks (each fuses): near-linear growth is the contract.
//   build/bench/pipeline_bench --write-relu-chain N FILE
// Writes the N-node Relu chain as an .onnx file (for timing the CLI on it).
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
#include "optimizer/ir/graph.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/optimize_model.h"
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

std::unique_ptr<graphopt::ir::Model> EmptyModel() {
  auto model = std::make_unique<graphopt::ir::Model>();
  model->ir_version = 8;
  model->opset_imports.push_back({"", 14});
  model->producer_name = "pipeline_bench";
  model->graph = std::make_unique<graphopt::ir::Graph>();
  model->graph->name = "scaling";
  return model;
}

// x -> Relu -> Relu -> ... (`nodes` Relus) -> y: simplify_algebra collapses it to one Relu.
std::unique_ptr<graphopt::ir::Model> ReluChain(int64_t nodes) {
  using graphopt::DataType;
  auto model = EmptyModel();
  graphopt::ir::Graph& g = *model->graph;
  graphopt::ir::Value* v =
      g.AddInput("x", graphopt::ir::ValueType::FromShape(DataType::kFloat, {1, 16}));
  for (int64_t i = 0; i < nodes; ++i) v = g.AddNode("Relu", {v}, 1, "relu")->output(0);
  g.AddOutput(v);
  return model;
}

// `nodes` / 5 erf-GELU blocks x * 0.5 * (1 + Erf(x / sqrt 2)) in a chain: each fuses into one
// com.microsoft.Gelu where the target has it.
std::unique_ptr<graphopt::ir::Model> GeluBlocks(int64_t nodes) {
  using graphopt::DataType;
  using graphopt::Tensor;
  auto model = EmptyModel();
  graphopt::ir::Graph& g = *model->graph;
  auto scalar = [&](const char* name, float value) {
    return g.NewInitializer(name, Tensor::FromVector<float>(DataType::kFloat, {}, {value}));
  };
  graphopt::ir::Value* sqrt2 = scalar("sqrt2", 1.4142135f);
  graphopt::ir::Value* one = scalar("one", 1.0f);
  graphopt::ir::Value* half = scalar("half", 0.5f);
  graphopt::ir::Value* x =
      g.AddInput("x", graphopt::ir::ValueType::FromShape(DataType::kFloat, {1, 16}));
  for (int64_t i = 0; i < nodes / 5; ++i) {
    auto* div = g.AddNode("Div", {x, sqrt2}, 1, "div")->output(0);
    auto* erf = g.AddNode("Erf", {div}, 1, "erf")->output(0);
    auto* add = g.AddNode("Add", {erf, one}, 1, "add")->output(0);
    auto* mul = g.AddNode("Mul", {x, add}, 1, "mul")->output(0);
    x = g.AddNode("Mul", {mul, half}, 1, "half")->output(0);
  }
  g.AddOutput(x);
  return model;
}

int RunScaling(const std::string& level_name, const std::string& target, int repeat) {
  auto level = graphopt::ParseLevel(level_name);
  if (!level.ok()) return 2;
  std::printf("%-12s %8s %8s %10s\n", "graph", "nodes", "->", "opt_ms");
  for (const char* kind : {"relu_chain", "gelu_blocks"}) {
    for (int64_t n : {1000, 5000, 25000, 100000, 200000}) {
      std::vector<double> times;
      int64_t before = 0, after = 0;
      for (int r = 0; r < repeat; ++r) {
        auto model = std::string(kind) == "relu_chain" ? ReluChain(n) : GeluBlocks(n);
        graphopt::PipelineOptions options;
        options.level = *level;
        options.target = target;
        options.verify = false;
        const auto t0 = Clock::now();
        auto report = graphopt::OptimizeModel(*model, nullptr, options);
        times.push_back(Ms(t0));
        if (!report.ok()) {
          std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
          return 2;
        }
        before = report->nodes_before;
        after = report->nodes_after;
      }
      std::printf("%-12s %8lld %8lld %10.1f\n", kind, static_cast<long long>(before),
                  static_cast<long long>(after), Median(times));
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string level_name = "basic";
  std::string target = "cpu";
  int repeat = 5;
  bool scaling = false;
  std::vector<std::string> models;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--level") && i + 1 < argc) level_name = argv[++i];
    else if (!std::strcmp(argv[i], "--target") && i + 1 < argc) target = argv[++i];
    else if (!std::strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--scaling")) scaling = true;
    else if (!std::strcmp(argv[i], "--write-relu-chain") && i + 2 < argc) {
      const int64_t n = std::atoll(argv[i + 1]);
      auto model = ReluChain(n);
      return graphopt::SaveModel(*model, argv[i + 2]).ok() ? 0 : 2;
    } else models.push_back(argv[i]);
  }
  if (scaling) return RunScaling(level_name == "basic" ? "extended" : level_name, target, repeat);
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
