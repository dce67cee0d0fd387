// Registering metric families and collecting them for a scrape.
#include "server/metrics/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "server/metrics/text_format.h"

namespace graphopt::metrics {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "metrics: %s\n", message.c_str());
  std::abort();
}

class FunctionCollector : public Collectable {
 public:
  explicit FunctionCollector(Registry::CollectFunction f) : f_(std::move(f)) {}
  void Collect(std::vector<FamilySnapshot>* out) const override { f_(out); }

 private:
  Registry::CollectFunction f_;
};

}  // namespace

void Registry::CheckNames(const std::string& name, const std::vector<std::string>& label_names,
                          bool is_histogram) {
  if (!IsValidMetricName(name)) Die("invalid metric name '" + name + "'");
  if (std::find(names_.begin(), names_.end(), name) != names_.end()) {
    Die("metric '" + name + "' registered twice");
  }
  for (size_t i = 0; i < label_names.size(); ++i) {
    const auto& label = label_names[i];
    if (!IsValidLabelName(label)) Die("invalid label name '" + label + "' on " + name);
    if (is_histogram && label == "le") Die("histogram " + name + " may not use the label 'le'");
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      Die("label '" + label + "' repeated on " + name);
    }
  }
  names_.push_back(name);
}

Family<Counter>& Registry::AddCounter(const std::string& name, const std::string& help,
                                      std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  CheckNames(name, label_names, false);
  auto family = std::make_unique<Family<Counter>>(name, help, std::move(label_names),
                                                  [] { return std::make_unique<Counter>(); });
  auto& ref = *family;
  collectables_.push_back(std::move(family));
  return ref;
}

Family<Gauge>& Registry::AddGauge(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names) {
  std::lock_guard lock(mu_);
  CheckNames(name, label_names, false);
  auto family = std::make_unique<Family<Gauge>>(name, help, std::move(label_names),
                                                [] { return std::make_unique<Gauge>(); });
  auto& ref = *family;
  collectables_.push_back(std::move(family));
  return ref;
}

Family<Histogram>& Registry::AddHistogram(const std::string& name, const std::string& help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> upper_bounds) {
  std::lock_guard lock(mu_);
  CheckNames(name, label_names, true);
  auto family = std::make_unique<Family<Histogram>>(
      name, help, std::move(label_names),
      [upper_bounds] { return std::make_unique<Histogram>(upper_bounds); });
  auto& ref = *family;
  collectables_.push_back(std::move(family));
  return ref;
}

void Registry::AddCollector(CollectFunction collect) {
  std::lock_guard lock(mu_);
  collectables_.push_back(std::make_unique<FunctionCollector>(std::move(collect)));
}

std::vector<FamilySnapshot> Registry::Collect() const {
  std::vector<FamilySnapshot> out;
  std::lock_guard lock(mu_);
  for (const auto& c : collectables_) c->Collect(&out);
  return out;
}

std::string Registry::RenderText() const { return RenderTextFormat(Collect()); }

}  // namespace graphopt::metrics
