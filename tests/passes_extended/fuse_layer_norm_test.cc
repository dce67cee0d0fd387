// Golden tests of fuse_layer_norm and fuse_skip_layer_norm: the exporter variants of layer and
// RMS normalization fuse with equal outputs; a wrong axis, a shared intermediate or an opset the
// target cannot serve leave the graph alone; the residual Add (+ bias) joins the norm.
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

struct NormOptions {
  bool square_by_mul = false;
  bool reciprocal = false;
  bool affine = true;
  int64_t axis = -1;
  int64_t opset = 14;
};

struct Norm {
  ModelBuilder b;
  ir::Value* x = nullptr;
  ir::Value* centered = nullptr;
  ir::Value* y = nullptr;
  explicit Norm(int64_t opset) : b(opset) {}
};

ir::Value* Mean(ModelBuilder& b, ir::Value* v, int64_t axis) {
  auto* m = b.Op("ReduceMean", {v});
  b.LastNode()->SetInts("axes", {axis});
  return m;
}

// (x - mean) / sqrt(var + eps) * gamma + beta over the last axis of x (2, 3, 8), x given.
void BuildLayerNorm(Norm& n, ir::Value* x, const NormOptions& o) {
  ModelBuilder& b = n.b;
  n.x = x;
  n.centered = b.Op("Sub", {x, Mean(b, x, o.axis)});
  auto* sq = o.square_by_mul ? b.Op("Mul", {n.centered, n.centered})
                             : b.Op("Pow", {n.centered, Scalar(b, "two", 2.0f)});
  auto* den = b.Op("Sqrt", {b.Op("Add", {Mean(b, sq, o.axis), Scalar(b, "eps", 1e-5f)})});
  n.y = o.reciprocal ? b.Op("Mul", {n.centered, b.Op("Reciprocal", {den})})
                     : b.Op("Div", {n.centered, den});
  if (o.affine) {
    n.y = b.Op("Mul", {n.y, RandomInit(b, "gamma", {8}, 3)});
    n.y = b.Op("Add", {n.y, RandomInit(b, "beta", {8}, 4)});
  }
}

std::unique_ptr<Norm> MakeLayerNorm(const NormOptions& o) {
  auto n = std::make_unique<Norm>(o.opset);
  BuildLayerNorm(*n, n->b.Input("x", DataType::kFloat, {2, 3, 8}), o);
  return n;
}

TEST(FuseLayerNorm, ExporterVariants) {
  for (int variant = 0; variant < 4; ++variant) {
    NormOptions o;
    o.square_by_mul = variant & 1;
    o.reciprocal = variant & 2;
    auto n = MakeLayerNorm(o);
    n->b.Output(n->y);
    auto model = n->b.Build();
    auto run = RunFusion(*model, "fuse_layer_norm");
    EXPECT_EQ(run.record.rule_counts["layer_norm"], 1) << variant;
    ASSERT_EQ(model->graph->num_nodes(), 1u) << variant;
    const ir::Node* ln = model->graph->outputs()[0]->producer();
    EXPECT_EQ(ln->op_type(), "LayerNormalization");
    EXPECT_EQ(ln->inputs().size(), 3u);
    EXPECT_FLOAT_EQ(ln->GetFloat("epsilon", 0), 1e-5f);
    EXPECT_EQ(CompareOutputs(*run.original, *model), "") << variant;
  }
}

