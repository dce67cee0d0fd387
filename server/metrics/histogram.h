// A distribution of observed values (durations, sizes) counted into fixed buckets, safe to
// observe from any thread without a lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace graphopt::metrics {

class Histogram {
 public:
  // `upper_bounds` are the inclusive bucket limits ("le"); they are sorted and de-duplicated
  // here, and an implicit +Inf bucket catches everything above the last one.
  explicit Histogram(std::vector<double> upper_bounds);

  void Observe(double value);

  struct Snapshot {
    std::vector<double> upper_bounds;         // without +Inf
    std::vector<uint64_t> cumulative_counts;  // one per bound, then one for +Inf
    double sum = 0;
    uint64_t count = 0;  // equals cumulative_counts.back()
  };
  Snapshot Read() const;

  const std::vector<double>& upper_bounds() const { return upper_bounds_; }

  // `count` bounds: start, start*factor, start*factor^2, ...
  static std::vector<double> ExponentialBuckets(double start, double factor, int count);
  // `count` bounds: start, start+width, start+2*width, ...
  static std::vector<double> LinearBuckets(double start, double width, int count);

 private:
  std::vector<double> upper_bounds_;
  // Per-bucket (not cumulative) counts, the last one for +Inf; cumulated when read so that an
  // observation touches exactly one bucket counter.
  std::unique_ptr<std::atomic<uint64_t>[]> bucket_counts_;
  std::atomic<double> sum_{0.0};
};

}  // namespace graphopt::metrics
