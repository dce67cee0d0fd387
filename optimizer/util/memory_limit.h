// Memory limits of a process that runs untrusted models (a server job's worker, a bounded CLI
// command): the machine's limit, a default share of it, "4GiB"-style sizes, and the
// address-space limit with its out-of-memory exit.
#pragma once

#include <cstdint>
#include <string>

#include "optimizer/util/status.h"

namespace graphopt {

// The container's memory limit (cgroup v2 memory.max under `cgroup_root`), else physical RAM;
// 0 when neither is known.
int64_t MemoryLimitOfThisMachine(const std::string& cgroup_root = "/sys/fs/cgroup");

// A default limit: three quarters of `machine_limit` shared by `processes` running at once (the
// rest is for the server or shell and the page cache), at least 512 MiB.
int64_t DefaultMemoryShare(int processes, int64_t machine_limit);

// The exit code of a process whose allocation failed under its address-space limit.
inline constexpr int kOutOfMemoryExit = 86;
// Sets RLIMIT_AS to `bytes` (0: leave it) and makes a failed allocation exit the process with
// kOutOfMemoryExit at once, instead of a std::bad_alloc that code on the way (the executor turns
// exceptions into statuses) could report as some other error.
Status LimitAddressSpace(int64_t bytes);

// "512MiB", "4G", "1.5GB", "1073741824": bytes. Suffixes K/M/G/T (with optional B or iB) are
// powers of 1024, as in Kubernetes' Ki/Mi/Gi.
Result<int64_t> ParseByteSize(const std::string& text);
std::string FormatByteSize(int64_t bytes);

}  // namespace graphopt
