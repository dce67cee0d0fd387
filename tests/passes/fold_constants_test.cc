// Golden tests of constant folding, duplicate-initializer merging and CSE.
#include <gtest/gtest.h>

#include "optimizer/evaluator.h"
#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::ModelBuilder;
using testing::RunSinglePass;

TEST(FoldConstants, FoldsConstantSubgraphsIntoInitializers) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 2});
  auto* w = b.Floats("w", {2, 2}, {1, 2, 3, 4});
  auto* c = b.Op("Constant", {});
  b.LastNode()->SetTensor("value", Tensor::FromVector<float>(DataType::kFloat, {2, 2}, {1, 1, 1, 1}));
  auto* folded = b.Op("Exp", {b.Op("Add", {w, c})});
  b.Output(b.Op("Mul", {x, folded}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fold_constants");
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(testing::CountOp(*model, "Mul"), 1);
  EXPECT_EQ(run.record.rule_counts.at("constant_to_initializer"), 1);
  EXPECT_EQ(run.record.rule_counts.at("fold_Add"), 1);
  EXPECT_EQ(run.record.rule_counts.at("fold_Exp"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FoldConstants, FoldsShapeChainsOnceDimsAreFixed) {
  // x[batch, 4] -> Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape(x)
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {ir::Dim{-1, "batch"}, ir::Dim{4, ""}});
  auto* shape = b.Op("Shape", {x});
  auto* zero = b.Init("zero", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {0}));
  auto* batch = b.Op("Gather", {shape, zero});
  auto* unsq = b.Op("Unsqueeze", {batch, b.Ints("axes", {0})});
  auto* target = b.Op("Concat", {unsq, b.Ints("minus_one", {-1})});
  b.LastNode()->SetInt("axis", 0);
  b.Output(b.Op("Reshape", {x, target}));
  auto model = b.Build();

  // Dynamic batch: Shape cannot fold.
  auto dynamic = ir::CloneModel(*model);
  RunSinglePass(*dynamic, "fold_constants");
  EXPECT_EQ(testing::CountOp(*dynamic, "Shape"), 1);

  ir::FixDims(*model, {{"batch", 3}});
  auto run = RunSinglePass(*model, "fold_constants");
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(testing::CountOp(*model, "Reshape"), 1);
  EXPECT_EQ(run.record.rule_counts.at("shape_of_static_value"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 3}}), "");
}

TEST(FoldConstants, NeverFoldsRandomOrOversizedNodes) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* r = b.Op("RandomUniform", {});
  b.LastNode()->SetInts("shape", {2});
  // 8 MiB of zeros from a 16-byte shape: under the default 16 MiB cap it folds; we lower it.
  auto* big = b.Op("ConstantOfShape", {b.Ints("big_shape", {1024, 2048})});
  auto* s = b.Op("ReduceSum", {big});
  b.LastNode()->SetInt("keepdims", 0);
  b.Output(b.Op("Add", {b.Op("Add", {x, r}), s}));
  auto model = b.Build();
  ir::Model& m = *model;
  auto run_cap = [&] {
    PassManagerOptions options;
    options.level = Level::kDisabled;
    options.enable = {"fold_constants"};
    options.pass_options.fold_size_cap_bytes = 1 << 20;
    auto evaluator = MakeReferenceEvaluator();
    PassManager manager;
    EXPECT_TRUE(ir::InferShapes(m).ok());
    return manager.Run(m, **TargetRegistry::Get().Find("generic"), evaluator.get(), options);
  };
  auto stats = run_cap();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(testing::CountOp(m, "RandomUniform"), 1);
  EXPECT_EQ(testing::CountOp(m, "ConstantOfShape"), 1);
  int64_t largest = 0;
  for (ir::Value* v : m.graph->initializers()) largest = std::max<int64_t>(largest, v->initializer()->nbytes());
  EXPECT_LE(largest, 1 << 20);
}

TEST(MergeDuplicateInitializers, SharesIdenticalTensorsOnly) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* a = b.Floats("a", {2}, {1, 2});
  auto* a2 = b.Floats("a2", {2}, {1, 2});
  auto* other = b.Floats("other", {2}, {1, 3});
  auto* other_shape = b.Floats("other_shape", {1, 2}, {1, 2});
  auto* y = b.Op("Add", {b.Op("Add", {b.Op("Mul", {x, a}), a2}), other});
  b.Output(b.Op("Add", {y, other_shape}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "merge_duplicate_initializers");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(model->graph->initializers().size(), 3u);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(EliminateCommonSubexpressions, ComputesIdenticalNodesOnce) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  auto* t1 = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", {1, 0});
  auto* t2 = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", {1, 0});
  auto* t3 = b.Op("Transpose", {x});  // default perm: same result but other attributes
  auto* s = b.Op("Add", {t1, t2});
  b.Output(b.Op("Add", {s, t3}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_common_subexpressions");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(testing::CountOp(*model, "Transpose"), 2);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(EliminateCommonSubexpressions, KeepsNodesWithDifferentAttributesOrRandomness) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {4});
  auto* l1 = b.Op("LeakyRelu", {x});
  b.LastNode()->SetFloat("alpha", 0.1f);
  auto* l2 = b.Op("LeakyRelu", {x});
  b.LastNode()->SetFloat("alpha", 0.2f);
  auto* r1 = b.Op("RandomNormalLike", {x});
  auto* r2 = b.Op("RandomNormalLike", {x});
  b.Output(b.Op("Add", {l1, l2}));
  b.Output(b.Op("Add", {r1, r2}));
  auto model = b.Build();
  EXPECT_EQ(RunSinglePass(*model, "eliminate_common_subexpressions").applied, 0);
  EXPECT_EQ(model->graph->num_nodes(), 6u);
}

}  // namespace
}  // namespace graphopt
