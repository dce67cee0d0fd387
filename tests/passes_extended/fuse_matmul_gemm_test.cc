// Golden tests of fuse_gemm_activation and fuse_matmul_scale: Gemm + activation becomes
// FusedGemm, scalar scales and last-two-dim transposes join a FusedMatMul, with equal outputs;
// non-scalar scales, other permutations and shared intermediates do not.
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

TEST(FuseGemmActivation, GemmLeakyRelu) {
  ModelBuilder b(14);
  auto* a = b.Input("a", DataType::kFloat, {3, 4});
  auto* g = b.Op("Gemm", {a, RandomInit(b, "w", {5, 4}, 2), RandomInit(b, "c", {5}, 3)});
  b.LastNode()->SetInt("transB", 1);
  b.LastNode()->SetFloat("alpha", 0.5f);
  b.Output(b.Op("LeakyRelu", {g}));
  b.LastNode()->SetFloat("alpha", 0.2f);
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_gemm_activation");
  EXPECT_EQ(run.record.rule_counts["gemm_activation"], 1);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  const ir::Node* f = model->graph->outputs()[0]->producer();
  EXPECT_EQ(f->op_type(), "FusedGemm");
  EXPECT_EQ(f->GetInt("transB", 0), 1);
  EXPECT_FLOAT_EQ(f->GetFloat("activation_alpha", 0), 0.2f);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseGemmActivation, SharedGemmOutputDoesNotFuse) {
  ModelBuilder b(14);
  auto* a = b.Input("a", DataType::kFloat, {3, 4});
  auto* g = b.Op("Gemm", {a, RandomInit(b, "w", {4, 5}, 2)});
  b.Output(b.Op("Relu", {g}));
  b.Output(g);
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_gemm_activation").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// Q/sqrt(d) @ Transpose(K) and (A @ B) * s, the attention-score idiom.
TEST(FuseMatMulScale, ScalesAndTransposeJoin) {
  ModelBuilder b(14);
  auto* q = b.Input("q", DataType::kFloat, {2, 3, 5, 4});
  auto* k = b.Input("k", DataType::kFloat, {2, 3, 6, 4});
  auto* qs = b.Op("Div", {q, Scalar(b, "sqrt_d", 2.0f)});
  auto* kt = b.Op("Transpose", {k});
  b.LastNode()->SetInts("perm", {0, 1, 3, 2});
  auto* s = b.Op("MatMul", {qs, kt});
  b.Output(b.Op("Mul", {s, Scalar(b, "s", 0.5f)}));
  auto model = b.Build();
  auto run = RunFusion(*model, "fuse_matmul_scale");
  EXPECT_EQ(run.record.rule_counts["matmul_scale"], 1);
  EXPECT_EQ(run.record.matched_nodes.size(), 4u);
  ASSERT_EQ(model->graph->num_nodes(), 1u);
  const ir::Node* f = model->graph->outputs()[0]->producer();
  EXPECT_EQ(f->op_type(), "FusedMatMul");
  EXPECT_FLOAT_EQ(f->GetFloat("alpha", 0), 0.25f);
  EXPECT_EQ(f->GetInt("transB", 0), 1);
  EXPECT_EQ(f->GetInt("transA", 1), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseMatMulScale, NearMissesDoNotFuse) {
  ModelBuilder b(14);
  auto* a = b.Input("a", DataType::kFloat, {2, 3, 4});
  auto* c = b.Input("c", DataType::kFloat, {2, 4, 3});
  // A per-column scale is no scalar; a Transpose of the batch dims is no transB; a scaled
  // input that is also a graph output must stay.
  auto* scaled = b.Op("Mul", {a, RandomInit(b, "cols", {4}, 2)});
  b.Output(b.Op("MatMul", {scaled, c}));
  auto* t = b.Op("Transpose", {c});
  b.LastNode()->SetInts("perm", {1, 0, 2});
  b.Output(b.Op("MatMul", {a, b.Op("Reshape", {t, b.Ints("shape", {2, 4, 3})})}));
  auto* half = b.Op("Mul", {a, Scalar(b, "half", 0.5f)});
  b.Output(b.Op("MatMul", {half, c}));
  b.Output(half);
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  EXPECT_EQ(RunFusion(*model, "fuse_matmul_scale").applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

}  // namespace
}  // namespace graphopt
