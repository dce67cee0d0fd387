// Turning counters, gauges and histograms into exposition samples.
#include "server/metrics/family.h"

#include "server/metrics/text_format.h"

namespace graphopt::metrics {

void AppendSamples(const std::string& name, const LabelPairs& labels, const Counter& c,
                   std::vector<Sample>* out) {
  out->push_back({name, labels, c.Value()});
}

void AppendSamples(const std::string& name, const LabelPairs& labels, const Gauge& g,
                   std::vector<Sample>* out) {
  out->push_back({name, labels, g.Value()});
}

void AppendSamples(const std::string& name, const LabelPairs& labels, const Histogram& h,
                   std::vector<Sample>* out) {
  const Histogram::Snapshot s = h.Read();
  for (size_t i = 0; i < s.cumulative_counts.size(); ++i) {
    LabelPairs with_le = labels;
    with_le.emplace_back("le", i < s.upper_bounds.size() ? FormatSampleValue(s.upper_bounds[i])
                                                         : std::string("+Inf"));
    out->push_back(
        {name + "_bucket", std::move(with_le), static_cast<double>(s.cumulative_counts[i])});
  }
  out->push_back({name + "_sum", labels, s.sum});
  out->push_back({name + "_count", labels, static_cast<double>(s.count)});
}

}  // namespace graphopt::metrics
