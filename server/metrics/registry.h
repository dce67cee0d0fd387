// The set of metric families a process exports, in registration order; a scrape collects
// them all into one snapshot.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "server/metrics/family.h"
#include "server/metrics/sample.h"

namespace graphopt::metrics {

class Registry {
 public:
  // Families live as long as the registry; the returned references stay valid. Names and
  // label names are checked here (an invalid or duplicate name is a programming error and
  // aborts with a message).
  Family<Counter>& AddCounter(const std::string& name, const std::string& help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(const std::string& name, const std::string& help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> upper_bounds);

  // A function that appends families computed at scrape time (process metrics, values
  // owned by someone else). It must be cheap and must not call back into the registry.
  using CollectFunction = std::function<void(std::vector<FamilySnapshot>* out)>;
  void AddCollector(CollectFunction collect);

  std::vector<FamilySnapshot> Collect() const;
  // Collect() rendered in the text exposition format.
  std::string RenderText() const;

 private:
  void CheckNames(const std::string& name, const std::vector<std::string>& label_names,
                  bool is_histogram);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Collectable>> collectables_;
  std::vector<std::string> names_;
};

}  // namespace graphopt::metrics