// Without gamma/beta (PyTorch's ones/zeros folded away by basic): a ones scale is supplied.
TEST(FuseLayerNorm, WithoutAffineGetsUnitScale) {
  NormOptions o;
  o.affine = false;
  o.axis = 2;  // positive spelling of the last axis
  auto n = MakeLayerNorm(o);
  n->b.Output(n->y);
  auto model = n->b.Build();
  auto run = RunFusion(*model, "fuse_layer_norm");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountFused(*model, "LayerNormalization"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseLayerNorm, WrongAxisDoesNotFuse) {
  NormOptions o;
  o.axis = 1;
  auto n = MakeLayerNorm(o);
  n->b.Output(n->y);
  auto model = n->b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunFusion(*model, "fuse_layer_norm");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// The centered value read by another output: it cannot disappear into the fused op.
TEST(FuseLayerNorm, SharedIntermediateDoesNotFuseAsLayerNorm) {
  auto n = MakeLayerNorm({});
  n->b.Output(n->y);
  n->b.Output(n->centered);
  auto model = n->b.Build();
  auto run = RunFusion(*model, "fuse_layer_norm");
  EXPECT_EQ(CountFused(*model, "LayerNormalization"), 0);
  // What remains must still compute the same (the RMS rule may take the inner part, exactly).
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// generic may emit LayerNormalization only from opset 17; cpu (ONNX Runtime's own kernel for
// opsets 1-16) at any opset.
TEST(FuseLayerNorm, OpsetDecidesForGeneric) {
  for (int64_t opset : {14, 17}) {
    NormOptions o;
    o.opset = opset;
    auto n = MakeLayerNorm(o);
    n->b.Output(n->y);
    auto model = n->b.Build();
    auto run = RunFusion(*model, "fuse_layer_norm", "generic");
    EXPECT_EQ(CountFused(*model, "LayerNormalization"), opset >= 17 ? 1 : 0) << opset;
    EXPECT_EQ(CompareOutputs(*run.original, *model), "");
  }
}

TEST(FuseLayerNorm, RmsNormIntoSimplifiedLayerNorm) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  auto* ms = Mean(b, b.Op("Pow", {x, Scalar(b, "two", 2.0f)}), -1);
  auto* den = b.Op("Sqrt", {b.Op("Add", {ms, Scalar(b, "eps", 1e-6f)})});
  b.Output(b.Op("Mul", {b.Op("Div", {x, den}), RandomInit(b, "gamma", {8}, 5)}));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_layer_norm");
  EXPECT_EQ(run.record.rule_counts["simplified_layer_norm"], 1);
  EXPECT_EQ(CountFused(*model, "SimplifiedLayerNormalization"), 1);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// residual: LayerNorm(MatMul(h, W) + bias + skip); `sum_used` also outputs the sum.
std::unique_ptr<ir::Model> MakeResidualNorm(bool sum_used, bool with_bias) {
  Norm n(14);
  ModelBuilder& b = n.b;
  auto* h = b.Input("h", DataType::kFloat, {2, 3, 8});
  auto* skip = b.Input("skip", DataType::kFloat, {2, 3, 8});
  auto* proj = b.Op("MatMul", {h, RandomInit(b, "w", {8, 8}, 6)});
  if (with_bias) proj = b.Op("Add", {RandomInit(b, "bias", {8}, 7), proj});
  auto* sum = b.Op("Add", {skip, proj});
  BuildLayerNorm(n, sum, {});
  b.Output(n.y);
  if (sum_used) b.Output(b.Op("Relu", {sum}));
  return b.Build();
}

// The cpu profile does not emit SkipLayerNormalization (slower there than what it replaces).
constexpr const char* kSkipTarget = "cuda";

// Found by `graphopt fuzz` (seed 12, graph 787): RMS norm of skip + (h + bias). The bias went to
// input 4 of SkipSimplifiedLayerNormalization, whose bias is input 3 (it has no beta), so it was
// dropped. The bias Add now stays outside the fused node.
TEST(FuseSkipLayerNorm, SimplifiedKeepsTheBiasAddOutside) {
  ModelBuilder b(14);
  auto* h = b.Input("h", DataType::kFloat, {2, 3, 8});
  auto* skip = b.Input("skip", DataType::kFloat, {2, 3, 8});
  auto* sum = b.Op("Add", {skip, b.Op("Add", {h, RandomInit(b, "bias", {8}, 7)})});
  auto* ms = Mean(b, b.Op("Pow", {sum, Scalar(b, "two", 2.0f)}), -1);
  auto* den = b.Op("Sqrt", {b.Op("Add", {ms, Scalar(b, "eps", 1e-6f)})});
  b.Output(b.Op("Div", {sum, den}));
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_layer_norm", kSkipTarget).applied, 1);
  auto run = RunFusion(*model, "fuse_skip_layer_norm", kSkipTarget);
  EXPECT_EQ(run.record.rule_counts["skip_simplified_layer_norm"], 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.SkipSimplifiedLayerNormalization"), 1);
  EXPECT_EQ(CountFused(*model, "Add"), 1);  // h + bias
  const ir::Node* fused = model->graph->outputs()[0]->producer();
  EXPECT_EQ(fused->inputs().size(), 3u);  // input, skip, gamma
  EXPECT_EQ(CompareOutputs(*original, *model), "");
}

TEST(FuseSkipLayerNorm, ResidualAndBiasJoinTheNorm) {
  for (bool sum_used : {false, true}) {
    auto model = MakeResidualNorm(sum_used, true);
    auto original = ir::CloneModel(*model);
    EXPECT_EQ(RunFusion(*model, "fuse_layer_norm").applied, 1);
    auto run = RunFusion(*model, "fuse_skip_layer_norm", kSkipTarget);
    EXPECT_EQ(run.record.rule_counts["skip_layer_norm"], 1);
    EXPECT_EQ(CountFused(*model, "com.microsoft.SkipLayerNormalization"), 1);
    EXPECT_EQ(CountFused(*model, "Add"), 0);
    const ir::Node* skip_ln = model->graph->outputs()[0]->producer();
    EXPECT_EQ(skip_ln->inputs().size(), 5u);  // input, skip, gamma, beta, bias
    EXPECT_EQ(skip_ln->outputs().size(), sum_used ? 4u : 1u);
    EXPECT_EQ(model->graph->num_nodes(), sum_used ? 3u : 2u);  // MatMul, SkipLN (, Relu)
    EXPECT_EQ(CompareOutputs(*original, *model), "") << sum_used;
  }
}

// For the cpu profile the residual stays Add + LayerNormalization (its not_emitted list).
TEST(FuseSkipLayerNorm, CpuProfileKeepsAddAndLayerNorm) {
  auto model = MakeResidualNorm(false, true);
  EXPECT_EQ(RunFusion(*model, "fuse_layer_norm", "cpu").applied, 1);
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_skip_layer_norm", "cpu").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// Operands of different shapes (a broadcast residual) are no skip connection.
TEST(FuseSkipLayerNorm, BroadcastResidualDoesNotFuse) {
  Norm n(14);
  ModelBuilder& b = n.b;
  auto* h = b.Input("h", DataType::kFloat, {2, 3, 8});
  auto* pos = RandomInit(b, "pos", {1, 3, 8}, 6);
  BuildLayerNorm(n, b.Op("Add", {h, pos}), {});
  b.Output(n.y);
  auto model = b.Build();
  EXPECT_EQ(RunFusion(*model, "fuse_layer_norm").applied, 1);
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_skip_layer_norm", kSkipTarget).applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

}  // namespace
}  // namespace graphopt

namespace graphopt {
namespace {

// A SkipLayerNormalization formed before its input's bias Add existed takes the bias later.
TEST(FuseSkipLayerNorm, LateBiasJoinsExistingSkipLayerNorm) {
  testing::ModelBuilder b(14);
  auto* h = b.Input("h", DataType::kFloat, {2, 3, 8});
  auto* skip = b.Input("skip", DataType::kFloat, {2, 3, 8});
  auto* biased = b.Op("Add", {h, testing::RandomInit(b, "bias", {8}, 7)});
  b.Output(b.Op("SkipLayerNormalization",
                {biased, skip, testing::RandomInit(b, "gamma", {8}, 8),
                 testing::RandomInit(b, "beta", {8}, 9)},
                "com.microsoft"));
  b.LastNode()->SetFloat("epsilon", 1e-5f);
  auto model = b.Build();
  model->SetOpsetVersion("com.microsoft", 1);
  auto run = testing::RunFusion(*model, "fuse_skip_layer_norm", kSkipTarget);
  EXPECT_EQ(run.record.rule_counts["skip_layer_norm_bias"], 1);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  const ir::Node* n = model->graph->outputs()[0]->producer();
  EXPECT_EQ(n->inputs().size(), 5u);
  EXPECT_EQ(n->input(0), h);
  EXPECT_EQ(testing::CompareOutputs(*run.original, *model), "");
}

}  // namespace
}  // namespace graphopt

namespace graphopt {
namespace {

// gamma of the wrong length (a broadcast over another axis) stays a Mul after the fused norm;
// an epsilon that is a vector is no LayerNormalization epsilon.
TEST(FuseLayerNorm, AffineAndEpsilonPreconditions) {
  testing::ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  auto mean = [&](ir::Value* v) {
    auto* m = b.Op("ReduceMean", {v});
    b.LastNode()->SetInts("axes", {-1});
    return m;
  };
  auto norm = [&](ir::Value* eps) {
    auto* d = b.Op("Sub", {x, mean(x)});
    auto* var = mean(b.Op("Pow", {d, testing::Scalar(b, "two", 2.0f)}));
    return b.Op("Div", {d, b.Op("Sqrt", {b.Op("Add", {var, eps})})});
  };
  b.Output(b.Op(
      "Mul", {norm(testing::Scalar(b, "eps", 1e-5f)), testing::RandomInit(b, "gamma", {3, 1}, 3)}));
  b.Output(norm(testing::RandomInit(b, "eps_vec", {8}, 4)));
  auto model = b.Build();
  auto run = testing::RunFusion(*model, "fuse_layer_norm");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(testing::CountFused(*model, "LayerNormalization"), 1);
  EXPECT_EQ(testing::CountFused(*model, "Mul"), 1);   // the (3, 1) gamma stays
  EXPECT_EQ(testing::CountFused(*model, "Sqrt"), 1);  // the vector-epsilon norm stays
  EXPECT_EQ(testing::CompareOutputs(*run.original, *model), "");
}

// A normalization whose last axis is symbolic cannot carry a static scale: no fusion, and the
// report names the condition; so does a shared intermediate.
TEST(FuseLayerNorm, NearMissesSayWhichConditionFailed) {
  {
    auto n = std::make_unique<Norm>(14);
    NormOptions o;
    o.affine = false;
    BuildLayerNorm(*n, n->b.InputSymbolic("x", DataType::kFloat,
                                          {ir::Dim{2, ""}, ir::Dim{-1, "hidden"}}),
                   o);
    n->b.Output(n->y);
    auto model = n->b.Build();
    auto run = RunFusion(*model, "fuse_layer_norm");
    EXPECT_EQ(CountFused(*model, "LayerNormalization"), 0);
    EXPECT_EQ(run.record.match_failures["layer_norm: last axis (normalized size) is symbolic"], 1);
  }
  {
    auto n = MakeLayerNorm({});
    n->b.Output(n->y);
    n->b.Output(n->centered);  // the centered input is read outside the normalization
    auto model = n->b.Build();
    auto run = RunFusion(*model, "fuse_layer_norm");
    EXPECT_EQ(CountFused(*model, "LayerNormalization"), 0);
    EXPECT_EQ(run.record.match_failures["layer_norm: an intermediate value (mean, variance or "
                                        "centered input) has other readers"],
              1);
  }
}

}  // namespace
}  // namespace graphopt

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountFused;
using testing::GraphSignature;
using testing::RunFusion;

// On cpu the residual Add read only by the norm becomes Sum (ONNX Runtime's SkipLayerNormFusion
// takes Add only); a sum read again (pre-norm residual) and other targets keep the Add.
TEST(ShieldResidualAdd, CpuWritesTheResidualAddReadOnlyByTheNormAsSum) {
  for (bool sum_used : {false, true}) {
    auto model = MakeResidualNorm(sum_used, true);
    auto original = ir::CloneModel(*model);
    EXPECT_EQ(RunFusion(*model, "fuse_layer_norm", "cpu").applied, 1);
    const int adds = CountFused(*model, "Add");
    auto run = RunFusion(*model, "shield_residual_add", "cpu");
    EXPECT_EQ(run.applied, sum_used ? 0 : 1) << sum_used;
    EXPECT_EQ(CountFused(*model, "Sum"), sum_used ? 0 : 1) << sum_used;
    EXPECT_EQ(CountFused(*model, "Add"), sum_used ? adds : adds - 1) << sum_used;
    if (!sum_used) {
      const ir::Node* norm = model->graph->outputs()[0]->producer();
      ASSERT_TRUE(norm->Is("LayerNormalization"));
      EXPECT_TRUE(norm->input(0)->producer()->Is("Sum"));
    } else {
      EXPECT_EQ(run.record.match_failures["residual_add_as_sum: the residual sum has other readers"], 1);
    }
    EXPECT_EQ(CompareOutputs(*original, *model), "") << sum_used;
  }
  for (const char* target : {"generic", "cuda"}) {
    auto model = MakeResidualNorm(false, true);
    (void)RunFusion(*model, "fuse_layer_norm", target);
    const std::string before = GraphSignature(*model);
    EXPECT_EQ(RunFusion(*model, "shield_residual_add", target).applied, 0) << target;
    EXPECT_EQ(GraphSignature(*model), before) << target;
  }
}

}  // namespace
}  // namespace graphopt
