// com.microsoft.FusedGemm (Gemm + activation) and FusedMatMul (MatMul with transposed operands and
// a scale), composed from the standard Gemm/MatMul kernels.
#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/contrib_util.h"

namespace graphopt::reference {
namespace {

Status FusedGemmKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(FusedActivation activation, ReadGemmActivation(ctx));
  if (!ctx.input(0) || !ctx.input(1)) return ctx.Fail("inputs A and B are required");
  ASSIGN_OR_RETURN(std::vector<Tensor> gemm,
                   RunStandardKernel(ctx, "Gemm", {ctx.input(0), ctx.input(1), ctx.input(2)}));
  Tensor y = std::move(gemm[0]);
  RETURN_IF_ERROR(ApplyFusedActivation(ctx, activation, &y));
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// The operand as FusedMatMul sees it: transBatch moves axis 0 behind the other batch axes
// (perm [1, ..., r-2, 0, r-1]), then trans swaps the last two axes. A vector is never transposed.
Result<Tensor> ArrangeOperand(const KernelContext& ctx, const Tensor& t, bool trans,
                              bool trans_batch, const char* name) {
  const int64_t r = t.rank();
  std::vector<int64_t> perm(static_cast<size_t>(r));
  std::iota(perm.begin(), perm.end(), 0);
  if (trans_batch) {
    if (r < 3) {
      return ctx.Fail(std::string("transBatch") + name + " needs rank >= 3, got " +
                      ShapeToString(t.shape()));
    }
    std::rotate(perm.begin(), perm.begin() + 1, perm.end() - 1);
  }
  if (trans && r >= 2)
    std::swap(perm[static_cast<size_t>(r - 2)], perm[static_cast<size_t>(r - 1)]);
  bool identity = true;
  for (int64_t i = 0; i < r; ++i) identity = identity && perm[static_cast<size_t>(i)] == i;
  return identity ? t : TransposeTensor(t, perm);
}

Status FusedMatMulKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (!a || !b) return ctx.Fail("inputs A and B are required");
  if (!IsFloatingPoint(a->dtype())) {
    return ctx.Unsupported("element type " + std::string(DataTypeName(a->dtype())));
  }
  const ir::Node& node = ctx.node();
  ASSIGN_OR_RETURN(Tensor a2, ArrangeOperand(ctx, *a, node.GetInt("transA", 0) != 0,
                                             node.GetInt("transBatchA", 0) != 0, "A"));
  ASSIGN_OR_RETURN(Tensor b2, ArrangeOperand(ctx, *b, node.GetInt("transB", 0) != 0,
                                             node.GetInt("transBatchB", 0) != 0, "B"));
  ASSIGN_OR_RETURN(std::vector<Tensor> product, RunStandardKernel(ctx, "MatMul", {&a2, &b2}));
  Tensor y = std::move(product[0]);
  const float alpha = node.GetFloat("alpha", 1.0f);
  if (alpha != 1.0f) {
    Tensor work = AsComputeTensor(y);
    if (work.dtype() == DataType::kDouble) {
      double* p = work.mutable_data<double>();
      for (int64_t i = 0; i < work.size(); ++i) p[i] *= static_cast<double>(alpha);
    } else {
      float* p = work.mutable_data<float>();
      for (int64_t i = 0; i < work.size(); ++i) p[i] *= alpha;
    }
    y = IsHalfLike(y.dtype()) ? FromFloatTensor(work, y.dtype()) : std::move(work);
  }
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("com.microsoft", "FusedGemm", 1, 1, FusedGemmKernel);
REGISTER_KERNEL("com.microsoft", "FusedMatMul", 1, 1, FusedMatMulKernel);

}  // namespace graphopt::reference
