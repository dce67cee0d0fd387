// Resize / Upsample against values worked out by hand from the ONNX coordinate formulas.
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

// Resize-19 on a [1, 1, 1, W] row with scales [1, 1, 1, s] (or sizes) and attributes.
KernelRun Resize1D(const std::vector<float>& row, float scale,
                   const std::function<void(ir::Node&)>& attrs, int64_t size = -1) {
  const Tensor x = F32({1, 1, 1, static_cast<int64_t>(row.size())}, row);
  if (size >= 0)
    return RunOp("Resize", 19, {x, Tensor(), Tensor(), I64({4}, {1, 1, 1, size})}, attrs);
  return RunOp("Resize", 19, {x, Tensor(), F32({4}, {1, 1, 1, scale})}, attrs);
}

TEST(ResizeKernel, NearestModesAndTransforms) {
  // asymmetric x2: source x/2 = 0, .5, 1, 1.5 -> round_prefer_floor 0,0,1,1; ceil 0,1,1,2.
  auto floor = Resize1D({1, 2, 3}, 2, [](ir::Node& n) {
    n.SetString("coordinate_transformation_mode", "asymmetric");
  });
  auto ceil = Resize1D({1, 2, 3}, 2, [](ir::Node& n) {
    n.SetString("coordinate_transformation_mode", "asymmetric");
    n.SetString("nearest_mode", "round_prefer_ceil");
  });
  ASSERT_TRUE(floor.status.ok() && ceil.status.ok()) << floor.status.ToString();
  ExpectNear(floor.outputs[0], {1, 1, 1, 6}, {1, 1, 2, 2, 3, 3});
  ExpectNear(ceil.outputs[0], {1, 1, 1, 6}, {1, 2, 2, 3, 3, 3});
  // half_pixel downsample by sizes 4 -> 2: source (o + .5) * 2 - .5 = .5, 2.5 -> floor-preferring
  // 0, 2.
  auto down = Resize1D({1, 2, 3, 4}, 0, {}, 2);
  ASSERT_TRUE(down.status.ok());
  ExpectNear(down.outputs[0], {1, 1, 1, 2}, {1, 3});
}

TEST(ResizeKernel, LinearHalfPixelAndAlignCorners) {
  // half_pixel x2 of [1, 2]: sources -.25, .25, .75, 1.25 -> clamped edges 1, 1.25, 1.75, 2.
  auto half = Resize1D({1, 2}, 2, [](ir::Node& n) { n.SetString("mode", "linear"); });
  ASSERT_TRUE(half.status.ok()) << half.status.ToString();
  ExpectNear(half.outputs[0], {1, 1, 1, 4}, {1, 1.25, 1.75, 2});
  auto corners = Resize1D(
      {1, 3}, 0,
      [](ir::Node& n) {
        n.SetString("mode", "linear");
        n.SetString("coordinate_transformation_mode", "align_corners");
      },
      3);
  ASSERT_TRUE(corners.status.ok());
  ExpectNear(corners.outputs[0], {1, 1, 1, 3}, {1, 2, 3});
}

TEST(ResizeKernel, BilinearIsSeparable) {
  // 2x2 -> 3x3 with align_corners: the centre is the mean of the four corners.
  auto run = RunOp("Resize", 19,
                   {F32({1, 1, 2, 2}, {0, 4, 8, 12}), Tensor(), Tensor(), I64({4}, {1, 1, 3, 3})},
                   [](ir::Node& n) {
                     n.SetString("mode", "linear");
                     n.SetString("coordinate_transformation_mode", "align_corners");
                   });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 3, 3}, {0, 2, 4, 4, 6, 8, 8, 10, 12});
}

