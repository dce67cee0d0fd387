// Golden tests of the Gemm fusions: fuse_matmul_add_into_gemm, fuse_transpose_into_gemm and
// fuse_gemm_batchnorm, each where it applies and where a precondition fails.
#include <gtest/gtest.h>

#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::AddBatchNorm;
using testing::CompareOutputs;
using testing::CountOp;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

void ExpectUnchanged(std::unique_ptr<ir::Model> model, const char* pass) {
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, pass);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(GraphSignature(*model), before);
}

// ---- MatMul + Add -> Gemm: a[3,4] x B[4,5] + bias -------------------------------------------

struct BiasCase {
  const char* name;
  Shape bias;
  bool fuses;
  bool bias_first = false;
};

class FuseMatMulAddTest : public ::testing::TestWithParam<BiasCase> {};

TEST_P(FuseMatMulAddTest, FusesOnlyBiasesBroadcastingToTheProduct) {
  const BiasCase& c = GetParam();
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {3, 4});
  auto* product = b.Op("MatMul", {a, RandomInit(b, "B", {4, 5}, 1)});
  auto* bias = RandomInit(b, "bias", c.bias, 2);
  auto* y = b.Op("Add", c.bias_first ? std::vector<ir::Value*>{bias, product}
                                     : std::vector<ir::Value*>{product, bias});
  b.graph().RenameValue(y, "y");
  b.Output(y);
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, "fuse_matmul_add_into_gemm");
  if (c.fuses) {
    EXPECT_EQ(run.applied, 1);
    EXPECT_EQ(CountOp(*model, "Gemm"), 1);
    EXPECT_EQ(model->graph->num_nodes(), 1u);
    EXPECT_EQ(model->graph->outputs()[0]->name(), "y");
    EXPECT_EQ(run.record.rule_counts.at("matmul_add_to_gemm"), 1);
  } else {
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

INSTANTIATE_TEST_SUITE_P(
    Biases, FuseMatMulAddTest,
    ::testing::Values(BiasCase{"row_vector", {5}, true}, BiasCase{"row_matrix", {1, 5}, true},
                      BiasCase{"full", {3, 5}, true, true}, BiasCase{"column", {3, 1}, true},
                      BiasCase{"scalar", {}, true},
                      // Broadcasting would grow the result beyond [3, 5].
                      BiasCase{"grows_rank", {1, 1, 5}, false},
                      BiasCase{"grows_rows", {2, 3, 5}, false}),
    [](const ::testing::TestParamInfo<BiasCase>& info) { return std::string(info.param.name); });

TEST(FuseMatMulAdd, FusesWithNonConstantOperands) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {2, 3});
  auto* w = b.Input("w", DataType::kFloat, {3, 4});
  auto* bias = b.Input("bias", DataType::kFloat, {4});
  b.Output(b.Op("Add", {b.Op("MatMul", {a, w}), bias}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fuse_matmul_add_into_gemm");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "MatMul"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseMatMulAdd, RefusesThreeDimensionalInput) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {2, 3, 4});
  auto* product = b.Op("MatMul", {a, RandomInit(b, "B", {4, 5}, 1)});
  b.Output(b.Op("Add", {product, RandomInit(b, "bias", {5}, 2)}));
  ExpectUnchanged(b.Build(), "fuse_matmul_add_into_gemm");
}

TEST(FuseMatMulAdd, RefusesWhenProductHasAnotherReader) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {3, 4});
  auto* product = b.Op("MatMul", {a, RandomInit(b, "B", {4, 5}, 1)});
  b.Output(b.Op("Add", {product, RandomInit(b, "bias", {5}, 2)}));
  b.Output(b.Op("Relu", {product}));
  ExpectUnchanged(b.Build(), "fuse_matmul_add_into_gemm");
}

// ---- Transpose -> Gemm ----------------------------------------------------------------------

