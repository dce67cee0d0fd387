#include "server/worker/process_job_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <optional>
#include <thread>
#include <vector>

#include "optimizer/util/memory_limit.h"
#include "server/worker/worker_protocol.h"

extern char** environ;

namespace graphopt::server {

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Close(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset(int fd) {
    Close();
    fd_ = fd;
  }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

Status Errno(const std::string& what) { return Internal(what + ": " + std::strerror(errno)); }

// A spawned worker: killed and reaped when it goes out of scope unexpectedly.
class WorkerProcess {
 public:
  ~WorkerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      int status;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
    }
  }

  Status Spawn(const WorkerProcessOptions& options, Fd* request_in, Fd* messages_out) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return Errno("pipe");
    Fd in_read(in[0]);
    request_in->Reset(in[1]);
    if (pipe2(out, O_CLOEXEC) != 0) return Errno("pipe");
    Fd out_write(out[1]);
    messages_out->Reset(out[0]);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out_write.get(), kWorkerMessageFd);
    // The server blocks its stop signals in every thread (main.cc); the worker starts clean.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> args = {options.executable, "--worker"};
    if (options.max_memory_bytes > 0) {
      args.push_back("--max-memory");
      args.push_back(std::to_string(options.max_memory_bytes));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
    // backends/reference/kernels/test_abort.cc: registers graphopt.test::Abort at start.
    static char kAbortOp[] = "GRAPHOPT_TEST_ABORT_OP=1";
    if (options.debug_abort_op) envp.push_back(kAbortOp);
    envp.push_back(nullptr);
    const int rc =
        posix_spawn(&pid_, options.executable.c_str(), &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      pid_ = -1;
      errno = rc;
      return Errno("cannot start a worker process (" + options.executable + ")");
    }
    return Status::Ok();
  }

  void Kill() {
    if (pid_ > 0) kill(pid_, SIGKILL);
  }
  // Reaps the worker; nullopt while it still runs.
  std::optional<int> TryWait() {
    int status = 0;
    const pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      return status;
    }
    return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
};

class ProcessJobRunner : public JobRunner {
 public:
  ProcessJobRunner(WorkerProcessOptions options, std::unique_ptr<JobRunner> in_process)
      : options_(std::move(options)), in_process_(std::move(in_process)) {}

  Status Validate(const JobOptionsRecord& options) const override {
    return in_process_->Validate(options);
  }
  // Only parses the upload to read its input dims (when --dim is given); no pass runs here.
  Status ValidateForModel(const JobOptionsRecord& options,
                          const std::function<Result<std::string>()>& model_bytes) const override {
    return in_process_->ValidateForModel(options, model_bytes);
  }
  std::string Version() const override { return in_process_->Version(); }

  Result<RunOutcome> Run(const RunRequest& request) override {
    WorkerProcess worker;
    Fd request_in, messages;
    RETURN_IF_ERROR(worker.Spawn(options_, &request_in, &messages));
    // The request is small (paths and options): it fits the pipe, so this cannot block on a
    // worker that died at start (SIGPIPE is ignored by the server: the write just fails).
    (void)WriteAll(request_in.get(), EncodeWorkerRequest(request));
    request_in.Close();

    std::optional<WorkerMessage> result;
    Status protocol_error;
    bool stopped = false;
    std::string buffer;
    auto stop_requested = [&] { return request.cancelled && request.cancelled(); };
    while (!stopped) {
      if (stop_requested()) {
        worker.Kill();
        stopped = true;
        break;
      }
      pollfd p{messages.get(), POLLIN, 0};
      const int ready = poll(&p, 1, options_.poll_ms);
      if (ready < 0 && errno != EINTR) return Errno("poll");
      if (ready <= 0) continue;
      char chunk[65536];
      const ssize_t n = read(messages.get(), chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the worker closed its end: it exited (or is exiting)
      buffer.append(chunk, static_cast<size_t>(n));
      size_t newline;
      while ((newline = buffer.find('\n')) != std::string::npos) {
        auto message = DecodeWorkerMessage(buffer.substr(0, newline));
        buffer.erase(0, newline + 1);
        if (!message.ok()) {
          protocol_error = message.status();
        } else if (message->kind == WorkerMessage::kProgress) {
          if (request.on_progress) request.on_progress(message->progress);
        } else {
          result = std::move(*message);
        }
      }
    }
    messages.Close();

    int status = 0;
    while (true) {
      if (auto exited = worker.TryWait()) {
        status = *exited;
        break;
      }
      if (!stopped && stop_requested()) {
        worker.Kill();
        stopped = true;
      }
      // It closed its pipe on the way out: reap it within a millisecond or two, not a poll.
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (stopped) return Status(StatusCode::kCancelled, "the job's worker was stopped");
    if (WIFSIGNALED(status)) {
      return Internal("the job's worker was killed by " + SignalName(WTERMSIG(status)) +
                      (WTERMSIG(status) == SIGKILL
                           ? " (from outside the server: the kernel's out-of-memory killer?)"
                           : ""));
    }
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == kOutOfMemoryExit) {
      return ResourceExhausted("the job exceeded --job-max-memory (" +
                               FormatByteSize(options_.max_memory_bytes) + ")");
    }
    if (code != 0 || !result) {
      if (!protocol_error.ok()) return protocol_error;
      return Internal("the job's worker exited with status " + std::to_string(code) +
                      " without a result");
    }
    if (!result->status.ok()) return result->status;
    return std::move(result->outcome);
  }

 private:
  WorkerProcessOptions options_;
  std::unique_ptr<JobRunner> in_process_;
};

}  // namespace

std::string SignalName(int signal_number) {
  switch (signal_number) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGABRT:
      return "SIGABRT";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGKILL:
      return "SIGKILL";
    case SIGTERM:
      return "SIGTERM";
    case SIGXCPU:
      return "SIGXCPU";
    case SIGTRAP:
      return "SIGTRAP";
    default:
      return "signal " + std::to_string(signal_number);
  }
}

std::unique_ptr<JobRunner> MakeProcessJobRunner(WorkerProcessOptions options,
                                                std::unique_ptr<JobRunner> in_process) {
  return std::make_unique<ProcessJobRunner>(std::move(options), std::move(in_process));
}

}  // namespace graphopt::server
