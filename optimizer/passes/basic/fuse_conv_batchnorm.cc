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
  if (!conv) {
    const ir::Node* producer = bn->input(0) ? bn->input(0)->producer() : nullptr;
    if (!producer || !producer->Is("Conv")) return false;  // no Conv: not a near miss
    return MatchFailure(
        "the Conv is not foldable (its output has other readers, or weight or bias is not a "
        "constant float tensor)");
  }
  auto affine = InferenceBatchNormAffine(bn);
  if (!affine) {
    return MatchFailure("BatchNormalization is not in inference mode with constant parameters");
  }
  if (static_cast<int64_t>(affine->scale.size()) != conv->out_channels()) {
    return MatchFailure("BatchNormalization channels differ from the Conv's output channels");
  }
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
