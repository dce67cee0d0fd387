// Golden tests of fuse_hard_swish and fuse_hard_sigmoid: the elementwise forms become the
// standard operators (on every target) with equal outputs; other constants and HardSwish below
// opset 14 do not.
#include <gtest/gtest.h>

#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountFused;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RunFusion;
using testing::Scalar;

ir::Value* Relu6(ModelBuilder& b, ir::Value* x, float shift = 3.0f, float hi = 6.0f) {
  return b.Op("Clip", {b.Op("Add", {x, Scalar(b, "three", shift)}), Scalar(b, "zero", 0.0f),
                       Scalar(b, "six", hi)});
}

TEST(FuseHardSwish, ElementwiseForms) {
  for (int form = 0; form < 5; ++form) {
    ModelBuilder b(14);
    // Values around the kinks at -3 and 3.
    auto* in = b.Input("x", DataType::kFloat, {1, 4, 3, 3});
    auto* x = b.Op("Mul", {in, Scalar(b, "spread", 5.0f)});
    ir::Value* y = nullptr;
    switch (form) {
      case 0:
        y = b.Op("Mul", {x, b.Op("Div", {Relu6(b, x), Scalar(b, "d", 6.0f)})});
        break;
      case 1:
        y = b.Op("Mul", {x, b.Op("Mul", {Relu6(b, x), Scalar(b, "d", 1.0f / 6)})});
        break;
      case 2:
        y = b.Op("Div", {b.Op("Mul", {x, Relu6(b, x)}), Scalar(b, "d", 6.0f)});
        break;
      case 3:
        y = b.Op("Mul", {b.Op("Mul", {Relu6(b, x), x}), Scalar(b, "d", 0.16666667f)});
        break;
      case 4: {
        auto* hs = b.Op("HardSigmoid", {x});
        b.LastNode()->SetFloat("alpha", 1.0f / 6);
        y = b.Op("Mul", {x, hs});
        break;
      }
    }
    b.Output(y);
    auto model = b.Build();
    auto run = RunFusion(*model, "fuse_hard_swish", "generic");
    EXPECT_EQ(run.record.rule_counts["hard_swish"], 1) << form;
    EXPECT_EQ(CountFused(*model, "HardSwish"), 1) << form;
    EXPECT_EQ(model->graph->num_nodes(), 2u) << form;  // the spreading Mul and HardSwish
    EXPECT_EQ(CompareOutputs(*run.original, *model), "") << form;
  }
}

TEST(FuseHardSwish, WrongConstantOrOldOpsetDoesNotFuse) {
  for (int64_t opset : {14, 13}) {
    ModelBuilder b(opset);
    auto* x = b.Input("x", DataType::kFloat, {1, 8});
    const float shift = opset == 14 ? 2.0f : 3.0f;  // at 14 the shift is wrong
    b.Output(b.Op("Mul", {x, b.Op("Div", {Relu6(b, x, shift), Scalar(b, "d", 6.0f)})}));
    auto model = b.Build();
    const std::string before = GraphSignature(*model);
    EXPECT_EQ(RunFusion(*model, "fuse_hard_swish", "cpu").applied, 0) << opset;
    EXPECT_EQ(GraphSignature(*model), before);
  }
}

TEST(FuseHardSigmoid, ElementwiseForms) {
  for (int form = 0; form < 3; ++form) {
    ModelBuilder b(13);
    auto* in = b.Input("x", DataType::kFloat, {2, 8});
    auto* x = b.Op("Mul", {in, Scalar(b, "spread", 5.0f)});
    ir::Value* y = nullptr;
    if (form == 0) y = b.Op("Div", {Relu6(b, x), Scalar(b, "d", 6.0f)});
    if (form == 1) y = b.Op("Mul", {Relu6(b, x), Scalar(b, "d", 1.0f / 6)});
    if (form == 2) {
      auto* lin = b.Op("Add", {b.Op("Mul", {x, Scalar(b, "k", 1.0f / 6)}), Scalar(b, "h", 0.5f)});
      y = b.Op("Clip", {lin, Scalar(b, "lo", 0.0f), Scalar(b, "hi", 1.0f)});
    }
    b.Output(y);
    auto model = b.Build();
    auto run = RunFusion(*model, "fuse_hard_sigmoid", "generic");
    EXPECT_EQ(CountFused(*model, "HardSigmoid"), 1) << form;
    EXPECT_EQ(model->graph->num_nodes(), 2u) << form;
    EXPECT_EQ(CompareOutputs(*run.original, *model), "") << form;
  }
}

// Clip to (0, 5) is not a Relu6.
TEST(FuseHardSigmoid, OtherClipBoundsDoNotFuse) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 8});
  b.Output(b.Op("Div", {Relu6(b, x, 3.0f, 5.0f), Scalar(b, "d", 6.0f)}));
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_hard_sigmoid", "generic").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

}  // namespace
}  // namespace graphopt
