// GridSample against hand-computed samples of a small image.
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(GridSampleKernel, BilinearNearestAndPadding) {
  // 1x2 image [10, 20]; grid x = -1 (left edge), 0 (centre), 1 (right edge), 3 (outside).
  const Tensor x = F32({1, 1, 1, 2}, {10, 20});
  const Tensor grid = F32({1, 1, 4, 2}, {-1, 0, 0, 0, 1, 0, 3, 0});
  auto corners =
      RunOp("GridSample", 16, {x, grid}, [](ir::Node& n) { n.SetInt("align_corners", 1); });
  ASSERT_TRUE(corners.status.ok()) << corners.status.ToString();
  // align_corners: -1 -> 0, 0 -> .5, 1 -> 1, 3 -> 3 (zeros padding: both taps outside).
  ExpectNear(corners.outputs[0], {1, 1, 1, 4}, {10, 15, 20, 0});
  auto border = RunOp("GridSample", 16, {x, grid},
                      [](ir::Node& n) { n.SetString("padding_mode", "border"); });
  ASSERT_TRUE(border.status.ok());
  // align_corners=0: -1 -> -.5 (taps -1 and 0; border repeats pixel 0), 0 -> .5, 1 -> 1.5
  // (taps 1 and 2; 2 repeats pixel 1), 3 -> 3.5, outside [-.5, 1.5] so clamped to 1.
  ExpectNear(border.outputs[0], {1, 1, 1, 4}, {10, 15, 20, 20});
  auto nearest = RunOp("GridSample", 16, {x, F32({1, 1, 2, 2}, {-0.6f, 0, 0.6f, 0})},
                       [](ir::Node& n) { n.SetString("mode", "nearest"); });
  ASSERT_TRUE(nearest.status.ok());
  // -.6 -> ((-.6+1)*2-1)/2 = -.1 -> 0; .6 -> 1.1 -> 1.
  ExpectNear(nearest.outputs[0], {1, 1, 1, 2}, {10, 20});
}

TEST(GridSampleKernel, GridShapeMismatchIsAnError) {
  auto run = RunOp("GridSample", 16, {RandomFloats({1, 1, 2, 2}), RandomFloats({1, 2, 2, 3})});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

TEST(AffineGridKernel, IdentityAndTranslation) {
  // 2x2 output, align_corners=0: pixel centres at -.5 and .5; x (width) comes first per point.
  auto id = RunOp("AffineGrid", 20, {F32({1, 2, 3}, {1, 0, 0, 0, 1, 0}), I64({4}, {1, 1, 2, 2})});
  ASSERT_TRUE(id.status.ok()) << id.status.ToString();
  ExpectNear(id.outputs[0], {1, 2, 2, 2}, {-.5, -.5, .5, -.5, -.5, .5, .5, .5});
  // align_corners=1 puts the points on the corners; theta shifts x by .25.
  auto shifted =
      RunOp("AffineGrid", 20, {F32({1, 2, 3}, {1, 0, 0.25f, 0, 1, 0}), I64({4}, {1, 1, 1, 2})},
            [](ir::Node& n) { n.SetInt("align_corners", 1); });
  ASSERT_TRUE(shifted.status.ok());
  ExpectNear(shifted.outputs[0], {1, 1, 2, 2}, {-0.75, -1, 1.25, -1});
  auto bad = RunOp("AffineGrid", 20, {RandomFloats({1, 2, 3}), I64({5}, {1, 1, 2, 2, 2})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
