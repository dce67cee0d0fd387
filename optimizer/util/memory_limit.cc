#include "optimizer/util/memory_limit.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <new>

namespace graphopt {

int64_t MemoryLimitOfThisMachine(const std::string& cgroup_root) {
  int64_t ram = 0;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page_size > 0) ram = static_cast<int64_t>(pages) * page_size;
  std::ifstream in(cgroup_root + "/memory.max");
  std::string text;
  if (in >> text && text != "max") {
    try {
      const int64_t limit = std::stoll(text);
      if (limit > 0) return ram > 0 ? std::min(limit, ram) : limit;
    } catch (const std::exception&) {
    }
  }
  return ram;
}

int64_t DefaultMemoryShare(int processes, int64_t machine_limit) {
  constexpr int64_t kFloor = int64_t{512} << 20;
  if (machine_limit <= 0) return int64_t{4} << 30;
  const int64_t share = machine_limit / 4 * 3 / std::max(1, processes);
  return std::max(share, kFloor);
}

Result<int64_t> ParseByteSize(const std::string& text) {
  size_t pos = 0;
  double number = 0;
  try {
    number = std::stod(text, &pos);
  } catch (const std::exception&) {
    return InvalidArgument("'" + text + "' is not a size (e.g. 512MiB, 4GiB)");
  }
  std::string unit = text.substr(pos);
  std::transform(unit.begin(), unit.end(), unit.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  double scale = 1;
  if (!unit.empty() && unit != "B") {
    const std::string units = "KMGT";
    const size_t power = units.find(unit[0]);
    const std::string rest = unit.substr(1);
    if (power == std::string::npos ||
        !(rest.empty() || rest == "B" || rest == "IB" || rest == "I")) {
      return InvalidArgument("'" + text + "' has an unknown unit (use K, M, G or T)");
    }
    scale = std::pow(1024.0, static_cast<double>(power + 1));
  }
  const double bytes = number * scale;
  if (!std::isfinite(bytes) || bytes < 0 || bytes > 9.0e18) {
    return InvalidArgument("'" + text + "' is not a size in range");
  }
  return static_cast<int64_t>(bytes);
}

std::string FormatByteSize(int64_t bytes) {
  char buffer[32];
  if (bytes >= (int64_t{1} << 30)) {
    std::snprintf(buffer, sizeof(buffer), "%.1f GiB", bytes / double(int64_t{1} << 30));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.0f MiB", bytes / double(1 << 20));
  }
  return buffer;
}

namespace {

// Allocates nothing: the heap is what just failed.
void ExitOutOfMemory() {
  static const char kMessage[] = "graphopt: out of memory under the address-space limit\n";
  (void)!write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  _exit(kOutOfMemoryExit);
}

}  // namespace

Status LimitAddressSpace(int64_t bytes) {
  if (bytes <= 0) return Status::Ok();
  struct rlimit limit;
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(bytes);
  if (setrlimit(RLIMIT_AS, &limit) != 0) {
    return Internal(std::string("setrlimit(RLIMIT_AS): ") + std::strerror(errno));
  }
  std::set_new_handler(ExitOutOfMemory);
  return Status::Ok();
}

}  // namespace graphopt
