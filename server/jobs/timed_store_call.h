// Times one job-store operation and reports it to the observer under one operation name: its
// latency, and whether it failed (graphopt_store_operation_duration_seconds and
// graphopt_store_errors_total).
#pragma once

#include <chrono>
#include <string_view>
#include <utility>

#include "server/jobs/observer.h"

namespace graphopt::server {

// `call` returns a Status or a Result<T>; its value is returned unchanged.
template <typename Call>
auto TimedStoreCall(ServerObserver& observer, std::string_view operation, Call&& call) {
  const auto start = std::chrono::steady_clock::now();
  auto result = std::forward<Call>(call)();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  observer.OnStoreOperation(operation, took.count(), result.ok());
  return result;
}

}  // namespace graphopt::server
