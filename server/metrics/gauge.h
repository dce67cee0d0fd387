// A value that goes up and down (queue depth, busy workers), safe to change from any thread
// without a lock.
#pragma once

#include <atomic>

namespace graphopt::metrics {

class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Increment(double by = 1.0) { value_.fetch_add(by, std::memory_order_relaxed); }
  void Decrement(double by = 1.0) { value_.fetch_sub(by, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace graphopt::metrics
