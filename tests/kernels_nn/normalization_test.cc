// Normalization kernels against formulas evaluated by hand or in naive loops.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(BatchNormalizationKernel, InferenceUsesRunningStatistics) {
  // Channel 0: (x - 1) / sqrt(4) * 2 + 0; channel 1: (x - 0) / sqrt(1) * 1 + 0.5 (epsilon 0).
  auto run = RunOp("BatchNormalization", 15,
                   {F32({1, 2, 2}, {1, 5, 3, -3}), F32({2}, {2, 1}), F32({2}, {0, 0.5f}),
                    F32({2}, {1, 0}), F32({2}, {4, 1})},
                   [](ir::Node& n) { n.SetFloat("epsilon", 0.0f); });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {1, 2, 2}, {0, 4, 3.5, -2.5});
}

TEST(BatchNormalizationKernel, TrainingModeUsesBatchStatistics) {
  // One channel, values 1,3 over the batch: mean 2, population var 1.
  auto run = RunOp(
      "BatchNormalization", 15,
      {F32({2, 1}, {1, 3}), F32({1}, {1}), F32({1}, {0}), F32({1}, {10}), F32({1}, {5})},
      [](ir::Node& n) {
        n.SetInt("training_mode", 1);
        n.SetFloat("epsilon", 0.0f);
        n.SetFloat("momentum", 0.5f);
      },
      3);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {2, 1}, {-1, 1});
  ExpectNear(run.outputs[1], {1}, {6});  // 10*0.5 + 2*0.5
  ExpectNear(run.outputs[2], {1}, {3});  // 5*0.5 + 1*0.5
}

TEST(BatchNormalizationKernel, WrongParameterSizeIsAnError) {
  auto run = RunOp("BatchNormalization", 15,
                   {RandomFloats({1, 3, 2}), RandomFloats({2}), RandomFloats({3}),
                    RandomFloats({3}), RandomFloats({3})});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
}

TEST(InstanceNormalizationKernel, PerPlaneStatistics) {
  // Plane [1, 3]: mean 2, var 1 -> [-1, 1]; then scale 2, bias 1 -> [-1, 3].
  auto run =
      RunOp("InstanceNormalization", 6, {F32({1, 1, 2}, {1, 3}), F32({1}, {2}), F32({1}, {1})},
            [](ir::Node& n) { n.SetFloat("epsilon", 0.0f); });
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 1, 2}, {-1, 3});
}

TEST(LayerNormalizationKernel, AxisScaleBiasAndStatistics) {
  // Rows [1,3] and [2,6] normalized over the last axis (epsilon 0): [-1, 1] each.
  auto run = RunOp(
      "LayerNormalization", 17, {F32({2, 2}, {1, 3, 2, 6}), F32({2}, {1, 2}), F32({2}, {0, 10})},
      [](ir::Node& n) { n.SetFloat("epsilon", 0.0f); }, 3);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {2, 2}, {-1, 12, -1, 12});
  ExpectNear(run.outputs[1], {2, 1}, {2, 4});
  ExpectNear(run.outputs[2], {2, 1}, {1, 0.5});
  // axis 0 normalizes all four values: mean 3, var 3.5.
  auto all =
      RunOp("LayerNormalization", 17, {F32({2, 2}, {1, 3, 2, 6}), F32({}, {1})}, [](ir::Node& n) {
        n.SetInt("axis", 0);
        n.SetFloat("epsilon", 0.0f);
      });
  ASSERT_TRUE(all.status.ok());
  const double s = std::sqrt(3.5);
  ExpectNear(all.outputs[0], {2, 2}, {-2 / s, 0, -1 / s, 3 / s});
}

TEST(GroupNormalizationKernel, PerChannelScaleOpset21) {
  // Two groups of two channels, one element each: group 0 = [1, 3], group 1 = [5, 5].
  auto run = RunOp("GroupNormalization", 21,
                   {F32({1, 4, 1}, {1, 3, 5, 5}), F32({4}, {1, 2, 3, 4}), F32({4}, {0, 0, 1, 1})},
                   [](ir::Node& n) {
                     n.SetInt("num_groups", 2);
                     n.SetFloat("epsilon", 0.0f);
                   });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // Group 1 has zero variance with epsilon 0: 0/0 is NaN, so check group 0 only.
  const auto got = Doubles(run.outputs[0]);
  EXPECT_NEAR(got[0], -1, 1e-6);
  EXPECT_NEAR(got[1], 2, 1e-6);
  auto eps = RunOp("GroupNormalization", 21,
                   {F32({1, 4, 1}, {1, 3, 5, 5}), F32({4}, {1, 2, 3, 4}), F32({4}, {0, 0, 1, 1})},
                   [](ir::Node& n) { n.SetInt("num_groups", 2); });
  ASSERT_TRUE(eps.status.ok());
  ExpectNear(eps.outputs[0], {1, 4, 1}, {-1, 2, 1, 1}, 1e-4);
  auto bad = RunOp("GroupNormalization", 21,
                   {RandomFloats({1, 4, 1}), RandomFloats({4}), RandomFloats({4})},
                   [](ir::Node& n) { n.SetInt("num_groups", 3); });
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(LpNormalizationKernel, L1AndL2) {
  auto l2 = RunOp("LpNormalization", 1, {F32({2, 2}, {3, 4, 0, 2})});
  auto l1 = RunOp("LpNormalization", 1, {F32({2, 2}, {3, 4, 0, 2})}, [](ir::Node& n) {
    n.SetInt("p", 1);
    n.SetInt("axis", 0);
  });
  ASSERT_TRUE(l2.status.ok() && l1.status.ok());
  ExpectNear(l2.outputs[0], {2, 2}, {0.6, 0.8, 0, 1});
  ExpectNear(l1.outputs[0], {2, 2}, {1, 4.0 / 6, 0, 2.0 / 6});
}

TEST(LrnKernel, MatchesFormula) {
  // size 3 over 3 channels of one pixel [1, 2, 3]; alpha 3 so alpha/size = 1, beta 1, bias 1.
  auto run = RunOp("LRN", 13, {F32({1, 3, 1, 1}, {1, 2, 3})}, [](ir::Node& n) {
    n.SetInt("size", 3);
    n.SetFloat("alpha", 3.0f);
    n.SetFloat("beta", 1.0f);
    n.SetFloat("bias", 1.0f);
  });
  ASSERT_TRUE(run.status.ok());
  // Channel 0 sums 1+4, channel 1 sums 1+4+9, channel 2 sums 4+9.
  ExpectNear(run.outputs[0], {1, 3, 1, 1}, {1.0 / 6, 2.0 / 15, 3.0 / 14});
}

TEST(MeanVarianceNormalizationKernel, DefaultAxes) {
  auto run = RunOp("MeanVarianceNormalization", 13, {F32({1, 2, 1, 2}, {1, 3, 10, 14})});
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {1, 2, 1, 2}, {-1, 1, -1, 1});
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

TEST(RmsNormalizationKernel, LastAxis) {
  // Row [3, 4]: mean square 12.5 -> divide by sqrt(12.5); scale [1, 2].
  auto run = RunOp("RMSNormalization", 23, {F32({1, 2}, {3, 4}), F32({2}, {1, 2})},
                   [](ir::Node& n) { n.SetFloat("epsilon", 0.0f); });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  const double r = std::sqrt(12.5);
  ExpectNear(run.outputs[0], {1, 2}, {3 / r, 8 / r});
}

}  // namespace
}  // namespace graphopt::testing
