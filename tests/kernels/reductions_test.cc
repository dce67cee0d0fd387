// Reduction kernels: Reduce* with axes as attribute and as input, keepdims, noop_with_empty_axes,
// empty sets; ArgMax/ArgMin; CumSum; TopK.
#include <cmath>
#include <limits>

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

const Tensor kX = F32({2, 3}, {1, 2, 3, 4, 5, 6});

TEST(ReductionKernels, ReduceSumAxesAsInput) {
  auto r = RunOp("ReduceSum", 13, {kX, I64({1}, {1})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {2, 1}, {6, 15});
  auto all = RunOp("ReduceSum", 13, {kX}, [](ir::Node& n) { n.SetInt("keepdims", 0); });
  ExpectNear(all.outputs[0], {}, {21});
  auto noop = RunOp("ReduceSum", 13, {kX, I64({0}, {})},
                    [](ir::Node& n) { n.SetInt("noop_with_empty_axes", 1); });
  ExpectNear(noop.outputs[0], {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(ReductionKernels, ReduceAxesAsAttributeBeforeOpset18) {
  auto mean = RunOp("ReduceMean", 13, {kX}, [](ir::Node& n) { n.SetInts("axes", {0}); });
  ASSERT_TRUE(mean.status.ok());
  ExpectNear(mean.outputs[0], {1, 3}, {2.5, 3.5, 4.5});
  auto max = RunOp("ReduceMax", 13, {kX}, [](ir::Node& n) {
    n.SetInts("axes", {-1});
    n.SetInt("keepdims", 0);
  });
  ExpectNear(max.outputs[0], {2}, {3, 6});
}

TEST(ReductionKernels, EveryReduceOpOnOneAxis) {
  const Tensor x = F32({2, 2}, {1, -2, 3, 4});
  const Tensor axes = I64({1}, {1});
  auto run = [&](const char* op) { return RunOp(op, 18, {x, axes}).outputs[0]; };
  ExpectNear(run("ReduceMin"), {2, 1}, {-2, 3});
  ExpectNear(run("ReduceProd"), {2, 1}, {-2, 12});
  ExpectNear(run("ReduceL1"), {2, 1}, {3, 7});
  ExpectNear(run("ReduceL2"), {2, 1}, {std::sqrt(5.0), 5});
  ExpectNear(run("ReduceSumSquare"), {2, 1}, {5, 25});
  ExpectNear(RunOp("ReduceLogSum", 18, {F32({2}, {1, 2})}).outputs[0], {1}, {std::log(3.0)});
  ExpectNear(run("ReduceLogSumExp"), {2, 1},
             {std::log(std::exp(1.0) + std::exp(-2.0)), std::log(std::exp(3.0) + std::exp(4.0))});
}

TEST(ReductionKernels, LogSumExpDoesNotOverflow) {
  auto r = RunOp("ReduceLogSumExp", 18, {F32({2}, {1000, 1000})});
  ASSERT_TRUE(r.status.ok());
  ExpectNear(r.outputs[0], {1}, {1000 + std::log(2.0)}, 1e-3);
}

TEST(ReductionKernels, EmptySetGivesIdentityValues) {
  const Tensor empty(DataType::kFloat, {2, 0, 4});
  const Tensor axes = I64({1}, {1});
  ExpectNear(RunOp("ReduceSum", 18, {empty, axes}).outputs[0], {2, 1, 4},
             std::vector<double>(8, 0));
  ExpectNear(RunOp("ReduceProd", 18, {empty, axes}).outputs[0], {2, 1, 4},
             std::vector<double>(8, 1));
  auto max = RunOp("ReduceMax", 18, {empty, axes}).outputs[0];
  EXPECT_EQ(max.data<float>()[0], -std::numeric_limits<float>::infinity());
}

TEST(ReductionKernels, IntegerAndBoolReductions) {
  auto sum = RunOp("ReduceSum", 13, {I32({3}, {1, 2, 3})});
  ASSERT_TRUE(sum.status.ok());
  EXPECT_EQ(Values<int32_t>(sum.outputs[0]), (std::vector<int32_t>{6}));
  auto any = RunOp("ReduceMax", 20, {Bools({2, 2}, {0, 1, 0, 0}), I64({1}, {1})});
  ASSERT_TRUE(any.status.ok());
  EXPECT_EQ(any.outputs[0].dtype(), DataType::kBool);
  EXPECT_EQ(Values<uint8_t>(any.outputs[0]), (std::vector<uint8_t>{1, 0}));
}

TEST(ReductionKernels, ReduceRejectsBadAxis) {
  auto r = RunOp("ReduceSum", 13, {kX, I64({1}, {2})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status.message().find("axis"), std::string::npos);
}

TEST(ReductionKernels, ArgMaxArgMinWithSelectLastIndex) {
  const Tensor x = F32({2, 3}, {1, 5, 5, 2, 0, 0});
  auto first = RunOp("ArgMax", 13, {x}, [](ir::Node& n) { n.SetInt("axis", 1); });
  ASSERT_TRUE(first.status.ok());
  ASSERT_EQ(first.outputs[0].shape(), (Shape{2, 1}));
  EXPECT_EQ(Values<int64_t>(first.outputs[0]), (std::vector<int64_t>{1, 0}));
  auto last = RunOp("ArgMax", 13, {x}, [](ir::Node& n) {
    n.SetInt("axis", 1);
    n.SetInt("select_last_index", 1);
    n.SetInt("keepdims", 0);
  });
  ASSERT_EQ(last.outputs[0].shape(), (Shape{2}));
  EXPECT_EQ(Values<int64_t>(last.outputs[0]), (std::vector<int64_t>{2, 0}));
  auto argmin = RunOp("ArgMin", 13, {x}, [](ir::Node& n) { n.SetInt("select_last_index", 1); });
  EXPECT_EQ(Values<int64_t>(argmin.outputs[0]), (std::vector<int64_t>{0, 1, 1}));
  auto bad = RunOp("ArgMin", 13, {x}, [](ir::Node& n) { n.SetInt("axis", -3); });
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(ReductionKernels, CumSumExclusiveReverse) {
  const Tensor x = F32({4}, {1, 2, 3, 4});
  const Tensor axis = I32({}, {0});
  ExpectNear(RunOp("CumSum", 14, {x, axis}).outputs[0], {4}, {1, 3, 6, 10});
  auto excl = RunOp("CumSum", 14, {x, axis}, [](ir::Node& n) { n.SetInt("exclusive", 1); });
  ExpectNear(excl.outputs[0], {4}, {0, 1, 3, 6});
  auto rev = RunOp("CumSum", 14, {x, axis}, [](ir::Node& n) { n.SetInt("reverse", 1); });
  ExpectNear(rev.outputs[0], {4}, {10, 9, 7, 4});
  auto both = RunOp("CumSum", 14, {x, axis}, [](ir::Node& n) {
    n.SetInt("reverse", 1);
    n.SetInt("exclusive", 1);
  });
  ExpectNear(both.outputs[0], {4}, {9, 7, 4, 0});
  auto cols = RunOp("CumSum", 14, {I32({2, 2}, {1, 2, 3, 4}), I64({}, {-1})});
  EXPECT_EQ(Values<int32_t>(cols.outputs[0]), (std::vector<int32_t>{1, 3, 3, 7}));
}

TEST(ReductionKernels, TopKLargestAndSmallestWithTies) {
  const Tensor x = F32({2, 4}, {3, 1, 3, 2, 0, 5, 5, 5});
  auto top = RunOp("TopK", 11, {x, I64({1}, {2})}, {}, 2);
  ASSERT_TRUE(top.status.ok()) << top.status.ToString();
  ExpectNear(top.outputs[0], {2, 2}, {3, 3, 5, 5});
  EXPECT_EQ(Values<int64_t>(top.outputs[1]), (std::vector<int64_t>{0, 2, 1, 2}));
  auto low = RunOp(
      "TopK", 11, {x, I64({1}, {3})}, [](ir::Node& n) { n.SetInt("largest", 0); }, 2);
  ExpectNear(low.outputs[0], {2, 3}, {1, 2, 3, 0, 5, 5});
  EXPECT_EQ(Values<int64_t>(low.outputs[1]), (std::vector<int64_t>{1, 3, 0, 0, 1, 2}));
  auto axis0 = RunOp(
      "TopK", 1, {x},
      [](ir::Node& n) {
        n.SetInt("k", 1);
        n.SetInt("axis", 0);
      },
      2);
  ASSERT_TRUE(axis0.status.ok()) << axis0.status.ToString();
  ExpectNear(axis0.outputs[0], {1, 4}, {3, 5, 5, 5});
  EXPECT_EQ(Values<int64_t>(axis0.outputs[1]), (std::vector<int64_t>{0, 1, 1, 1}));
  auto bad = RunOp("TopK", 11, {x, I64({1}, {5})}, {}, 2);
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
