// graphopt: optimize, run and verify ONNX models from the command line.
#include <CLI/CLI.hpp>
#include <malloc.h>

#include <algorithm>
#include <iostream>

#include "cli/command.h"

namespace graphopt::cli {

std::vector<CommandInfo>& Commands() {
  static std::vector<CommandInfo> commands;
  return commands;
}

bool ParseDims(const std::vector<std::string>& specs, std::map<std::string, int64_t>* out,
               std::string* error) {
  for (const auto& spec : specs) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) {
      *error = "--dim expects NAME=VALUE, got '" + spec + "'";
      return false;
    }
    try {
      size_t used = 0;
      const int64_t v = std::stoll(spec.substr(eq + 1), &used);
      if (used != spec.size() - eq - 1 || v < 1) throw std::invalid_argument("");
      (*out)[spec.substr(0, eq)] = v;
    } catch (const std::exception&) {
      *error = "--dim " + spec + ": the value must be a positive integer";
      return false;
    }
  }
  return true;
}

}  // namespace graphopt::cli

int main(int argc, char** argv) {
  using graphopt::cli::Commands;
  // The executor allocates and frees large tensors at every node; keeping freed memory in the
  // heap instead of returning it to the kernel avoids a page-fault storm (efficientnet_b0 runs
  // about twice as fast).
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  CLI::App app{"graphopt: makes ONNX models faster, and proves they still compute the same"};
  app.require_subcommand(1);
  auto commands = Commands();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (const auto& c : commands) {
    const size_t before = app.get_subcommands({}).size();
    auto run = c.setup(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) runners.emplace_back(subs.back(), std::move(run));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : graphopt::cli::kExitError;
  }
  for (auto& [sub, run] : runners) {
    if (sub->parsed()) {
      try {
        return run();
      } catch (const std::exception& e) {
        std::cerr << "graphopt: internal error: " << e.what() << "\n";
        return graphopt::cli::kExitError;
      }
    }
  }
  return graphopt::cli::kExitError;
}
