// A metric family: one name, one help text, fixed label names, and one child metric (Counter,
// Gauge or Histogram) per distinct set of label values.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "server/metrics/counter.h"
#include "server/metrics/gauge.h"
#include "server/metrics/histogram.h"
#include "server/metrics/sample.h"

namespace graphopt::metrics {

// Anything the registry can ask for samples at scrape time.
class Collectable {
 public:
  virtual ~Collectable() = default;
  virtual void Collect(std::vector<FamilySnapshot>* out) const = 0;
};

// How each kind of metric turns into samples; one overload per kind.
void AppendSamples(const std::string& name, const LabelPairs& labels, const Counter& c,
                   std::vector<Sample>* out);
void AppendSamples(const std::string& name, const LabelPairs& labels, const Gauge& g,
                   std::vector<Sample>* out);
void AppendSamples(const std::string& name, const LabelPairs& labels, const Histogram& h,
                   std::vector<Sample>* out);

template <typename Metric>
constexpr MetricType MetricTypeOf() {
  if constexpr (std::is_same_v<Metric, Counter>) return MetricType::kCounter;
  if constexpr (std::is_same_v<Metric, Gauge>) return MetricType::kGauge;
  return MetricType::kHistogram;
}

template <typename Metric>
class Family : public Collectable {
 public:
  using Factory = std::function<std::unique_ptr<Metric>()>;

  Family(std::string name, std::string help, std::vector<std::string> label_names, Factory make)
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        make_(std::move(make)) {
    // A family without labels has exactly one child; create it now so that it is exported
    // (as 0) before anything happened, which keeps rate() and absent() meaningful.
    if (label_names_.empty()) WithLabels(std::vector<std::string>{});
  }

  // The child for these label values (in label-name order), created on first use. The
  // reference stays valid for the family's lifetime: hot paths may keep it and skip the
  // lookup. Lookups of existing children share a reader lock; only creation takes it
  // exclusively.
  Metric& WithLabels(std::vector<std::string> values) {
    if (values.size() != label_names_.size()) {
      std::fprintf(stderr, "metrics: %s expects %zu label values, got %zu\n", name_.c_str(),
                   label_names_.size(), values.size());
      std::abort();  // a programming error at a fixed call site, caught by any test
    }
    {
      std::shared_lock lock(mu_);
      auto it = children_.find(values);
      if (it != children_.end()) return *it->second;
    }
    std::unique_lock lock(mu_);
    auto& slot = children_[std::move(values)];
    if (!slot) slot = make_();
    return *slot;
  }
  Metric& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::vector<std::string>(values.begin(), values.end()));
  }
  // The only child of a family without labels.
  Metric& Get() { return WithLabels(std::vector<std::string>{}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void Collect(std::vector<FamilySnapshot>* out) const override {
    FamilySnapshot family{name_, help_, MetricTypeOf<Metric>(), {}};
    std::shared_lock lock(mu_);
    if (children_.empty()) return;  // nothing observed yet for any label set
    for (const auto& [values, metric] : children_) {
      LabelPairs labels;
      labels.reserve(values.size());
      for (size_t i = 0; i < values.size(); ++i) labels.emplace_back(label_names_[i], values[i]);
      AppendSamples(name_, labels, *metric, &family.samples);
    }
    out->push_back(std::move(family));
  }

 private:
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const Factory make_;
  mutable std::shared_mutex mu_;
  // std::map keeps children sorted by label values, so the exposition is deterministic.
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

}  // namespace graphopt::metrics
