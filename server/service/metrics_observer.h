// The ServerObserver that feeds the Prometheus registry of server/metrics.
#pragma once

#include <memory>

#include "server/metrics/metrics.h"
#include "server/jobs/observer.h"

namespace graphopt::server {

std::shared_ptr<ServerObserver> MakeMetricsObserver(
    std::shared_ptr<metrics::ServerMetrics> metrics);

}  // namespace graphopt::server
