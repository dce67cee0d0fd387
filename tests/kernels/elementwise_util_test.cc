// The shared broadcast plan: dim merging, strides of broadcast inputs, incompatible shapes.
#include "backends/reference/kernels/elementwise_util.h"

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

using reference::BroadcastPlan;

TEST(BroadcastPlan, MergesDimsThatBroadcastAlike) {
  BroadcastPlan plan;
  // [2,3,4] with [3,4]: the last two dims run together for both inputs, so they merge.
  ASSERT_TRUE(reference::MakeBroadcastPlan({{2, 3, 4}, {3, 4}}, &plan));
  EXPECT_EQ(plan.out_shape, (Shape{2, 3, 4}));
  EXPECT_EQ(plan.dims, (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(plan.strides[0], (std::vector<int64_t>{12, 1}));
  EXPECT_EQ(plan.strides[1], (std::vector<int64_t>{0, 1}));
}

TEST(BroadcastPlan, ChannelBroadcastKeepsThreeDims) {
  BroadcastPlan plan;
  ASSERT_TRUE(reference::MakeBroadcastPlan({{1, 2, 3, 3}, {1, 2, 1, 1}}, &plan));
  // The leading 1 is dropped; H and W merge; the channel dim is full for both.
  EXPECT_EQ(plan.dims, (std::vector<int64_t>{2, 9}));
  EXPECT_EQ(plan.strides[1], (std::vector<int64_t>{1, 0}));
}

TEST(BroadcastPlan, RunsVisitEveryOutputOnce) {
  BroadcastPlan plan;
  ASSERT_TRUE(reference::MakeBroadcastPlan({{3, 1}, {1, 4}}, &plan));
  std::vector<int64_t> a_index, b_index;
  int64_t visited = 0;
  reference::ForEachBroadcastRun(
      plan, [&](int64_t o, const int64_t* off, const int64_t* step, int64_t n) {
        EXPECT_EQ(o, visited);
        for (int64_t i = 0; i < n; ++i) {
          a_index.push_back(off[0] + i * step[0]);
          b_index.push_back(off[1] + i * step[1]);
        }
        visited += n;
      });
  EXPECT_EQ(visited, 12);
  EXPECT_EQ(a_index, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}));
  EXPECT_EQ(b_index, (std::vector<int64_t>{0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3}));
}

TEST(BroadcastPlan, RejectsIncompatibleAndHandlesEmpty) {
  BroadcastPlan plan;
  EXPECT_FALSE(reference::MakeBroadcastPlan({{2, 3}, {4, 3}}, &plan));
  EXPECT_FALSE(reference::MakeBroadcastPlanTo({{2, 3}}, {3}, &plan));
  ASSERT_TRUE(reference::MakeBroadcastPlan({{0, 3}, {3}}, &plan));
  EXPECT_EQ(plan.out_size, 0);
  int calls = 0;
  reference::ForEachBroadcastRun(
      plan, [&](int64_t, const int64_t*, const int64_t*, int64_t) { ++calls; });
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(reference::MakeBroadcastPlan({{}, {}}, &plan));
  EXPECT_EQ(plan.out_size, 1);
}

}  // namespace
}  // namespace graphopt::testing
