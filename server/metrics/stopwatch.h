// Elapsed wall time in seconds, the unit every graphopt_*_seconds metric takes.
#pragma once

#include <chrono>

namespace graphopt::metrics {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double Seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace graphopt::metrics
