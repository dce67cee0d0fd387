// Cast and CastLike kernels: numeric conversions, bool, float16/bfloat16, strings.
#include <cmath>

#include "kernel_test_util.h"

namespace graphopt::testing {
namespace {

TEST(CastKernels, FloatToIntTruncatesAndToBool) {
  const Tensor x = F32({4}, {1.9f, -1.9f, 0, 0.25f});
  auto i = RunOp("Cast", 13, {x},
                 [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kInt32)); });
  ASSERT_TRUE(i.status.ok());
  EXPECT_EQ(i.outputs[0].dtype(), DataType::kInt32);
  EXPECT_EQ(Values<int32_t>(i.outputs[0]), (std::vector<int32_t>{1, -1, 0, 0}));
  auto b = RunOp("Cast", 13, {x},
                 [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kBool)); });
  EXPECT_EQ(Values<uint8_t>(b.outputs[0]), (std::vector<uint8_t>{1, 1, 0, 1}));
}

TEST(CastKernels, HalfAndBfloat16RoundTrip) {
  const Tensor x = F32({3}, {1.5f, -0.25f, 1024});
  auto h = RunOp("Cast", 13, {x},
                 [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kFloat16)); });
  ASSERT_TRUE(h.status.ok());
  EXPECT_EQ(h.outputs[0].dtype(), DataType::kFloat16);
  EXPECT_EQ(Values<uint16_t>(h.outputs[0])[0], 0x3E00);  // 1.5 in IEEE half
  auto bf = RunOp("Cast", 13, {h.outputs[0]},
                  [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kBfloat16)); });
  ASSERT_TRUE(bf.status.ok());
  ExpectNear(bf.outputs[0], {3}, {1.5, -0.25, 1024});
}

TEST(CastKernels, OldOpsetsNameTheTypeAsString) {
  auto r = RunOp("Cast", 5, {I64({2}, {3, -4})}, [](ir::Node& n) { n.SetString("to", "DOUBLE"); });
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.outputs[0].dtype(), DataType::kDouble);
  ExpectNear(r.outputs[0], {2}, {3, -4});
  auto bad =
      RunOp("Cast", 5, {I64({1}, {3})}, [](ir::Node& n) { n.SetString("to", "QUATERNION"); });
  EXPECT_EQ(bad.status.code(), StatusCode::kInvalidArgument);
}

TEST(CastKernels, StringsToAndFromNumbers) {
  auto num = RunOp("Cast", 13, {Tensor::Strings({3}, {"1.5", "-2", "NaN"})},
                   [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kFloat)); });
  ASSERT_TRUE(num.status.ok()) << num.status.ToString();
  EXPECT_EQ(num.outputs[0].data<float>()[0], 1.5f);
  EXPECT_EQ(num.outputs[0].data<float>()[1], -2.0f);
  EXPECT_TRUE(std::isnan(num.outputs[0].data<float>()[2]));
  auto str = RunOp("Cast", 13, {F32({2}, {0.1f, 3})},
                   [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kString)); });
  ASSERT_TRUE(str.status.ok());
  EXPECT_EQ(str.outputs[0].strings(), (std::vector<std::string>{"0.1", "3"}));
  auto garbage = RunOp("Cast", 13, {Tensor::Strings({1}, {"abc"})},
                       [](ir::Node& n) { n.SetInt("to", static_cast<int64_t>(DataType::kInt64)); });
  EXPECT_EQ(garbage.status.code(), StatusCode::kInvalidArgument);
}

TEST(CastKernels, CastLikeTakesTheSecondInputsType) {
  auto r = RunOp("CastLike", 15, {F32({2}, {2.7f, -1}), I64({1}, {0})});
  ASSERT_TRUE(r.status.ok());
  EXPECT_EQ(r.outputs[0].dtype(), DataType::kInt64);
  EXPECT_EQ(Values<int64_t>(r.outputs[0]), (std::vector<int64_t>{2, -1}));
}

TEST(CastKernels, MissingToAttributeFails) {
  auto r = RunOp("Cast", 13, {F32({1}, {1})});
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
