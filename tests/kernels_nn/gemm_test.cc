// Gemm, MatMul (batch broadcasting, 1-D operands), MatMulInteger, QLinearMatMul and Einsum.
#include <gtest/gtest.h>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

// Plain triple loop: a [m,k] x b [k,n] at the given offsets.
std::vector<double> NaiveMatMul(const float* a, const float* b, int64_t m, int64_t k, int64_t n) {
  std::vector<double> y(static_cast<size_t>(m * n), 0.0);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p)
        y[static_cast<size_t>(i * n + j)] += a[i * k + p] * b[p * n + j];
  return y;
}

TEST(GemmKernel, TransposesAlphaBetaAndRowBias) {
  // A^T = [[1,2],[3,4]] given as A = [[1,3],[2,4]]; B = I; C = [10, 20] per column.
  auto run =
      RunOp("Gemm", 13, {F32({2, 2}, {1, 3, 2, 4}), F32({2, 2}, {1, 0, 0, 1}), F32({2}, {10, 20})},
            [](ir::Node& n) {
              n.SetInt("transA", 1);
              n.SetInt("transB", 1);
              n.SetFloat("alpha", 2.0f);
              n.SetFloat("beta", 0.5f);
            });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ExpectNear(run.outputs[0], {2, 2}, {2 + 5, 4 + 10, 6 + 5, 8 + 10});
}

TEST(GemmKernel, ScalarAndColumnBiasAndInt64) {
  auto scalar = RunOp("Gemm", 13, {F32({1, 2}, {1, 2}), F32({2, 1}, {3, 4}), F32({}, {1})});
  ASSERT_TRUE(scalar.status.ok());
  ExpectNear(scalar.outputs[0], {1, 1}, {12});
  auto column = RunOp("Gemm", 13, {F32({2, 1}, {1, 2}), F32({1, 2}, {1, 1}), F32({2, 1}, {5, 7})});
  ASSERT_TRUE(column.status.ok());
  ExpectNear(column.outputs[0], {2, 2}, {6, 6, 9, 9});
  auto ints = RunOp("Gemm", 13, {I64({1, 2}, {2, 3}), I64({2, 1}, {4, 5})});
  ASSERT_TRUE(ints.status.ok()) << ints.status.ToString();
  EXPECT_EQ(Values<int64_t>(ints.outputs[0]), std::vector<int64_t>{23});
}

TEST(GemmKernel, BadShapesAreErrors) {
  auto inner = RunOp("Gemm", 13, {RandomFloats({2, 3}), RandomFloats({2, 3})});
  EXPECT_EQ(inner.status.code(), StatusCode::kInvalidArgument);
  auto bias = RunOp("Gemm", 13, {RandomFloats({2, 3}), RandomFloats({3, 4}), RandomFloats({3})});
  EXPECT_EQ(bias.status.code(), StatusCode::kInvalidArgument);
}

TEST(MatMulKernel, BatchBroadcastMatchesNaive) {
  // a [2,1,3,4] x b [3,4,5] -> [2,3,3,5]; a's batch dim of 1 is broadcast over b's 3.
  const Tensor a = RandomFloats({2, 1, 3, 4}, 1), b = RandomFloats({3, 4, 5}, 2);
  auto run = RunOp("MatMul", 13, {a, b});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  std::vector<double> want;
  for (int64_t i = 0; i < 2; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      auto part = NaiveMatMul(a.data<float>() + i * 12, b.data<float>() + j * 20, 3, 4, 5);
      want.insert(want.end(), part.begin(), part.end());
    }
  ExpectNear(run.outputs[0], {2, 3, 3, 5}, want, 1e-5);
}

