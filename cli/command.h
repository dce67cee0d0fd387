// Subcommands of the `graphopt` CLI register themselves here, one file per subcommand.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace graphopt::cli {

// Adds the subcommand to `app` and returns the function that runs it (its exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandInfo {
  std::string name;
  int order;  // position in --help
  CommandSetup setup;
};

std::vector<CommandInfo>& Commands();

struct CommandRegistrar {
  CommandRegistrar(std::string name, int order, CommandSetup setup) {
    Commands().push_back({std::move(name), order, std::move(setup)});
  }
};

// Exit codes shared by every subcommand.
// Exit codes, the same for every command (docs/API.md):
inline constexpr int kExitOk = 0;
inline constexpr int kExitMismatch = 1;     // verification failed, or the job failed or was cancelled
inline constexpr int kExitError = 2;        // usage, bad or invalid input, I/O, unsupported...
inline constexpr int kExitUnreachable = 3;  // the server could not be reached (UNAVAILABLE)

// Parses "NAME=VALUE" pairs (for --dim) into a map; false on a malformed entry.
bool ParseDims(const std::vector<std::string>& specs, std::map<std::string, int64_t>* out,
               std::string* error);

}  // namespace graphopt::cli

#define GRAPHOPT_CLI_CONCAT2(a, b) a##b
#define GRAPHOPT_CLI_CONCAT(a, b) GRAPHOPT_CLI_CONCAT2(a, b)
#define GRAPHOPT_REGISTER_COMMAND(name, order, setup)                                      \
  static const ::graphopt::cli::CommandRegistrar GRAPHOPT_CLI_CONCAT(command_registrar_, \
                                                                     __COUNTER__)(name, order, setup)
