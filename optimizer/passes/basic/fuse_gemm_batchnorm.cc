#include "optimizer/passes/basic/fuse_gemm_batchnorm.h"

#include "optimizer/pass/fusion_util.h"

namespace graphopt {

namespace {

// A Gemm's output is [M, N], so BN's channel axis (axis 1) is N: column n of op(B) and of C
// take the scale and shift of channel n. Preconditions: BN inference with constant
// parameters, Gemm output read only by the BN, constant float B, C absent or constant.
RewriteResult GemmBatchNorm(PassContext& ctx, Rewriter& rw, ir::Node* bn) {
  auto gemm = MatchFoldableGemm(bn->input(0));
  if (!gemm) return false;
  auto affine = InferenceBatchNormAffine(bn);
  if (!affine || static_cast<int64_t>(affine->scale.size()) != gemm->n) return false;
  FoldAffineIntoGemm(rw.graph(), *gemm, *affine);
  return AbsorbConsumer(rw, bn, gemm->gemm->output(0));
}

}  // namespace

FuseGemmBatchNorm::FuseGemmBatchNorm()
    : RulePass({{"gemm_batchnorm", "BatchNormalization", "", GemmBatchNorm}}) {}

GRAPHOPT_REGISTER_PASS(FuseGemmBatchNorm, "fuse_gemm_batchnorm", kBasic, 125,
                       "fold inference BatchNormalization into the preceding Gemm's B and C");

}  // namespace graphopt