TEST(FuseTransposeIntoGemm, TogglesBothFlags) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {4, 3});  // transposed to [3, 4]
  auto* ta = b.Op("Transpose", {a});
  b.LastNode()->SetInts("perm", {1, 0});
  auto* tb = b.Op("Transpose", {RandomInit(b, "B", {4, 5}, 1)});  // to [5, 4], undone by transB
  auto* y = b.Op("Gemm", {ta, tb, RandomInit(b, "C", {5}, 2)});
  ir::Node* gemm = b.LastNode();
  gemm->SetInt("transB", 1);
  gemm->SetFloat("alpha", 0.5f);
  b.Output(y);
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fuse_transpose_into_gemm");
  EXPECT_EQ(run.applied, 2);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  EXPECT_EQ(gemm->GetInt("transA", 0), 1);
  EXPECT_EQ(gemm->GetInt("transB", 1), 0);
  EXPECT_EQ(run.record.rule_counts.at("transpose_into_gemm_a"), 1);
  EXPECT_EQ(run.record.rule_counts.at("transpose_into_gemm_b"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// The Transpose has another reader: the Gemm reads around it, the Transpose stays for the other.
TEST(FuseTransposeIntoGemm, SharedTransposeStaysForItsOtherReader) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {4, 3});
  auto* ta = b.Op("Transpose", {a});
  b.LastNode()->SetInts("perm", {1, 0});
  b.Output(b.Op("Gemm", {ta, RandomInit(b, "B", {4, 5}, 1)}));
  b.Output(b.Op("Relu", {ta}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "fuse_transpose_into_gemm");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "Transpose"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(FuseTransposeIntoGemm, RefusesIdentityPermutation) {
  ModelBuilder b(13);
  auto* a = b.Input("a", DataType::kFloat, {3, 4});
  auto* ta = b.Op("Transpose", {a});
  b.LastNode()->SetInts("perm", {0, 1});
  b.Output(b.Op("Gemm", {ta, RandomInit(b, "B", {4, 5}, 1)}));
  ExpectUnchanged(b.Build(), "fuse_transpose_into_gemm");
}

// ---- Gemm + BatchNormalization --------------------------------------------------------------

struct GemmBn {
  ModelBuilder b{15};
  ir::Node* gemm = nullptr;
  ir::Value* bn = nullptr;
};

// a[3,4] -> Gemm(B [5,4] transB, C of `c_shape`, alpha 0.5, beta 2) -> BN(5)
GemmBn MakeGemmBn(const Shape& c_shape) {
  GemmBn m;
  auto* a = m.b.Input("a", DataType::kFloat, {3, 4});
  std::vector<ir::Value*> in{a, RandomInit(m.b, "B", {5, 4}, 1)};
  if (!c_shape.empty()) in.push_back(RandomInit(m.b, "C", c_shape, 2));
  auto* y = m.b.Op("Gemm", in);
  m.gemm = m.b.LastNode();
  m.gemm->SetInt("transB", 1);
  m.gemm->SetFloat("alpha", 0.5f);
  m.gemm->SetFloat("beta", 2.0f);
  m.bn = AddBatchNorm(m.b, y, 5, 30, DataType::kFloat, 1e-3f);
  return m;
}

class FuseGemmBatchNormTest : public ::testing::TestWithParam<Shape> {};

TEST_P(FuseGemmBatchNormTest, FoldsIntoBAndC) {
  GemmBn m = MakeGemmBn(GetParam());
  m.b.Output(m.bn);
  auto model = m.b.Build();
  auto run = RunSinglePass(*model, "fuse_gemm_batchnorm");
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "BatchNormalization"), 0);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// No C (empty shape means none here), per-column C, per-row C, full C.
INSTANTIATE_TEST_SUITE_P(CShapes, FuseGemmBatchNormTest,
                         ::testing::Values(Shape{}, Shape{5}, Shape{3, 1}, Shape{3, 5}, Shape{1}));

TEST(FuseGemmBatchNorm, RefusesNonConstantB) {
  GemmBn m = MakeGemmBn({5});
  m.gemm->SetInput(1, m.b.Input("B_in", DataType::kFloat, {5, 4}));
  m.b.Output(m.bn);
  ExpectUnchanged(m.b.Build(), "fuse_gemm_batchnorm");
}

TEST(FuseGemmBatchNorm, RefusesNonConstantVariance) {
  GemmBn m = MakeGemmBn({5});
  m.bn->producer()->SetInput(4, m.b.Input("var", DataType::kFloat, {5}));
  m.b.Output(m.bn);
  ExpectUnchanged(m.b.Build(), "fuse_gemm_batchnorm");
}

TEST(FuseGemmBatchNorm, RefusesWhenGemmOutputHasAnotherReader) {
  GemmBn m = MakeGemmBn({5});
  m.b.Output(m.bn);
  m.b.Output(m.b.Op("Relu", {m.gemm->output(0)}));
  ExpectUnchanged(m.b.Build(), "fuse_gemm_batchnorm");
}

}  // namespace
}  // namespace graphopt
