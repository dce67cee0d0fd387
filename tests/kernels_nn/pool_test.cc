// Pooling kernels against hand-computed windows (pads, ceil_mode, dilations, indices).
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

// 4x4 input with values 1..16 row-major.
Tensor Ramp4x4() {
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  return F32({1, 1, 4, 4}, v);
}

TEST(MaxPoolKernel, StridedWithIndices) {
  auto run = RunOp(
      "MaxPool", 12, {Ramp4x4()},
      [](ir::Node& n) {
        n.SetInts("kernel_shape", {2, 2});
        n.SetInts("strides", {2, 2});
      },
      2);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 1, 2, 2}, {6, 8, 14, 16});
  EXPECT_EQ(Values<int64_t>(run.outputs[1]), (std::vector<int64_t>{5, 7, 13, 15}));
}

TEST(MaxPoolKernel, ColumnMajorIndicesAndSecondChannelOffset) {
  std::vector<float> v(32);
  for (int i = 0; i < 32; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 16);
  auto run = RunOp(
      "MaxPool", 12, {F32({1, 2, 4, 4}, v)},
      [](ir::Node& n) {
        n.SetInts("kernel_shape", {2, 2});
        n.SetInts("strides", {2, 2});
        n.SetInt("storage_order", 1);
      },
      2);
  ASSERT_TRUE(run.status.ok());
  // Max of the first window is (1,1): column-major index 1*4+1 = 5; window (0,1) max at (1,3):
  // 3*4+1 = 13. The second channel adds 16.
  EXPECT_EQ(Values<int64_t>(run.outputs[1]), (std::vector<int64_t>{5, 13, 7, 15, 21, 29, 23, 31}));
}

TEST(MaxPoolKernel, CeilModePadsAndDilations) {
  auto ceil = RunOp("MaxPool", 12, {Ramp4x4()}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {3, 3});
    n.SetInts("strides", {2, 2});
    n.SetInt("ceil_mode", 1);
  });
  ASSERT_TRUE(ceil.status.ok());
  ExpectNear(ceil.outputs[0], {1, 1, 2, 2}, {11, 12, 15, 16});
  auto dilated = RunOp("MaxPool", 12, {Ramp4x4()}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {2, 2});
    n.SetInts("dilations", {2, 2});
  });
  ASSERT_TRUE(dilated.status.ok());
  ExpectNear(dilated.outputs[0], {1, 1, 2, 2}, {11, 12, 15, 16});
  auto padded = RunOp("MaxPool", 12, {F32({1, 1, 1, 3}, {-5, -6, -7})}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {1, 2});
    n.SetInts("pads", {0, 1, 0, 1});
  });
  ASSERT_TRUE(padded.status.ok());
  // Padding never wins a max, even against negative values.
  ExpectNear(padded.outputs[0], {1, 1, 1, 4}, {-5, -5, -6, -7});
}

TEST(MaxPoolKernel, Uint8) {
  auto run = RunOp("MaxPool", 12, {Make<uint8_t>(DataType::kUint8, {1, 1, 1, 4}, {3, 200, 7, 9})},
                   [](ir::Node& n) {
                     n.SetInts("kernel_shape", {1, 2});
                   });
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(Values<uint8_t>(run.outputs[0]), (std::vector<uint8_t>{200, 200, 9}));
}

TEST(AveragePoolKernel, CountIncludePadOrNot) {
  auto attrs = [](int include) {
    return [include](ir::Node& n) {
      n.SetInts("kernel_shape", {3, 3});
      n.SetInts("pads", {1, 1, 1, 1});
      n.SetInts("strides", {3, 3});
      n.SetInt("count_include_pad", include);
    };
  };
  auto excl = RunOp("AveragePool", 19, {Ramp4x4()}, attrs(0));
  auto incl = RunOp("AveragePool", 19, {Ramp4x4()}, attrs(1));
  ASSERT_TRUE(excl.status.ok() && incl.status.ok());
  // Window (0,0) covers rows/cols -1..1: values 1,2,5,6 (sum 14). Window (0,1) covers cols 2..4:
  // 3,4,7,8 (sum 22, cols 4 is padding). Row 1 windows cover rows 2..4.
  ExpectNear(excl.outputs[0], {1, 1, 2, 2}, {14 / 4.0, 22 / 4.0, 46 / 4.0, 54 / 4.0});
  ExpectNear(incl.outputs[0], {1, 1, 2, 2}, {14 / 9.0, 22 / 9.0, 46 / 9.0, 54 / 9.0});
}

