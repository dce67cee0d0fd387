// BiasAdd and BiasSoftmax (ONNX Runtime's CUDA provider) against Add/Add and Add/Softmax.
#include <gtest/gtest.h>

#include "contrib_kernels/contrib_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Value;

TEST(ContribBias, BiasAddMatchesTwoAdds) {
  const Tensor bias = RandomFloats({6}, 51);
  ModelBuilder fused = ContribBuilder(), composed(17);
  fused.Output(fused.Op("BiasAdd",
                        {fused.Input("x", DataType::kFloat, {2, 3, 6}), fused.Init("bias", bias),
                         fused.Input("skip", DataType::kFloat, {2, 3, 6})},
                        kMs));
  Value* sum = composed.Op(
      "Add", {composed.Input("x", DataType::kFloat, {2, 3, 6}), composed.Init("bias", bias)});
  composed.Output(composed.Op("Add", {sum, composed.Input("skip", DataType::kFloat, {2, 3, 6})}));
  EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
}

// data (2, 3, 4, 5), softmax from axis 3; bias covers the outer batch (1, 3, 4, 5) or the inner
// axes (2, 1, 1, 5) / (2, 3, 1, 5).
TEST(ContribBias, BiasSoftmaxOuterAndInnerBroadcast) {
  struct Case {
    Shape bias_shape;
    int inner;
  };
  for (const Case& c : {Case{{1, 3, 4, 5}, 0}, Case{{2, 1, 1, 5}, 1}, Case{{2, 3, 1, 5}, 1}}) {
    SCOPED_TRACE(ShapeToString(c.bias_shape));
    const Tensor bias = RandomFloats(c.bias_shape, 52);
    ModelBuilder fused = ContribBuilder(), composed(17);
    fused.Output(fused.Op(
        "BiasSoftmax", {fused.Input("x", DataType::kFloat, {2, 3, 4, 5}), fused.Init("bias", bias)},
        kMs));
    fused.LastNode()->SetInt("axis", 3);
    fused.LastNode()->SetInt("is_inner_broadcast", c.inner);
    Value* sum = composed.Op(
        "Add", {composed.Input("x", DataType::kFloat, {2, 3, 4, 5}), composed.Init("bias", bias)});
    composed.Output(composed.Op("Softmax", {sum}));
    composed.LastNode()->SetInt("axis", 3);
    EXPECT_EQ(CompareOutputs(*fused.Build(), *composed.Build()), "");
  }
}

TEST(ContribBias, BiasSoftmaxRequiresIsInnerBroadcast) {
  ModelBuilder b = ContribBuilder();
  b.Output(b.Op("BiasSoftmax",
                {b.Input("x", DataType::kFloat, {2, 5}), b.Init("bias", RandomFloats({1, 5}))},
                kMs));
  EXPECT_NE(RunError(*b.Build(), {{"x", RandomFloats({2, 5})}}), "");
}

}  // namespace
}  // namespace graphopt::testing
