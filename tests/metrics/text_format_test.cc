// The text exposition format, checked against exact expected text.
#include "server/metrics/text_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "server/metrics/registry.h"

namespace graphopt::metrics {
namespace {

TEST(TextFormat, CounterGaugeHistogramWithLabelsAndEscaping) {
  Registry r;
  auto& requests = r.AddCounter("test_requests_total", "Requests served.\nBy path \\ method.",
                                {"method", "path"});
  requests.WithLabels({"POST", "/x"}).Increment();
  requests.WithLabels({"GET", "/a\"b\\c\nd"}).Increment(3);
  r.AddGauge("test_temperature_celsius", "Temperature.").Get().Set(-1.5);
  auto& latency = r.AddHistogram("test_latency_seconds", "Latency.", {"op"}, {1, 0.25, 2.5});
  for (double v : {0.125, 0.25, 2.0, 100.0}) latency.WithLabels({"read"}).Observe(v);

  const std::string expected =
      "# HELP test_requests_total Requests served.\\nBy path \\\\ method.\n"
      "# TYPE test_requests_total counter\n"
      "test_requests_total{method=\"GET\",path=\"/a\\\"b\\\\c\\nd\"} 3\n"
      "test_requests_total{method=\"POST\",path=\"/x\"} 1\n"
      "# HELP test_temperature_celsius Temperature.\n"
      "# TYPE test_temperature_celsius gauge\n"
      "test_temperature_celsius -1.5\n"
      "# HELP test_latency_seconds Latency.\n"
      "# TYPE test_latency_seconds histogram\n"
      "test_latency_seconds_bucket{op=\"read\",le=\"0.25\"} 2\n"
      "test_latency_seconds_bucket{op=\"read\",le=\"1\"} 2\n"
      "test_latency_seconds_bucket{op=\"read\",le=\"2.5\"} 3\n"
      "test_latency_seconds_bucket{op=\"read\",le=\"+Inf\"} 4\n"
      "test_latency_seconds_sum{op=\"read\"} 102.375\n"
      "test_latency_seconds_count{op=\"read\"} 4\n";
  EXPECT_EQ(r.RenderText(), expected);
}

TEST(TextFormat, UnlabelledFamiliesStartAtZeroAndEmptyLabelledFamiliesAreOmitted) {
  Registry r;
  r.AddCounter("a_total", "A.");
  r.AddCounter("b_total", "B.", {"kind"});
  r.AddHistogram("c_seconds", "C.", {}, {1});
  EXPECT_EQ(r.RenderText(),
            "# HELP a_total A.\n# TYPE a_total counter\na_total 0\n"
            "# HELP c_seconds C.\n# TYPE c_seconds histogram\n"
            "c_seconds_bucket{le=\"1\"} 0\nc_seconds_bucket{le=\"+Inf\"} 0\n"
            "c_seconds_sum 0\nc_seconds_count 0\n");
}

TEST(TextFormat, CollectorFamiliesFollowInRegistrationOrder) {
  Registry r;
  r.AddCollector([](std::vector<FamilySnapshot>* out) {
    out->push_back({"z_bytes", "Z.", MetricType::kGauge, {{"z_bytes", {{"k", "v"}}, 4096}}});
  });
  r.AddGauge("y", "Y.").Get().Set(2);
  EXPECT_EQ(r.RenderText(),
            "# HELP z_bytes Z.\n# TYPE z_bytes gauge\nz_bytes{k=\"v\"} 4096\n"
            "# HELP y Y.\n# TYPE y gauge\ny 2\n");
}

TEST(TextFormat, SampleValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(-7), "-7");
  EXPECT_EQ(FormatSampleValue(1000000), "1000000");
  EXPECT_EQ(FormatSampleValue(0.005), "0.005");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatSampleValue(1e300), "1e+300");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatSampleValue(std::nan("")), "NaN");
  // Shortest form that reads back exactly.
  const double third = 1.0 / 3.0;
  EXPECT_EQ(std::stod(FormatSampleValue(third)), third);
}

TEST(TextFormat, Escaping) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");  // quotes stay in help
  EXPECT_EQ(EscapeLabelValue("ünïcode"), "ünïcode");
}

TEST(TextFormat, NameValidation) {
  EXPECT_TRUE(IsValidMetricName("graphopt_jobs_total"));
  EXPECT_TRUE(IsValidMetricName("job:rate5m"));
  EXPECT_FALSE(IsValidMetricName("9lives"));
  EXPECT_FALSE(IsValidMetricName("has-dash"));
  EXPECT_FALSE(IsValidMetricName(""));
  EXPECT_TRUE(IsValidLabelName("state"));
  EXPECT_FALSE(IsValidLabelName("__name__"));
  EXPECT_FALSE(IsValidLabelName("a:b"));
  EXPECT_FALSE(IsValidLabelName("1x"));
}

TEST(TextFormatDeathTest, BadNamesAndLabelCountsAbort) {
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("bad-name", "x");
      },
      "invalid metric name");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("dup_total", "x");
        r.AddGauge("dup_total", "x");
      },
      "registered twice");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddHistogram("h_seconds", "x", {"le"}, {1});
      },
      "may not use the label 'le'");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddCounter("c_total", "x", {"a", "b"}).WithLabels({"only-one"});
      },
      "expects 2 label values, got 1");
}

TEST(Counter, IgnoresNegativeAndNaNIncrements) {
  Counter c;
  c.Increment(2.5);
  c.Increment(-1);
  c.Increment(std::nan(""));
  c.Increment();
  EXPECT_EQ(c.Value(), 3.5);
}

TEST(Gauge, SetIncrementDecrement) {
  Gauge g;
  g.Set(10);
  g.Increment(2);
  g.Decrement(5);
  g.Decrement();
  EXPECT_EQ(g.Value(), 6);
}

}  // namespace
}  // namespace graphopt::metrics
