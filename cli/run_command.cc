// `graphopt run`: executes a model on the reference executor with given or generated inputs,
// printing each output's shape and checksum and the median time over repeats.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

#include "backends/reference/executor.h"
#include "backends/reference/inputs.h"
#include "cli/bounded_run.h"
#include "cli/command.h"
#include "optimizer/io/model_io.h"

namespace graphopt::cli {

namespace {

struct RunArgs {
  std::string model, output_dir;
  std::vector<std::string> dims, inputs;
  int repeat = 1;
  uint64_t seed = 0;
  bool profile = false;
  Bounds bounds;
};

// "<output name>.pb", or "output_<index>.pb" when the name is not a plain file name (exporters
// name values "/encoder/ln/Add_1_output_0"); the ONNX backend tests' layout uses the latter too.
std::string OutputFileName(const std::string& name, size_t index) {
  const bool plain = !name.empty() && name != "." && name != ".." &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                              c == '-' || c == '.';
                     });
  return plain ? name + ".pb" : "output_" + std::to_string(index) + ".pb";
}

// Sum of values and sum of absolute values (numeric and bool tensors).
std::pair<double, double> Checksum(const Tensor& t) {
  double sum = 0, abs_sum = 0;
  if (t.dtype() == DataType::kString) return {0, 0};
  for (int64_t i = 0; i < t.size(); ++i) {
    const double v = t.GetDouble(i);
    sum += v;
    abs_sum += std::fabs(v);
  }
  return {sum, abs_sum};
}

int RunModel(const RunArgs& a) {
  if (auto bounded = RunBounded(a.bounds, BoundedCommand::kRun)) return *bounded;
  std::map<std::string, int64_t> dims;
  std::string error;
  if (!ParseDims(a.dims, &dims, &error)) {
    std::cerr << "graphopt: " << error << "\n";
    return kExitError;
  }
  if (a.repeat < 1) {
    std::cerr << "graphopt: --repeat must be at least 1\n";
    return kExitError;
  }
  auto model = LoadModel(a.model);
  if (!model.ok()) {
    std::cerr << "graphopt: " << model.status().message() << "\n";
    return kExitError;
  }
  const ir::Graph& graph = *(*model)->graph;
  std::map<std::string, Tensor> given;
  for (const auto& spec : a.inputs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "graphopt: --input expects NAME=FILE.pb, got '" << spec << "'\n";
      return kExitError;
    }
    auto t = reference::ReadTensorFile(spec.substr(eq + 1));
    if (!t.ok()) {
      std::cerr << "graphopt: " << t.status().message() << "\n";
      return kExitError;
    }
    given[spec.substr(0, eq)] = *t;
  }
  reference::RunOptions run_options;
  run_options.dims = dims;
  run_options.profile_ops = a.profile;
  reference::Executor executor(**model, run_options);
  // Refuse absurd declared sizes before generating inputs of those sizes.
  if (Status st = executor.CheckDeclaredMemory(); !st.ok()) {
    std::cerr << "graphopt: " << st.ToString() << "\n";
    return kExitError;
  }
  reference::InputOptions input_options;
  input_options.dims = dims;
  input_options.seed = a.seed;
  std::map<std::string, Tensor> inputs;
  for (const ir::Value* v : graph.inputs()) {
    auto it = given.find(v->name());
    if (it != given.end()) {
      inputs[v->name()] = it->second;
      given.erase(it);
    } else if (!v->has_initializer()) {
      auto t = reference::GenerateInput(*v, input_options);
      if (!t.ok()) {
        std::cerr << "graphopt: " << t.status().message() << "\n";
        return kExitError;
      }
      inputs[v->name()] = *t;
    }
  }
  if (!given.empty()) {
    std::cerr << "graphopt: the model has no input called '" << given.begin()->first << "'\n";
    return kExitError;
  }

  std::vector<double> times;
  std::vector<Tensor> outputs;
  for (int r = 0; r < a.repeat; ++r) {
    auto result = executor.Run(inputs);
    if (!result.ok()) {
      std::cerr << "graphopt: " << result.status().ToString() << "\n";
      return kExitError;
    }
    times.push_back(executor.stats().run_ms);
    outputs = std::move(*result);
  }
  std::sort(times.begin(), times.end());
  const double median = times[times.size() / 2];

  if (!a.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(a.output_dir, ec);
  }
  std::cout << std::setprecision(9);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::Value* v = graph.outputs()[i];
    const std::string name = v ? v->name() : "output" + std::to_string(i);
    const Tensor& t = outputs[i];
    const auto [sum, abs_sum] = Checksum(t);
    std::cout << name << "  " << DataTypeName(t.dtype()) << " " << ShapeToString(t.shape())
              << "  sum=" << sum << " abs_sum=" << abs_sum << "\n";
    if (!a.output_dir.empty() && t.defined()) {
      const std::string path = (std::filesystem::path(a.output_dir) / OutputFileName(name, i)).string();
      Status st = reference::WriteTensorFile(path, t, name);
      if (!st.ok()) {
        std::cerr << "graphopt: " << st.message() << "\n";
        return kExitError;
      }
    }
  }
  std::cout << std::setprecision(4) << "median time: " << median << " ms over " << a.repeat
            << " run(s); peak live intermediates: "
            << static_cast<double>(executor.stats().peak_live_bytes) / (1 << 20) << " MiB\n";
  if (a.profile) {
    std::vector<std::pair<double, std::string>> ops;
    for (const auto& [op, entry] : executor.stats().op_ms) ops.emplace_back(entry.first, op);
    std::sort(ops.rbegin(), ops.rend());
    for (const auto& [ms, op] : ops) {
      std::cout << "  " << std::setw(24) << std::left << op << std::right << std::setw(10) << ms
                << " ms (last run)\n";
    }
    auto nodes = executor.stats().node_ms;
    std::sort(nodes.begin(), nodes.end(), [](const auto& x, const auto& y) { return x.ms > y.ms; });
    if (nodes.size() > 15) nodes.resize(15);
    std::cout << "slowest nodes:\n";
    for (const auto& n : nodes) {
      std::cout << "  " << std::setw(10) << n.ms << " ms  " << n.op_type << " '" << n.node
                << "' -> " << ShapeToString(n.output_shape) << "\n";
    }
  }
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand("run", "run a model on the reference executor");
  cmd->add_option("model", args->model, "model to run (.onnx)")->required();
  cmd->add_option("--dim", args->dims, "fix a symbolic dim: NAME=VALUE (repeatable)");
  cmd->add_option("--input", args->inputs,
                  "NAME=FILE.pb: an input from a serialized TensorProto (others are generated)");
  cmd->add_option("--output-dir", args->output_dir, "write each output as <name>.pb (output_<index>.pb when the name is not a plain file name)");
  cmd->add_option("--repeat", args->repeat, "runs to time (the median is printed)");
  cmd->add_option("--seed", args->seed, "seed of generated inputs (default 0)");
  cmd->add_flag("--profile", args->profile, "print time per op type");
  AddBoundFlags(cmd, &args->bounds);
  return [args] { return RunModel(*args); };
};

GRAPHOPT_REGISTER_COMMAND("run", 30, Setup);

}  // namespace

}  // namespace graphopt::cli
