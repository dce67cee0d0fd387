// Golden tests of fuse_gelu, fuse_bias_gelu and fuse_quick_gelu: every exporter variant fuses
// with equal outputs; a wrong constant or an intermediate read elsewhere leaves the graph alone.
#include <gtest/gtest.h>

#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountFused;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunFusion;
using testing::Scalar;

enum class HalfAt { kEnd, kInner, kX };

struct ErfGelu {
  ModelBuilder b{14};
  ir::Value* x = nullptr;
  ir::Value* erf = nullptr;
  ir::Value* y = nullptr;
};

// x * 0.5 * (1 + Erf(x / sqrt2)) with the scaling by `div_by` (Div) or `mul_by` (Mul).
ErfGelu MakeErfGelu(bool use_div, float constant, HalfAt half, bool with_bias = false) {
  ErfGelu g;
  auto* in = g.b.Input("x", DataType::kFloat, {2, 3, 8});
  g.x = in;
  if (with_bias) g.x = g.b.Op("Add", {in, RandomInit(g.b, "bias", {8}, 4)});
  auto* scaled = g.b.Op(use_div ? "Div" : "Mul", {g.x, Scalar(g.b, "c", constant)});
  g.erf = g.b.Op("Erf", {scaled});
  auto* inner = g.b.Op("Add", {g.erf, Scalar(g.b, "one", 1.0f)});
  switch (half) {
    case HalfAt::kEnd:
      g.y = g.b.Op("Mul", {g.b.Op("Mul", {g.x, inner}), Scalar(g.b, "half", 0.5f)});
      break;
    case HalfAt::kInner:
      g.y = g.b.Op("Mul", {g.x, g.b.Op("Mul", {inner, Scalar(g.b, "half", 0.5f)})});
      break;
    case HalfAt::kX:
      g.y = g.b.Op("Mul", {inner, g.b.Op("Mul", {Scalar(g.b, "half", 0.5f), g.x})});
      break;
  }
  return g;
}

TEST(FuseGelu, ErfFormVariants) {
  for (bool use_div : {true, false}) {
    for (HalfAt half : {HalfAt::kEnd, HalfAt::kInner, HalfAt::kX}) {
      ErfGelu g = MakeErfGelu(use_div, use_div ? 1.4142f : 0.70710677f, half);
      g.b.Output(g.y);
      auto model = g.b.Build();
      auto run = RunFusion(*model, "fuse_gelu");
      EXPECT_EQ(run.applied, 1);
      EXPECT_EQ(run.record.rule_counts["gelu_erf"], 1);
      EXPECT_EQ(run.record.matched_nodes.size(), 5u);
      EXPECT_EQ(CountFused(*model, "com.microsoft.Gelu"), 1);
      EXPECT_EQ(model->graph->num_nodes(), 1u);
      EXPECT_EQ(model->OpsetVersion("com.microsoft"), 1);
      EXPECT_EQ(CompareOutputs(*run.original, *model), "");
    }
  }
}

