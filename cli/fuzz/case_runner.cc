#include "cli/fuzz/case_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/optimize_model.h"

namespace graphopt::fuzz {

std::string Combo::Name() const { return std::string(LevelName(level)) + "/" + target; }

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kCrash:
      return "crash";
    case Outcome::kMismatch:
      return "mismatch";
  }
  return "?";
}

namespace {

ComboResult RunComboOrThrow(const std::string& model_bytes, const Combo& combo) {
  ComboResult r{combo, Outcome::kOk, ""};
  auto loaded = LoadModelFromBytes(model_bytes);
  if (!loaded.ok())
    return {combo, Outcome::kSkipped, "does not load: " + loaded.status().message()};
  std::unique_ptr<ir::Model> model = std::move(*loaded);
  // As OptimizeFile does: dims named before the copy, so both models agree on sample values.
  ir::NameUnknownInputDims(*model);
  std::unique_ptr<ir::Model> original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = combo.level;
  options.target = combo.target;
  options.verify_ir = true;
  options.bisect_on_failure = false;  // the shrinker finds the small case; bisecting it is cheap
  auto report = OptimizeModel(*model, original.get(), options);
  if (!report.ok()) return {combo, Outcome::kCrash, report.status().ToString()};
  if (report->verification_status == VerificationStatus::kSkipped) {
    return {combo, Outcome::kSkipped, report->verification_message};
  }
  if (report->verification_status == VerificationStatus::kFailed) {
    return {combo, Outcome::kMismatch, report->verification_message};
  }
  for (const auto& [op, count] : report->ops_after) {
    if (!report->ops_before.count(op)) r.new_ops[op] = count;
  }
  // The artifact must also survive what `optimize` does next: saving, and loading it again.
  auto bytes = SerializeModel(*model);
  if (!bytes.ok()) return {combo, Outcome::kCrash, "saving: " + bytes.status().ToString()};
  auto again = LoadModelFromBytes(*bytes);
  if (!again.ok()) return {combo, Outcome::kCrash, "reloading: " + again.status().ToString()};
  return r;
}

bool WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// One record per combo: "<outcome> <message length> <new op count>\n<message>", then one line
// "<op> <count>" per new operator.
std::string Encode(const ComboResult& r) {
  std::string out = std::to_string(static_cast<int>(r.outcome)) + " " +
                    std::to_string(r.message.size()) + " " + std::to_string(r.new_ops.size()) +
                    "\n" + r.message;
  for (const auto& [op, count] : r.new_ops) out += op + " " + std::to_string(count) + "\n";
  return out;
}

std::vector<ComboResult> Decode(const std::string& data, const std::vector<Combo>& combos) {
  std::vector<ComboResult> out;
  size_t pos = 0;
  while (out.size() < combos.size()) {
    const size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) break;
    int outcome = 0;
    size_t length = 0, ops = 0;
    if (std::sscanf(data.c_str() + pos, "%d %zu %zu", &outcome, &length, &ops) != 3) break;
    if (nl + 1 + length > data.size()) break;
    ComboResult r{combos[out.size()], static_cast<Outcome>(outcome), data.substr(nl + 1, length)};
    pos = nl + 1 + length;
    bool complete = true;
    for (size_t k = 0; k < ops; ++k) {
      const size_t end = data.find('\n', pos);
      if (end == std::string::npos) {
        complete = false;
        break;
      }
      const std::string line = data.substr(pos, end - pos);
      const size_t space = line.rfind(' ');
      r.new_ops[line.substr(0, space)] = std::stoll(line.substr(space + 1));
      pos = end + 1;
    }
    if (!complete) break;
    out.push_back(std::move(r));
  }
  return out;
}

std::string Tail(FILE* f, size_t max) {
  std::fflush(f);
  std::string all;
  std::rewind(f);
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), f)) > 0) all.append(buffer, n);
  if (all.size() > max) all = "..." + all.substr(all.size() - max);
  for (char& c : all) {
    if (c == '\n') c = ' ';
  }
  return all;
}

}  // namespace

ComboResult RunCombo(const std::string& model_bytes, const Combo& combo) {
  try {
    return RunComboOrThrow(model_bytes, combo);
  } catch (const std::exception& e) {
    return {combo, Outcome::kCrash, std::string("exception: ") + e.what()};
  }
}

std::vector<ComboResult> RunIsolated(const std::string& model_bytes,
                                     const std::vector<Combo>& combos, double timeout_seconds,
                                     ComboRunner run) {
  int fds[2];
  if (pipe(fds) != 0) return {{combos.at(0), Outcome::kCrash, "pipe failed"}};
  FILE* err = std::tmpfile();
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    if (err) dup2(fileno(err), STDERR_FILENO);
    for (const Combo& combo : combos) {
      if (!WriteAll(fds[1], Encode(run(model_bytes, combo)))) _exit(3);
    }
    _exit(0);  // no atexit handlers or static destructors of the parent's state
  }
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    if (err) std::fclose(err);
    return {{combos.at(0), Outcome::kCrash, "fork failed"}};
  }
  std::string data;
  bool timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::vector<ComboResult> results = Decode(data, combos);
  if (results.size() < combos.size()) {
    std::string why;
    if (timed_out) {
      why = "hang: no result within " + std::to_string(static_cast<int>(timeout_seconds)) + " s";
    } else if (WIFSIGNALED(status)) {
      const char* name = sigabbrev_np(WTERMSIG(status));
      why = "killed by signal " +
            (name ? std::string("SIG") + name : std::to_string(WTERMSIG(status)));
    } else {
      why = "exited with code " + std::to_string(WEXITSTATUS(status));
    }
    if (err) {
      const std::string tail = Tail(err, 400);
      if (!tail.empty()) why += "; stderr: " + tail;
    }
    results.push_back({combos[results.size()], Outcome::kCrash, why});
  }
  if (err) std::fclose(err);
  return results;
}

}  // namespace graphopt::fuzz
