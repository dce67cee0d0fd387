// Conv / ConvTranspose / ConvInteger kernels against hand-computed values and a naive loop.
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.h"
#include "kernels_nn/naive_conv.h"

namespace graphopt::testing {
namespace {

void ExpectSameTensor(const Tensor& got, const Tensor& want, double tol = 1e-4) {
  ExpectNear(got, want.shape(), Doubles(want), tol);
}

TEST(ConvKernel, HandComputed3x3WithPadding) {
  // x = 0..24 on 5x5, w = all ones 3x3, pads 1: each output is the sum of its 3x3 neighbourhood.
  std::vector<float> xs(25);
  for (int i = 0; i < 25; ++i) xs[static_cast<size_t>(i)] = static_cast<float>(i);
  auto run =
      RunOp("Conv", 11, {F32({1, 1, 5, 5}, xs), F32({1, 1, 3, 3}, std::vector<float>(9, 1.f))},
            [](ir::Node& n) {
              n.SetInts("pads", {1, 1, 1, 1});
            });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 1, 5, 5},
             {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
              117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
}

TEST(ConvKernel, StridesAsymmetricPaddingMatchNaive) {
  const Tensor x = RandomFloats({2, 3, 7, 6}, 1), w = RandomFloats({4, 3, 3, 2}, 2);
  const Tensor b = RandomFloats({4}, 3);
  auto run = RunOp("Conv", 11, {x, w, b}, [](ir::Node& n) {
    n.SetInts("strides", {2, 1});
    n.SetInts("pads", {1, 0, 0, 1});
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  Conv2DParams p;
  p.stride_h = 2;
  p.pad_top = 1;
  p.pad_right = 1;
  ExpectSameTensor(run.outputs[0], NaiveConv2D(x, w, &b, p));
}

TEST(ConvKernel, GroupsAndDilationsMatchNaive) {
  const Tensor x = RandomFloats({1, 4, 9, 9}, 4), w = RandomFloats({6, 2, 3, 3}, 5);
  auto run = RunOp("Conv", 11, {x, w}, [](ir::Node& n) {
    n.SetInt("group", 2);
    n.SetInts("dilations", {2, 3});
    n.SetInts("pads", {2, 1, 2, 1});
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  Conv2DParams p;
  p.group = 2;
  p.dilation_h = 2;
  p.dilation_w = 3;
  p.pad_top = p.pad_bottom = 2;
  p.pad_left = p.pad_right = 1;
  ExpectSameTensor(run.outputs[0], NaiveConv2D(x, w, nullptr, p));
}

TEST(ConvKernel, DepthwiseWithMultiplierAndStrideMatchesNaive) {
  // group == C with two outputs per channel takes the direct depthwise loop.
  const Tensor x = RandomFloats({2, 3, 10, 11}, 6), w = RandomFloats({6, 1, 3, 3}, 7);
  const Tensor b = RandomFloats({6}, 8);
  auto run = RunOp("Conv", 11, {x, w, b}, [](ir::Node& n) {
    n.SetInt("group", 3);
    n.SetInts("strides", {2, 2});
    n.SetInts("pads", {1, 1, 1, 1});
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  Conv2DParams p;
  p.group = 3;
  p.stride_h = p.stride_w = 2;
  p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
  ExpectSameTensor(run.outputs[0], NaiveConv2D(x, w, &b, p));
}

TEST(ConvKernel, PointwiseMatchesNaive) {
  const Tensor x = RandomFloats({1, 8, 5, 5}, 9), w = RandomFloats({3, 8, 1, 1}, 10);
  auto run = RunOp("Conv", 11, {x, w});
  ASSERT_TRUE(run.status.ok());
  ExpectSameTensor(run.outputs[0], NaiveConv2D(x, w, nullptr, {}));
}

TEST(ConvKernel, AutoPadSameUpperAndLower) {
  // 4 wide, kernel 2, stride 1: one pad in total, at the end (UPPER) or the beginning (LOWER).
  const Tensor x = F32({1, 1, 1, 4}, {1, 2, 3, 4});
  const Tensor w = F32({1, 1, 1, 2}, {1, 10});
  auto upper =
      RunOp("Conv", 11, {x, w}, [](ir::Node& n) { n.SetString("auto_pad", "SAME_UPPER"); });
  auto lower =
      RunOp("Conv", 11, {x, w}, [](ir::Node& n) { n.SetString("auto_pad", "SAME_LOWER"); });
  ASSERT_TRUE(upper.status.ok() && lower.status.ok());
  ExpectNear(upper.outputs[0], {1, 1, 1, 4}, {21, 32, 43, 4});
  ExpectNear(lower.outputs[0], {1, 1, 1, 4}, {10, 21, 32, 43});
}

TEST(ConvKernel, Conv1DAnd3D) {
  // 1-D: [1,2,3,4] * [1,-1] -> differences.
  auto one = RunOp("Conv", 11, {F32({1, 1, 4}, {1, 2, 4, 8}), F32({1, 1, 2}, {1, -1})});
  ASSERT_TRUE(one.status.ok());
  ExpectNear(one.outputs[0], {1, 1, 3}, {-1, -2, -4});
  // 3-D: a 2x2x2 box filter over a 2x2x2 cube of ones with strides gives 8.
  auto three = RunOp("Conv", 11,
                     {F32({1, 1, 2, 2, 2}, std::vector<float>(8, 1.f)),
                      F32({1, 1, 2, 2, 2}, std::vector<float>(8, 1.f))});
  ASSERT_TRUE(three.status.ok());
  ExpectNear(three.outputs[0], {1, 1, 1, 1, 1}, {8});
}

TEST(ConvKernel, Float64AndFloat16FollowFloat32) {
  const Tensor x = RandomFloats({1, 2, 6, 6}, 11), w = RandomFloats({3, 2, 3, 3}, 12);
  auto f32 = RunOp("Conv", 11, {x, w});
  auto f64 = RunOp("Conv", 11, {x.CastTo(DataType::kDouble), w.CastTo(DataType::kDouble)});
  auto f16 = RunOp("Conv", 11, {x.CastTo(DataType::kFloat16), w.CastTo(DataType::kFloat16)});
  ASSERT_TRUE(f32.status.ok() && f64.status.ok() && f16.status.ok());
  EXPECT_EQ(f64.outputs[0].dtype(), DataType::kDouble);
  EXPECT_EQ(f16.outputs[0].dtype(), DataType::kFloat16);
  ExpectSameTensor(f64.outputs[0], f32.outputs[0], 1e-5);
  ExpectSameTensor(f16.outputs[0], f32.outputs[0], 3e-2);
}

TEST(ConvKernel, ChannelMismatchIsAnError) {
  auto run = RunOp("Conv", 11, {RandomFloats({1, 3, 4, 4}), RandomFloats({2, 2, 3, 3})});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.status.message().find("group"), std::string::npos) << run.status.message();
}

TEST(ConvKernel, KernelLargerThanInputIsAnError) {
  auto run = RunOp("Conv", 11, {RandomFloats({1, 1, 2, 2}), RandomFloats({1, 1, 3, 3})});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
}

TEST(ConvTransposeKernel, StridedPaddedGroupedMatchesNaive) {
  const Tensor x = RandomFloats({1, 4, 3, 4}, 13), w = RandomFloats({4, 3, 3, 2}, 14);
  auto run = RunOp("ConvTranspose", 11, {x, w}, [](ir::Node& n) {
    n.SetInt("group", 2);
    n.SetInts("strides", {2, 3});
    n.SetInts("pads", {1, 0, 0, 1});
    n.SetInts("output_padding", {1, 0});
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  Conv2DParams p;
  p.group = 2;
  p.stride_h = 2;
  p.stride_w = 3;
  p.pad_top = 1;
  // Height 2*(3-1)+1+3-1 = 7, width 3*(4-1)+2-1 = 10.
  ExpectSameTensor(run.outputs[0], NaiveConvTranspose2D(x, w, p, 7, 10));
}

TEST(ConvTransposeKernel, HandComputed1D) {
  // x = [1, 2], w = [1, 1, 1], stride 2: [1, 1, 1+2, 2, 2].
  auto run = RunOp("ConvTranspose", 11, {F32({1, 1, 2}, {1, 2}), F32({1, 1, 3}, {1, 1, 1})},
                   [](ir::Node& n) { n.SetInts("strides", {2}); });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 5}, {1, 1, 3, 2, 2});
}

TEST(ConvTransposeKernel, OutputShapeExtendsAtTheEnd) {
  auto run = RunOp("ConvTranspose", 11, {F32({1, 1, 2}, {1, 2}), F32({1, 1, 3}, {1, 1, 1})},
                   [](ir::Node& n) {
                     n.SetInts("strides", {2});
                     n.SetInts("output_shape", {6});
                   });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 6}, {1, 1, 3, 2, 2, 0});
}

TEST(ConvIntegerKernel, SubtractsZeroPoints) {
  // (x - 1) conv (w - 0): x = [2,3,4,5] in 2x2, w = ones 2x2 -> (1+2+3+4) = 10.
  auto run = RunOp("ConvInteger", 10,
                   {Make<uint8_t>(DataType::kUint8, {1, 1, 2, 2}, {2, 3, 4, 5}),
                    Make<uint8_t>(DataType::kUint8, {1, 1, 2, 2}, {1, 1, 1, 1}),
                    Make<uint8_t>(DataType::kUint8, {}, {1})});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(run.outputs[0].dtype(), DataType::kInt32);
  EXPECT_EQ(Values<int32_t>(run.outputs[0]), std::vector<int32_t>{10});
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

TEST(Col2ImKernel, OverlappingBlocksAdd) {
  // 1-D image of 3 from blocks of 2 at stride 1: two columns [a0 a1] and [b0 b1] -> a0, a1+b0, b1.
  auto run =
      RunOp("Col2Im", 18, {F32({1, 2, 2}, {1, 10, 2, 20}), I64({2}, {1, 3}), I64({2}, {1, 2})});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // Rows of the input are block offsets (0, 1); columns are block positions (0, 1).
  ExpectNear(run.outputs[0], {1, 1, 1, 3}, {1, 12, 20});
  auto bad =
      RunOp("Col2Im", 18, {F32({1, 2, 3}, {1, 2, 3, 4, 5, 6}), I64({2}, {1, 3}), I64({2}, {1, 2})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
