#include "cli/bounded_run.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "optimizer/util/finite_range.h"
#include "optimizer/util/memory_limit.h"

extern char** environ;

namespace graphopt::cli {

namespace {

// Set in the child's environment: its address-space limit, and the fd it reports stages on.
constexpr const char* kChildEnv = "GRAPHOPT_BOUNDED_CHILD";
constexpr const char* kStageFdEnv = "GRAPHOPT_BOUNDED_STAGE_FD";
constexpr int kStageFd = 3;

std::vector<std::string> OwnCommandLine() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

std::string SignalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? std::string("SIG") + name : "signal " + std::to_string(sig);
}

std::string Seconds(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", s);
  return buffer;
}

// What the command reports when a limit stopped it: verification (`verify`, or `optimize` while
// verifying) fails with the reason; anything else is an error with the reason.
int LimitHit(BoundedCommand command, const std::string& stage, const std::string& reason) {
  const bool verifying = command == BoundedCommand::kVerify ||
                         (command == BoundedCommand::kOptimize && stage == "verifying");
  if (verifying) {
    std::cout << "verification: failed (" << reason << ")\n";
    std::cerr << "graphopt: verification failed: " << reason << "\n";
    return kExitMismatch;
  }
  std::cerr << "graphopt: " << (command == BoundedCommand::kRun ? "run" : "optimization")
            << " stopped: " << reason << "\n";
  return kExitError;
}

}  // namespace

void AddBoundFlags(CLI::App* command, Bounds* bounds) {
  command
      ->add_option("--timeout", bounds->timeout_seconds,
                   "seconds the command may take before it is stopped (0: no limit; "
                   "default 3600)")
      ->check(FiniteRange(0, 1e7));
  command->add_option("--max-memory", bounds->max_memory,
                      "address space the command may use, e.g. 4GiB (0: no limit; default auto: "
                      "3/4 of the container's memory limit or of RAM)");
}

std::optional<int> RunBounded(const Bounds& bounds, BoundedCommand command) {
  if (const char* limit = std::getenv(kChildEnv)) {
    Status limited = LimitAddressSpace(std::atoll(limit));
    if (!limited.ok()) {
      std::cerr << "graphopt: " << limited.message() << "\n";
      return kExitError;
    }
    return std::nullopt;
  }
  int64_t max_memory = 0;
  if (bounds.max_memory == "auto") {
    max_memory = DefaultMemoryShare(1, MemoryLimitOfThisMachine());
  } else {
    auto parsed = ParseByteSize(bounds.max_memory);
    if (!parsed.ok()) {
      std::cerr << "graphopt: --max-memory " << parsed.status().message() << "\n";
      return kExitError;
    }
    max_memory = *parsed;
  }
  if (!(bounds.timeout_seconds >= 0)) {
    std::cerr << "graphopt: --timeout must be a number of seconds >= 0\n";
    return kExitError;
  }
  if (bounds.timeout_seconds == 0 && max_memory == 0) return std::nullopt;

  int stage_pipe[2];
  if (pipe2(stage_pipe, O_CLOEXEC) != 0) {
    std::cerr << "graphopt: pipe: " << std::strerror(errno) << "\n";
    return kExitError;
  }
  std::vector<std::string> args = OwnCommandLine();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> extra = {std::string(kChildEnv) + "=" + std::to_string(max_memory),
                                    std::string(kStageFdEnv) + "=" + std::to_string(kStageFd)};
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (auto& e : extra) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stage_pipe[1], kStageFd);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/proc/self/exe", &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  close(stage_pipe[1]);
  if (rc != 0) {
    close(stage_pipe[0]);
    std::cerr << "graphopt: cannot start the bounded command: " << std::strerror(rc) << "\n";
    return kExitError;
  }

  // Reads stages until the child ends or the time is up.
  using Clock = std::chrono::steady_clock;
  const auto deadline =
      Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(bounds.timeout_seconds * 1000));
  std::string stage, buffer;
  bool timed_out = false, open = true;
  int status = 0;
  while (true) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (bounds.timeout_seconds > 0 && Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      timed_out = true;
      break;
    }
    if (!open) {  // the child closed its end on the way out: reap it promptly
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    pollfd p{stage_pipe[0], POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char chunk[4096];
    const ssize_t n = read(stage_pipe[0], chunk, sizeof(chunk));
    if (n <= 0) {
      open = n < 0 && errno == EINTR;
      continue;
    }
    buffer.append(chunk, static_cast<size_t>(n));
    size_t newline;
    while ((newline = buffer.find('\n')) != std::string::npos) {
      stage = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
    }
  }
  close(stage_pipe[0]);
  if (timed_out) {
    return LimitHit(command, stage,
                    "timed out after " + Seconds(bounds.timeout_seconds) + " s, --timeout");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kOutOfMemoryExit) {
    return LimitHit(command, stage, "exceeded --max-memory " + FormatByteSize(max_memory));
  }
  if (WIFSIGNALED(status)) {
    std::cerr << "graphopt: the command was killed by " << SignalName(WTERMSIG(status)) << "\n";
    return kExitError;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : kExitError;
}

void ReportStage(const std::string& stage) {
  static const bool enabled = std::getenv(kStageFdEnv) != nullptr;
  if (!enabled) return;
  const std::string line = stage + "\n";
  (void)!write(kStageFd, line.data(), line.size());
}

}  // namespace graphopt::cli