TEST(FuseGelu, WrongConstantDoesNotFuse) {
  for (float c : {1.5f, 0.7075f}) {
    ErfGelu g = MakeErfGelu(c > 1, c, HalfAt::kEnd);
    g.b.Output(g.y);
    auto model = g.b.Build();
    const std::string before = GraphSignature(*model);
    EXPECT_EQ(RunFusion(*model, "fuse_gelu").applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
}

TEST(FuseGelu, IntermediateReadElsewhereDoesNotFuse) {
  ErfGelu g = MakeErfGelu(false, 0.7071f, HalfAt::kEnd);
  g.b.Output(g.y);
  g.b.Output(g.erf);
  auto model = g.b.Build();
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_gelu").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

TEST(FuseGelu, TanhFormIntoFastGelu) {
  for (bool pow : {true, false}) {
    ModelBuilder b(14);
    auto* x = b.Input("x", DataType::kFloat, {2, 8});
    auto* cube =
        pow ? b.Op("Pow", {x, Scalar(b, "three", 3.0f)}) : b.Op("Mul", {b.Op("Mul", {x, x}), x});
    auto* inner = b.Op("Add", {x, b.Op("Mul", {cube, Scalar(b, "k", 0.044715f)})});
    auto* t = b.Op("Tanh", {b.Op("Mul", {inner, Scalar(b, "s", 0.7978845608f)})});
    auto* one_plus = b.Op("Add", {t, Scalar(b, "one", 1.0f)});
    b.Output(b.Op("Mul", {b.Op("Mul", {x, Scalar(b, "half", 0.5f)}), one_plus}));
    auto model = b.Build();
    auto run = RunFusion(*model, "fuse_gelu");
    EXPECT_EQ(run.record.rule_counts["gelu_tanh"], 1);
    EXPECT_EQ(CountFused(*model, "com.microsoft.FastGelu"), 1);
    EXPECT_EQ(model->graph->num_nodes(), 1u);
    EXPECT_EQ(CompareOutputs(*run.original, *model), "");
  }
}

// generic has no com.microsoft operators: the pass does not even run.
TEST(FuseGelu, GenericTargetKeepsTheDecomposition) {
  ErfGelu g = MakeErfGelu(true, 1.4142f, HalfAt::kEnd);
  g.b.Output(g.y);
  auto model = g.b.Build();
  EXPECT_EQ(RunFusion(*model, "fuse_gelu", "generic").applied, 0);
  EXPECT_EQ(CountFused(*model, "com.microsoft.Gelu"), 0);
}

TEST(FuseBiasGelu, AddOfBiasJoinsTheGelu) {
  ErfGelu g = MakeErfGelu(true, 1.4142f, HalfAt::kEnd, /*with_bias=*/true);
  g.b.Output(g.y);
  auto model = g.b.Build();
  auto original = ir::CloneModel(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_gelu").applied, 1);
  auto run = RunFusion(*model, "fuse_bias_gelu");
  EXPECT_EQ(run.record.rule_counts["bias_gelu"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.BiasGelu"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CompareOutputs(*original, *model), "");
}

// A bias that is not a constant vector along the last axis stays an Add.
TEST(FuseBiasGelu, NonVectorBiasDoesNotFuse) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  auto* added = b.Op("Add", {x, RandomInit(b, "bias", {3, 1}, 4)});
  b.Output(b.Op("Gelu", {added}, "com.microsoft"));
  auto model = b.Build();
  model->SetOpsetVersion("com.microsoft", 1);
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_bias_gelu").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

ir::Value* QuickGeluOf(ModelBuilder& b, ir::Value* x, float alpha, bool with_mul) {
  auto* s = with_mul ? b.Op("Sigmoid", {b.Op("Mul", {x, Scalar(b, "alpha", alpha)})})
                     : b.Op("Sigmoid", {x});
  return b.Op("Mul", {s, x});
}

TEST(FuseQuickGelu, ScaledAndSiluForms) {
  for (bool with_mul : {true, false}) {
    ModelBuilder b(14);
    auto* x = b.Input("x", DataType::kFloat, {1, 4, 3, 3});
    b.Output(QuickGeluOf(b, x, 1.702f, with_mul));
    auto model = b.Build();
    auto run = RunFusion(*model, "fuse_quick_gelu");
    EXPECT_EQ(run.record.rule_counts["quick_gelu"], 1);
    ASSERT_EQ(model->graph->num_nodes(), 1u);
    const ir::Node* q = model->graph->outputs()[0]->producer();
    EXPECT_EQ(q->op_type(), "QuickGelu");
    EXPECT_FLOAT_EQ(q->GetFloat("alpha", 0), with_mul ? 1.702f : 1.0f);
    EXPECT_EQ(CompareOutputs(*run.original, *model), "");
  }
}

// Sigmoid of another value than the multiplied one, or a Sigmoid read elsewhere: no fusion.
TEST(FuseQuickGelu, NearMissesDoNotFuse) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {1, 4});
  auto* z = b.Input("z", DataType::kFloat, {1, 4});
  b.Output(b.Op("Mul", {b.Op("Sigmoid", {z}), x}));
  auto* s = b.Op("Sigmoid", {x});
  b.Output(b.Op("Mul", {s, x}));
  b.Output(s);
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_quick_gelu").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

}  // namespace
}  // namespace graphopt
