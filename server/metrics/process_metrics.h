// The standard process_* metrics (memory, CPU, file descriptors, start time), read from
// /proc/self at scrape time with the names every Prometheus dashboard expects.
#pragma once

#include <optional>

#include "server/metrics/registry.h"

namespace graphopt::metrics {

// What /proc says about this process; a field is empty when its file could not be read.
struct ProcessStats {
  std::optional<double> resident_memory_bytes;
  std::optional<double> virtual_memory_bytes;
  std::optional<double> cpu_seconds;         // user + system
  std::optional<double> start_time_seconds;  // since the Unix epoch
  std::optional<double> open_fds;
  std::optional<double> max_fds;  // the soft limit
};

ProcessStats ReadProcessStats();

// Adds a collector that exports ReadProcessStats() as process_resident_memory_bytes,
// process_virtual_memory_bytes, process_cpu_seconds_total, process_start_time_seconds,
// process_open_fds and process_max_fds.
void RegisterProcessMetrics(Registry& registry);

}  // namespace graphopt::metrics
