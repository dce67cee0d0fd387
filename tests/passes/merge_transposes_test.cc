// Golden tests of merge_transposes: consecutive Transposes merge or cancel, a Transpose of a
// constant becomes an initializer, a matrix Transpose folds into a 2-D MatMul as Gemm; node
// counts and outputs on the reference executor.
#include <gtest/gtest.h>

#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountOp;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

constexpr const char* kPass = "merge_transposes";

ir::Value* Transpose(ModelBuilder& b, ir::Value* x, const std::vector<int64_t>& perm) {
  ir::Value* y = b.Op("Transpose", {x});
  if (!perm.empty()) b.LastNode()->SetInts("perm", perm);
  return y;
}

TEST(MergeTransposes, InversePairCancels) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  b.Output(b.Op("Relu", {Transpose(b, Transpose(b, x, {2, 0, 1}), {1, 2, 0})}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.record.rule_counts["transpose_pair"], 1);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, ConsecutivePairMergesIntoOne) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  b.Output(Transpose(b, Transpose(b, x, {0, 2, 3, 1}), {1, 0, 3, 2}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  ASSERT_EQ(CountOp(*model, "Transpose"), 1);
  const ir::Node* merged = model->graph->outputs()[0]->producer();
  EXPECT_EQ(merged->input(0), model->graph->inputs()[0]);
  EXPECT_EQ(merged->GetInts("perm"), (std::vector<int64_t>{2, 0, 1, 3}));
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, SharedInnerTransposeStaysForItsOtherReader) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  auto* inner = Transpose(b, x, {1, 0, 2});
  b.Output(b.Op("Relu", {Transpose(b, inner, {1, 0, 2})}));
  b.Output(b.Op("Neg", {inner}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), 1);  // never more than before
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, GraphInputToGraphOutputKeepsThePair) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  b.Output(Transpose(b, Transpose(b, x, {1, 0}), {1, 0}));
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 0);  // the output would have to be the input itself
  EXPECT_EQ(GraphSignature(*model), before);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, TransposeOfAConstantBecomesAnInitializer) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {4, 3, 2});
  auto* w = Transpose(b, RandomInit(b, "w", {2, 3, 4}, 5), {});  // default perm: reversed
  b.Output(b.Op("Add", {x, w}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.record.rule_counts["transpose_constant"], 1);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, MatrixTransposeFoldsIntoMatMulAsGemm) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {5, 3});
  auto* c = b.Input("c", DataType::kFloat, {4, 5});
  b.Output(b.Op("MatMul", {Transpose(b, a, {1, 0}), Transpose(b, c, {})}));  // [3, 4]
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "MatMul"), 0);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  ASSERT_EQ(CountOp(*model, "Gemm"), 1);
  const ir::Node* gemm = model->graph->outputs()[0]->producer();
  EXPECT_EQ(gemm->GetInt("transA", 0), 1);
  EXPECT_EQ(gemm->GetInt("transB", 0), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(MergeTransposes, MatMulLeftAloneWhenNotMatricesOrBeforeAnAdd) {
  {
    ModelBuilder b(13);  // batched: no Gemm for rank 3
    auto* a = b.Input("a", DataType::kFloat, {2, 5, 3});
    auto* c = b.Input("c", DataType::kFloat, {2, 5, 4});
    b.Output(b.Op("MatMul", {Transpose(b, a, {0, 2, 1}), c}));
    auto model = b.Build();
    const std::string before = GraphSignature(*model);
    auto run = RunSinglePass(*model, kPass);
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
  {
    ModelBuilder b(13);  // MatMul + Add: fuse_matmul_add_into_gemm takes both
    auto* a = b.Input("a", DataType::kFloat, {5, 3});
    auto* c = b.Input("c", DataType::kFloat, {5, 4});
    auto* mm = b.Op("MatMul", {Transpose(b, a, {1, 0}), c});
    b.Output(b.Op("Add", {mm, RandomInit(b, "bias", {4}, 6)}));
    auto model = b.Build();
    auto run = RunSinglePass(*model, kPass);
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(CountOp(*model, "MatMul"), 1);
    EXPECT_EQ(CompareOutputs(*run.original, *model), "");
  }
}

}  // namespace
}  // namespace graphopt
