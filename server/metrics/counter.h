// A monotonically increasing value (requests served, bytes received), safe to bump from any
// thread without a lock.
#pragma once

#include <atomic>

namespace graphopt::metrics {

class Counter {
 public:
  // Negative or NaN increments are ignored: a counter that went down would look like a reset
  // to Prometheus' rate() and produce nonsense spikes.
  void Increment(double by = 1.0) {
    if (!(by > 0)) return;
    value_.fetch_add(by, std::memory_order_relaxed);
  }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0.0};
};

}  // namespace graphopt::metrics
