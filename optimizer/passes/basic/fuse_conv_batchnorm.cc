#include "optimizer/passes/basic/fuse_conv_batchnorm.h"

#include "optimizer/pass/fusion_util.h"

namespace graphopt {

namespace {

// Preconditions: BN in inference mode with constant parameters (InferenceBatchNormAffine);
// the Conv's output read only by the BN, constant float weights and bias
// (MatchFoldableConv); one BN channel per Conv output channel. Weights are rewritten as new
// initializers, so a weight shared with another node is left intact for it.
RewriteResult ConvBatchNorm(PassContext& ctx, Rewriter& rw, ir::Node* bn) {
  auto conv = MatchFoldableConv(bn->input(0));
  if (!conv) return false;
  auto affine = InferenceBatchNormAffine(bn);
  if (!affine || static_cast<int64_t>(affine->scale.size()) != conv->out_channels()) return false;
  FoldAffineIntoConv(rw.graph(), *conv, *affine);
  // Cannot fail: the Conv's output is an ordinary node output, so it may take the BN's name.
  return AbsorbConsumer(rw, bn, conv->conv->output(0));
}

}  // namespace

FuseConvBatchNorm::FuseConvBatchNorm()
    : RulePass({{"conv_batchnorm", "BatchNormalization", "", ConvBatchNorm}}) {}

GRAPHOPT_REGISTER_PASS(FuseConvBatchNorm, "fuse_conv_batchnorm", kBasic, 120,
                       "fold inference BatchNormalization into the preceding Conv's weights");

}  // namespace graphopt
