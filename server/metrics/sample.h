// The snapshot a scrape takes of every metric: families of samples, independent of how the
// values were stored, so the text format and tests work on plain data.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace graphopt::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// (name, value) pairs in the order the family declared its label names.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;  // full sample name, e.g. "x_bucket" for a histogram's bucket line
  LabelPairs labels;
  double value = 0;
};

struct FamilySnapshot {
  std::string name;
  std::string help;
  MetricType type = MetricType::kCounter;
  std::vector<Sample> samples;
};

}  // namespace graphopt::metrics
