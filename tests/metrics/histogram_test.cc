// Histogram bucket math: inclusive upper bounds, cumulative counts, +Inf, sum and count.
#include "server/metrics/histogram.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace graphopt::metrics {
namespace {

TEST(Histogram, ValuesLandInTheFirstBucketWhoseBoundIsNotSmaller) {
  Histogram h({1, 2, 5});
  for (double v : {-3.0, 0.5, 1.0, 1.0000001, 2.0, 4.99, 5.0, 5.01, 1e9}) h.Observe(v);
  const auto s = h.Read();
  ASSERT_EQ(s.upper_bounds, (std::vector<double>{1, 2, 5}));
  // le=1: -3, 0.5, 1 | le=2: +1.0000001, 2 | le=5: +4.99, 5 | +Inf: +5.01, 1e9
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{3, 5, 7, 9}));
  EXPECT_EQ(s.count, 9u);
  EXPECT_DOUBLE_EQ(s.sum, -3.0 + 0.5 + 1.0 + 1.0000001 + 2.0 + 4.99 + 5.0 + 5.01 + 1e9);
}

TEST(Histogram, BoundsAreSortedDeduplicatedAndInfinityIsImplicit) {
  Histogram h({5, 1, 5, std::numeric_limits<double>::infinity(), 2, std::nan("")});
  EXPECT_EQ(h.upper_bounds(), (std::vector<double>{1, 2, 5}));
  h.Observe(std::numeric_limits<double>::infinity());
  const auto s = h.Read();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{0, 0, 0, 1}));
}

TEST(Histogram, NaNObservationsAreDropped) {
  Histogram h({1});
  h.Observe(std::nan(""));
  h.Observe(0.5);
  const auto s = h.Read();
  EXPECT_EQ(s.count, 1u);
  EXPECT_EQ(s.sum, 0.5);
}

TEST(Histogram, NoBoundsMeansOnlyInf) {
  Histogram h({});
  h.Observe(3);
  h.Observe(4);
  const auto s = h.Read();
  EXPECT_EQ(s.cumulative_counts, (std::vector<uint64_t>{2}));
  EXPECT_EQ(s.sum, 7);
}

TEST(Histogram, BucketGenerators) {
  EXPECT_EQ(Histogram::ExponentialBuckets(0.25, 2, 4), (std::vector<double>{0.25, 0.5, 1, 2}));
  EXPECT_EQ(Histogram::LinearBuckets(1, 0.5, 3), (std::vector<double>{1, 1.5, 2}));
  EXPECT_TRUE(Histogram::ExponentialBuckets(1, 2, 0).empty());
}

}  // namespace
}  // namespace graphopt::metrics
