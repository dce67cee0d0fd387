// --timeout and --max-memory of `graphopt optimize`, `run` and `verify`: the command runs in a
// child process (this binary again) under an address-space limit, and is killed at the time
// limit, so a hostile model (a Loop of 10^12 iterations, a 176-byte model that allocates
// gigabytes) ends within the limits with its reason instead of hanging or exhausting the machine.
#pragma once

#include <optional>
#include <string>

namespace CLI {
class App;
}

namespace graphopt::cli {

struct Bounds {
  double timeout_seconds = 3600;    // 0: no limit
  std::string max_memory = "auto";  // 3/4 of the container's memory.max or of RAM; 0: none
};

enum class BoundedCommand { kOptimize, kRun, kVerify };

void AddBoundFlags(CLI::App* command, Bounds* bounds);

// In the parent: runs this command line again in a bounded child and returns the exit code to
// end with (the child's, or the limit's). In the child (or with both limits off): applies the
// memory limit and returns nullopt, and the command runs here.
std::optional<int> RunBounded(const Bounds& bounds, BoundedCommand command);

// For `optimize` in a bounded child: tells the parent which stage the pipeline is in, so that a
// limit hit while verifying reads "verification: failed". No-op elsewhere.
void ReportStage(const std::string& stage);

}  // namespace graphopt::cli