TEST(ResizeKernel, CubicAtIntegerSourceKeepsValues) {
  // asymmetric x1 of a row: every source is an integer, so cubic returns the input exactly;
  // at x2 the half-way point between 2 and 3 in a linear ramp stays on the ramp (2.5).
  auto same = Resize1D({1, 2, 3, 4}, 1, [](ir::Node& n) {
    n.SetString("mode", "cubic");
    n.SetString("coordinate_transformation_mode", "asymmetric");
  });
  auto twice = Resize1D({1, 2, 3, 4}, 2, [](ir::Node& n) {
    n.SetString("mode", "cubic");
    n.SetString("coordinate_transformation_mode", "asymmetric");
  });
  ASSERT_TRUE(same.status.ok() && twice.status.ok());
  ExpectNear(same.outputs[0], {1, 1, 1, 4}, {1, 2, 3, 4});
  EXPECT_NEAR(Doubles(twice.outputs[0])[3], 2.5, 1e-6);
}

TEST(ResizeKernel, LinearAntialiasWidensTheFilter) {
  // 4 -> 2 with antialias: scale .5 gives taps at -1..2 around source .5 with weights
  // .125 .375 .375 .125 (edge-clamped): 1*.5 + 2*.375 + 3*.125 = 1.625.
  auto run = Resize1D({1, 2, 3, 4}, 0.5f, [](ir::Node& n) {
    n.SetString("mode", "linear");
    n.SetInt("antialias", 1);
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_NEAR(Doubles(run.outputs[0])[0], 1.625, 1e-6);
}

TEST(ResizeKernel, TfCropAndResizeExtrapolates) {
  // roi [0.5, 1.5] of a 3-wide row: sources 1, 2, 3; 3 is outside -> extrapolation value.
  auto run = RunOp("Resize", 19,
                   {F32({1, 1, 1, 3}, {10, 20, 30}), F32({8}, {0, 0, 0, 0.5f, 1, 1, 1, 1.5f}),
                    Tensor(), I64({4}, {1, 1, 1, 3})},
                   [](ir::Node& n) {
                     n.SetString("mode", "linear");
                     n.SetString("coordinate_transformation_mode", "tf_crop_and_resize");
                     n.SetFloat("extrapolation_value", -1.0f);
                   });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 1, 1, 3}, {20, 30, -1});
}

TEST(ResizeKernel, AxesAndKeepAspectRatio) {
  // sizes 4x6 on a 2x2 image with not_larger: scale min(2, 3) = 2 on both axes -> 4x4.
  auto run =
      RunOp("Resize", 19, {F32({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(), Tensor(), I64({2}, {4, 6})},
            [](ir::Node& n) {
              n.SetInts("axes", {2, 3});
              n.SetString("keep_aspect_ratio_policy", "not_larger");
            });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.outputs[0].shape(), (Shape{1, 1, 4, 4}));
}

TEST(ResizeKernel, Uint8Nearest) {
  auto run = RunOp(
      "Resize", 13, {Make<uint8_t>(DataType::kUint8, {1, 2}, {7, 9}), Tensor(), F32({2}, {1, 2})},
      [](ir::Node& n) { n.SetString("coordinate_transformation_mode", "asymmetric"); });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(Values<uint8_t>(run.outputs[0]), (std::vector<uint8_t>{7, 7, 9, 9}));
}

TEST(UpsampleKernel, NearestRepeats) {
  auto run = RunOp("Upsample", 9, {F32({1, 2}, {1, 2}), F32({2}, {2, 3})});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {2, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
}

TEST(ResizeKernel, BadRequestsAreErrors) {
  const Tensor x = RandomFloats({1, 1, 2, 2});
  auto both = RunOp("Resize", 19, {x, Tensor(), F32({4}, {1, 1, 2, 2}), I64({4}, {1, 1, 4, 4})});
  EXPECT_EQ(both.status.code(), StatusCode::kInvalidArgument);
  auto neither = RunOp("Resize", 19, {x});
  EXPECT_EQ(neither.status.code(), StatusCode::kInvalidArgument);
  auto wrong_len = RunOp("Resize", 19, {x, Tensor(), F32({2}, {2, 2})});
  EXPECT_EQ(wrong_len.status.code(), StatusCode::kInvalidArgument);
  auto bad_mode = RunOp("Resize", 19, {x, Tensor(), F32({4}, {1, 1, 2, 2})},
                        [](ir::Node& n) { n.SetString("mode", "bogus"); });
  EXPECT_EQ(bad_mode.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
