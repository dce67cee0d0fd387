// A background process started by a test (prometheus, graphopt-server), stopped and reaped
// when the test is done, with its output in a log file for diagnostics.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace graphopt::testing {

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Runs argv[0] (looked up on PATH) with stdout and stderr appended to `log_path`. False,
  // with a reason in *error, when it cannot be started.
  bool Start(const std::vector<std::string>& argv, const std::string& log_path, std::string* error);
  // True while the process has not exited.
  bool Running();
  // SIGTERM, then SIGKILL if it has not exited after `grace_seconds`; returns the exit
  // status as waitpid reports it (-1 when it was not running).
  int Stop(int grace_seconds = 10);
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
};

// Reads a whole file ("" when missing).
std::string ReadFileOrEmpty(const std::string& path);

}  // namespace graphopt::testing