TEST(MatMulKernel, SharedRightMatrixAndVectors) {
  const Tensor a = RandomFloats({2, 3, 4}, 3), b = RandomFloats({4, 2}, 4);
  auto run = RunOp("MatMul", 13, {a, b});
  ASSERT_TRUE(run.status.ok());
  ExpectNear(run.outputs[0], {2, 3, 2}, NaiveMatMul(a.data<float>(), b.data<float>(), 6, 4, 2));
  auto vv = RunOp("MatMul", 13, {F32({3}, {1, 2, 3}), F32({3}, {4, 5, 6})});
  ASSERT_TRUE(vv.status.ok());
  ExpectNear(vv.outputs[0], {}, {32});
  auto vm =
      RunOp("MatMul", 13, {F32({2}, {1, 2}), F32({2, 2, 3}, {1, 0, 0, 0, 1, 0, 1, 1, 1, 2, 2, 2})});
  ASSERT_TRUE(vm.status.ok());
  ExpectNear(vm.outputs[0], {2, 3}, {1, 2, 0, 5, 5, 5});
  auto mv = RunOp("MatMul", 13, {F32({2, 2}, {1, 2, 3, 4}), F32({2}, {1, 1})});
  ASSERT_TRUE(mv.status.ok());
  ExpectNear(mv.outputs[0], {2}, {3, 7});
}

TEST(MatMulKernel, Float16AndInt32) {
  auto half = RunOp("MatMul", 13,
                    {F32({1, 2}, {1, 2}).CastTo(DataType::kFloat16),
                     F32({2, 1}, {3, 4}).CastTo(DataType::kFloat16)});
  ASSERT_TRUE(half.status.ok());
  EXPECT_EQ(half.outputs[0].dtype(), DataType::kFloat16);
  ExpectNear(half.outputs[0], {1, 1}, {11});
  auto ints = RunOp("MatMul", 13, {I32({1, 2}, {-1, 2}), I32({2, 2}, {3, 4, 5, 6})});
  ASSERT_TRUE(ints.status.ok());
  EXPECT_EQ(Values<int32_t>(ints.outputs[0]), (std::vector<int32_t>{7, 8}));
}

TEST(MatMulKernel, InnerDimMismatchIsAnError) {
  auto run = RunOp("MatMul", 13, {RandomFloats({2, 3}), RandomFloats({4, 2})});
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
  auto batch = RunOp("MatMul", 13, {RandomFloats({2, 2, 3}), RandomFloats({3, 3, 2})});
  EXPECT_EQ(batch.status.code(), StatusCode::kInvalidArgument);
}

TEST(MatMulIntegerKernel, PerTensorAndPerColumnZeroPoints) {
  auto run = RunOp(
      "MatMulInteger", 10,
      {Make<uint8_t>(DataType::kUint8, {1, 2}, {12, 14}),
       Make<uint8_t>(DataType::kUint8, {2, 2}, {1, 2, 3, 4}),
       Make<uint8_t>(DataType::kUint8, {}, {10}), Make<uint8_t>(DataType::kUint8, {2}, {1, 0})});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // (a - 10) = [2, 4]; b - [1, 0] per column = [[0, 2], [2, 4]] -> [8, 20].
  EXPECT_EQ(Values<int32_t>(run.outputs[0]), (std::vector<int32_t>{8, 20}));
}

TEST(QLinearMatMulKernel, RequantizesWithRounding) {
  // acc = 2 + 3 = 5; 5 * 0.5 * 1 / 1 = 2.5 rounds half to even -> 2; plus zero point 10 -> 12.
  auto run = RunOp(
      "QLinearMatMul", 21,
      {Make<uint8_t>(DataType::kUint8, {1, 2}, {2, 3}), F32({}, {0.5f}),
       Make<uint8_t>(DataType::kUint8, {}, {0}), Make<uint8_t>(DataType::kUint8, {2, 1}, {1, 1}),
       F32({}, {1.0f}), Make<uint8_t>(DataType::kUint8, {}, {0}), F32({}, {1.0f}),
       Make<uint8_t>(DataType::kUint8, {}, {10})});
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  EXPECT_EQ(Values<uint8_t>(run.outputs[0]), std::vector<uint8_t>{12});
}