TEST(AveragePoolKernel, CeilModeWindowPastPaddingIsNotCounted) {
  // 1-D: input 1..5, kernel 2, stride 2, ceil_mode: last window [4, 5) holds only x[4] even with
  // count_include_pad, because it lies beyond the (zero) end padding.
  auto run = RunOp("AveragePool", 19, {F32({1, 1, 5}, {1, 2, 3, 4, 5})}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {2});
    n.SetInts("strides", {2});
    n.SetInt("ceil_mode", 1);
    n.SetInt("count_include_pad", 1);
  });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 3}, {1.5, 3.5, 5});
}

TEST(LpPoolKernel, P2) {
  auto run = RunOp("LpPool", 18, {F32({1, 1, 1, 4}, {3, 4, 0, -2})}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {1, 2});
    n.SetInts("strides", {1, 2});
    n.SetInt("p", 2);
  });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 1, 2}, {5, 2});
}

TEST(GlobalPoolKernels, AverageMaxLp) {
  const Tensor x = F32({1, 2, 2, 1}, {1, 3, -4, 2});
  auto avg = RunOp("GlobalAveragePool", 1, {x});
  auto mx = RunOp("GlobalMaxPool", 1, {x});
  auto lp = RunOp("GlobalLpPool", 2, {x}, [](ir::Node& n) { n.SetInt("p", 1); });
  ASSERT_TRUE(avg.status.ok() && mx.status.ok() && lp.status.ok());
  ExpectNear(avg.outputs[0], {1, 2, 1, 1}, {2, -1});
  ExpectNear(mx.outputs[0], {1, 2, 1, 1}, {3, 2});
  ExpectNear(lp.outputs[0], {1, 2, 1, 1}, {4, 6});
}

TEST(MaxUnpoolKernel, ScattersIntoZeros) {
  auto run =
      RunOp("MaxUnpool", 11, {F32({1, 1, 2, 2}, {6, 8, 14, 16}), I64({1, 1, 2, 2}, {5, 7, 13, 15})},
            [](ir::Node& n) {
              n.SetInts("kernel_shape", {2, 2});
              n.SetInts("strides", {2, 2});
            });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 1, 4, 4}, {0, 0, 0, 0, 0, 6, 0, 8, 0, 0, 0, 0, 0, 14, 0, 16});
}

TEST(PoolKernels, MissingKernelShapeIsAnError) {
  auto run = RunOp("MaxPool", 12, {Ramp4x4()});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
  auto bad_stride = RunOp("AveragePool", 19, {Ramp4x4()}, [](ir::Node& n) {
    n.SetInts("kernel_shape", {2, 2});
    n.SetInts("strides", {0, 1});
  });
  EXPECT_EQ(bad_stride.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

TEST(MaxRoiPoolKernel, BinsOfOneRoi) {
  // roi x 0..3, y 0..1 of the 4x4 ramp, pooled 1x2: left bin cols 0-1, right bin cols 2-3.
  auto run = RunOp("MaxRoiPool", 1, {Ramp4x4(), F32({1, 5}, {0, 0, 0, 3, 1})}, [](ir::Node& n) {
    n.SetInts("pooled_shape", {1, 2});
  });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 1, 1, 2}, {6, 8});
  auto bad = RunOp("MaxRoiPool", 1, {Ramp4x4(), F32({1, 5}, {3, 0, 0, 3, 1})}, [](ir::Node& n) {
    n.SetInts("pooled_shape", {1, 2});
  });
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
