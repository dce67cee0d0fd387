// What the service benchmarks do as a client of graphopt-server: upload a file, run one job to
// the end (create, watch, download), and summarize latencies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "graphopt/v1/optimizer.grpc.pb.h"

namespace graphopt::bench {

std::string ReadFile(const std::string& path);

// Streams `bytes` in 1 MiB chunks; false (with the reason on stderr) when the server refuses.
bool Upload(v1::OptimizerService::Stub& stub, const std::string& bytes, v1::FileKind kind,
            v1::Model* model);

// Creates a fresh job at `level`, watches it to the end and downloads the artifact; true when it
// succeeded and the artifact arrived.
bool RunJob(v1::OptimizerService::Stub& stub, const std::string& digest,
            v1::Level level = v1::LEVEL_BASIC);

// The p-quantile (0..1) of `values`, nearest rank.
double Percentile(std::vector<double> values, double p);

// A free TCP port on 127.0.0.1 (free when asked; the caller binds it soon after).
int FreeLoopbackPort();

}  // namespace graphopt::bench