TEST(EinsumKernel, BatchedMatMulTransposeDiagonalAndSum) {
  const Tensor a = RandomFloats({2, 2, 3}, 5), b = RandomFloats({2, 3, 4}, 6);
  auto bmm =
      RunOp("Einsum", 12, {a, b}, [](ir::Node& n) { n.SetString("equation", "bij,bjk->bik"); });
  ASSERT_TRUE(bmm.status.ok()) << bmm.status.ToString();
  std::vector<double> want;
  for (int64_t i = 0; i < 2; ++i) {
    auto part = NaiveMatMul(a.data<float>() + i * 6, b.data<float>() + i * 12, 2, 3, 4);
    want.insert(want.end(), part.begin(), part.end());
  }
  ExpectNear(bmm.outputs[0], {2, 2, 4}, want);
  const Tensor m = F32({2, 2}, {1, 2, 3, 4});
  auto tr = RunOp("Einsum", 12, {m}, [](ir::Node& n) { n.SetString("equation", "ij->ji"); });
  auto diag = RunOp("Einsum", 12, {m}, [](ir::Node& n) { n.SetString("equation", "ii->i"); });
  auto sum = RunOp("Einsum", 12, {m}, [](ir::Node& n) { n.SetString("equation", "ij->"); });
  auto implicit =
      RunOp("Einsum", 12, {m, m}, [](ir::Node& n) { n.SetString("equation", "ij,jk"); });
  auto ellipsis = RunOp("Einsum", 12, {RandomFloats({2, 3, 4}, 7)},
                        [](ir::Node& n) { n.SetString("equation", "...ij->...ji"); });
  ASSERT_TRUE(tr.status.ok() && diag.status.ok() && sum.status.ok() && implicit.status.ok() &&
              ellipsis.status.ok());
  ExpectNear(tr.outputs[0], {2, 2}, {1, 3, 2, 4});
  ExpectNear(diag.outputs[0], {2}, {1, 4});
  ExpectNear(sum.outputs[0], {}, {10});
  ExpectNear(implicit.outputs[0], {2, 2}, {7, 10, 15, 22});
  EXPECT_EQ(ellipsis.outputs[0].shape(), (Shape{2, 4, 3}));
}

TEST(EinsumKernel, MismatchedTermIsAnError) {
  auto run = RunOp("Einsum", 12, {RandomFloats({2, 3})},
                   [](ir::Node& n) { n.SetString("equation", "ijk->i"); });
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing

namespace graphopt::testing {
namespace {

TEST(EinsumKernel, AttentionScoresAndOneSidedSumMatchLoops) {
  // "bhid,bhjd->bhij": the GEMM path with transposes; checked against a direct loop.
  const Tensor q = RandomFloats({2, 3, 4, 5}, 8), k = RandomFloats({2, 3, 6, 5}, 9);
  auto run =
      RunOp("Einsum", 12, {q, k}, [](ir::Node& n) { n.SetString("equation", "bhid,bhjd->bhij"); });
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  std::vector<double> want;
  for (int64_t bh = 0; bh < 6; ++bh)
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 6; ++j) {
        double acc = 0;
        for (int64_t d = 0; d < 5; ++d) {
          acc += q.data<float>()[(bh * 4 + i) * 5 + d] * k.data<float>()[(bh * 6 + j) * 5 + d];
        }
        want.push_back(acc);
      }
  ExpectNear(run.outputs[0], {2, 3, 4, 6}, want);
  // "ij,k->ki": j is summed over one operand only, so the generic loop runs.
  auto outer = RunOp("Einsum", 12, {F32({2, 2}, {1, 2, 3, 4}), F32({3}, {1, 10, 100})},
                     [](ir::Node& n) { n.SetString("equation", "ij,k->ki"); });
  ASSERT_TRUE(outer.status.ok()) << outer.status.ToString();
  ExpectNear(outer.outputs[0], {3, 2}, {3, 7, 30, 70, 300, 700});
}

}  // namespace
}  // namespace graphopt::testing
