// Many threads updating and scraping the same metrics: no lost updates, consistent snapshots.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics/registry.h"
#include "server/metrics/text_format.h"

namespace graphopt::metrics {
namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 20000;

TEST(Concurrency, CountersGaugesAndHistogramsLoseNoUpdates) {
  Registry r;
  Counter& counter = r.AddCounter("c_total", "C.").Get();
  Gauge& gauge = r.AddGauge("g", "G.").Get();
  Histogram& hist = r.AddHistogram("h_seconds", "H.", {}, {1, 2, 3}).Get();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        gauge.Increment(2);
        gauge.Decrement();
        hist.Observe(t % 4 + 0.5);  // threads 0,4 -> le=1; 1,5 -> le=2; 2,6 -> le=3; 3,7 -> +Inf
      }
    });
  }
  for (auto& th : threads) th.join();
  const double total = static_cast<double>(kThreads) * kPerThread;
  EXPECT_EQ(counter.Value(), total);
  EXPECT_EQ(gauge.Value(), total);
  const auto s = hist.Read();
  const uint64_t quarter = kThreads / 4 * kPerThread;
  EXPECT_EQ(s.cumulative_counts,
            (std::vector<uint64_t>{quarter, 2 * quarter, 3 * quarter, 4 * quarter}));
  EXPECT_DOUBLE_EQ(s.sum, quarter * (0.5 + 1.5 + 2.5 + 3.5));
}

TEST(Concurrency, ChildrenCreatedRacingGetOneInstancePerLabelSet) {
  Registry r;
  auto& family = r.AddCounter("by_key_total", "By key.", {"key"});
  constexpr int kKeys = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        family.WithLabels({"k" + std::to_string(i % kKeys)}).Increment();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int k = 0; k < kKeys; ++k) {
    EXPECT_EQ(family.WithLabels({"k" + std::to_string(k)}).Value(), kThreads * kPerThread / kKeys)
        << "key k" << k;
  }
  const auto families = r.Collect();
  ASSERT_EQ(families.size(), 1u);
  EXPECT_EQ(families[0].samples.size(), static_cast<size_t>(kKeys));
}

// A scrape racing with observations still shows _count equal to the +Inf bucket and
// non-decreasing cumulative buckets.
TEST(Concurrency, ScrapesDuringUpdatesAreInternallyConsistent) {
  Registry r;
  auto& family = r.AddHistogram("lat_seconds", "Lat.", {"op"}, {0.1, 1, 10});
  std::atomic<bool> done{false};
  std::atomic<int> writing{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; !done; ++i) {
        family.WithLabels({"op" + std::to_string(i % 3)}).Observe((i % 40) * 0.5);
        if (i == 0) ++writing;
      }
    });
  }
  // Scrape only while every writer is active, until 300 histograms were checked.
  while (writing < 4) std::this_thread::yield();
  int checked = 0;
  while (checked < 300) {
    for (const auto& f : r.Collect()) {
      double previous_bucket = 0;
      for (const auto& sample : f.samples) {
        if (sample.name == "lat_seconds_bucket") {
          EXPECT_GE(sample.value, previous_bucket);
          previous_bucket = sample.value;
        } else if (sample.name == "lat_seconds_count") {
          EXPECT_EQ(sample.value, previous_bucket);  // the +Inf bucket came just before
          previous_bucket = 0;
          ++checked;
        }
      }
    }
  }
  done = true;
  for (auto& th : writers) th.join();
}

}  // namespace
}  // namespace graphopt::metrics
