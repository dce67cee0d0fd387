// Comparison, boolean logic, Where and IsNaN/IsInf kernels.
#include <cmath>
#include <limits>

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(LogicalKernels, ComparisonsBroadcastToBool) {
  const Tensor a = F32({2, 2}, {1, 2, 3, 4});
  const Tensor b = F32({2}, {2, 3});
  auto less = RunOp("Less", 13, {a, b});
  ASSERT_TRUE(less.status.ok());
  EXPECT_EQ(less.outputs[0].dtype(), DataType::kBool);
  EXPECT_EQ(Values<uint8_t>(less.outputs[0]), (std::vector<uint8_t>{1, 1, 0, 0}));
  auto le = RunOp("LessOrEqual", 16, {a, b});
  EXPECT_EQ(Values<uint8_t>(le.outputs[0]), (std::vector<uint8_t>{1, 1, 0, 0}));
  auto gt = RunOp("Greater", 13, {a, b});
  EXPECT_EQ(Values<uint8_t>(gt.outputs[0]), (std::vector<uint8_t>{0, 0, 1, 1}));
  auto ge = RunOp("GreaterOrEqual", 16, {a, b});
  EXPECT_EQ(Values<uint8_t>(ge.outputs[0]), (std::vector<uint8_t>{0, 0, 1, 1}));
  auto eq = RunOp("Equal", 13, {I64({3}, {1, 2, 3}), I64({}, {2})});
  EXPECT_EQ(Values<uint8_t>(eq.outputs[0]), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(LogicalKernels, EqualOnBoolsAndStrings) {
  auto b = RunOp("Equal", 13, {Bools({2}, {1, 0}), Bools({2}, {1, 1})});
  ASSERT_TRUE(b.status.ok());
  EXPECT_EQ(Values<uint8_t>(b.outputs[0]), (std::vector<uint8_t>{1, 0}));
  auto s = RunOp("Equal", 19, {Tensor::Strings({2}, {"a", "b"}), Tensor::Strings({1}, {"b"})});
  ASSERT_TRUE(s.status.ok()) << s.status.ToString();
  EXPECT_EQ(Values<uint8_t>(s.outputs[0]), (std::vector<uint8_t>{0, 1}));
}

TEST(LogicalKernels, BooleanOps) {
  const Tensor a = Bools({4}, {0, 0, 1, 1});
  const Tensor b = Bools({4}, {0, 1, 0, 1});
  EXPECT_EQ(Values<uint8_t>(RunOp("And", 7, {a, b}).outputs[0]),
            (std::vector<uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(Values<uint8_t>(RunOp("Or", 7, {a, b}).outputs[0]), (std::vector<uint8_t>{0, 1, 1, 1}));
  EXPECT_EQ(Values<uint8_t>(RunOp("Xor", 7, {a, b}).outputs[0]),
            (std::vector<uint8_t>{0, 1, 1, 0}));
  EXPECT_EQ(Values<uint8_t>(RunOp("Not", 1, {a}).outputs[0]), (std::vector<uint8_t>{1, 1, 0, 0}));
  auto bad = RunOp("And", 7, {F32({1}, {1}), F32({1}, {1})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(LogicalKernels, WhereBroadcastsAllThree) {
  auto r = RunOp("Where", 16, {Bools({2, 1}, {1, 0}), F32({1, 3}, {1, 2, 3}), F32({}, {-1})});
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  ExpectNear(r.outputs[0], {2, 3}, {1, 2, 3, -1, -1, -1});
  auto s = RunOp(
      "Where", 16,
      {Bools({2}, {0, 1}), Tensor::Strings({2}, {"a", "b"}), Tensor::Strings({2}, {"c", "d"})});
  ASSERT_TRUE(s.status.ok());
  EXPECT_EQ(s.outputs[0].strings(), (std::vector<std::string>{"c", "b"}));
  auto bad = RunOp("Where", 16, {Bools({3}, {0, 1, 1}), F32({2}, {1, 2}), F32({2}, {1, 2})});
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
  auto not_bool = RunOp("Where", 16, {F32({1}, {1}), F32({1}, {1}), F32({1}, {1})});
  EXPECT_EQ(not_bool.status.code(), StatusCode::kInvalidArgument);
}

TEST(LogicalKernels, IsNaNAndIsInf) {
  const float inf = std::numeric_limits<float>::infinity();
  const Tensor x = F32({4}, {1, std::nanf(""), inf, -inf});
  EXPECT_EQ(Values<uint8_t>(RunOp("IsNaN", 13, {x}).outputs[0]),
            (std::vector<uint8_t>{0, 1, 0, 0}));
  EXPECT_EQ(Values<uint8_t>(RunOp("IsInf", 10, {x}).outputs[0]),
            (std::vector<uint8_t>{0, 0, 1, 1}));
  auto pos = RunOp("IsInf", 10, {x}, [](ir::Node& n) { n.SetInt("detect_negative", 0); });
  EXPECT_EQ(Values<uint8_t>(pos.outputs[0]), (std::vector<uint8_t>{0, 0, 1, 0}));
  EXPECT_EQ(RunOp("IsNaN", 13, {I32({1}, {1})}).status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
