// graphopt_build_info: a constant 1 whose labels say which build is running, so dashboards
// can tell versions apart during a rollout.
#pragma once

#include <string>

#include "server/metrics/registry.h"

namespace graphopt::metrics {

struct BuildInfo {
  std::string version;     // the CMake project version
  std::string build_type;  // Release, RelWithDebInfo, ...
  std::string compiler;    // e.g. "gcc 12.2.0"
};

// The build this binary was compiled as.
BuildInfo CurrentBuildInfo();

// Adds graphopt_build_info{version,build_type,compiler} 1.
void RegisterBuildInfo(Registry& registry, const BuildInfo& info = CurrentBuildInfo());

}  // namespace graphopt::metrics
