// Reading /proc/self/stat, /proc/stat, /proc/self/fd and /proc/self/limits.
#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace graphopt::metrics {
namespace {

std::optional<double> BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t;
      if (in >> t) return t;
      return std::nullopt;
    }
    in.ignore(1 << 20, '\n');
  }
  return std::nullopt;
}

void ReadStat(ProcessStats* s) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return;
  // The command name (field 2) is in parentheses and may itself contain spaces or ')', so
  // fields are counted from the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return;
  std::istringstream rest(line.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 ("state") of proc(5)
  for (std::string f; rest >> f;) fields.push_back(f);
  if (fields.size() < 22) return;
  const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page_size = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double utime = std::strtod(fields[14 - 3].c_str(), nullptr);
  const double stime = std::strtod(fields[15 - 3].c_str(), nullptr);
  const double start_ticks = std::strtod(fields[22 - 3].c_str(), nullptr);
  s->cpu_seconds = (utime + stime) / ticks_per_second;
  s->virtual_memory_bytes = std::strtod(fields[23 - 3].c_str(), nullptr);
  s->resident_memory_bytes = std::strtod(fields[24 - 3].c_str(), nullptr) * page_size;
  if (auto boot = BootTimeSeconds()) s->start_time_seconds = *boot + start_ticks / ticks_per_second;
}

std::optional<double> CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return std::nullopt;
  const int own_fd = dirfd(dir);  // listing the directory opens one more fd: not ours to count
  double count = 0;
  while (dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == ".." || name == std::to_string(own_fd)) continue;
    ++count;
  }
  closedir(dir);
  return count;
}

std::optional<double> MaxFdsSoftLimit() {
  std::ifstream in("/proc/self/limits");
  const std::string prefix = "Max open files";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) != 0) continue;
    std::istringstream fields(line.substr(prefix.size()));
    std::string soft;
    if (!(fields >> soft)) return std::nullopt;
    if (soft == "unlimited") return std::nullopt;
    return std::strtod(soft.c_str(), nullptr);
  }
  return std::nullopt;
}

void AddGaugeOrCounter(std::vector<FamilySnapshot>* out, const char* name, const char* help,
                       MetricType type, const std::optional<double>& value) {
  if (!value) return;
  out->push_back({name, help, type, {{name, {}, *value}}});
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  ReadStat(&s);
  s.open_fds = CountOpenFds();
  s.max_fds = MaxFdsSoftLimit();
  return s;
}

void RegisterProcessMetrics(Registry& registry) {
  registry.AddCollector([](std::vector<FamilySnapshot>* out) {
    const ProcessStats s = ReadProcessStats();
    AddGaugeOrCounter(out, "process_cpu_seconds_total",
                      "Total user and system CPU time spent in seconds.", MetricType::kCounter,
                      s.cpu_seconds);
    AddGaugeOrCounter(out, "process_open_fds", "Number of open file descriptors.",
                      MetricType::kGauge, s.open_fds);
    AddGaugeOrCounter(out, "process_max_fds", "Maximum number of open file descriptors.",
                      MetricType::kGauge, s.max_fds);
    AddGaugeOrCounter(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                      MetricType::kGauge, s.virtual_memory_bytes);
    AddGaugeOrCounter(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                      MetricType::kGauge, s.resident_memory_bytes);
    AddGaugeOrCounter(out, "process_start_time_seconds",
                      "Start time of the process since unix epoch in seconds.", MetricType::kGauge,
                      s.start_time_seconds);
  });
}

}  // namespace graphopt::metrics
