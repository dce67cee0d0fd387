// The build's identity, from definitions the build system passes to this file.
#include "server/metrics/build_info.h"

#ifndef GRAPHOPT_VERSION
#define GRAPHOPT_VERSION "unknown"
#endif
#ifndef GRAPHOPT_BUILD_TYPE
#define GRAPHOPT_BUILD_TYPE "unknown"
#endif

namespace graphopt::metrics {

BuildInfo CurrentBuildInfo() {
  BuildInfo info;
  info.version = GRAPHOPT_VERSION;
  info.build_type = GRAPHOPT_BUILD_TYPE;
#if defined(__clang__)
  info.compiler = "clang " __clang_version__;
#elif defined(__GNUC__)
  info.compiler = "gcc " + std::to_string(__GNUC__) + "." + std::to_string(__GNUC_MINOR__) + "." +
                  std::to_string(__GNUC_PATCHLEVEL__);
#else
  info.compiler = "unknown";
#endif
  return info;
}

void RegisterBuildInfo(Registry& registry, const BuildInfo& info) {
  registry
      .AddGauge("graphopt_build_info",
                "A constant 1, labelled with the version and build of the running graphopt.",
                {"version", "build_type", "compiler"})
      .WithLabels({info.version, info.build_type, info.compiler})
      .Set(1);
}

}  // namespace graphopt::metrics
