#include "optimizer/passes/basic/fuse_conv_mul_add.h"

#include "optimizer/pass/fusion_util.h"

namespace graphopt {

namespace {

// Preconditions: one operand is a Conv output read only here (MatchFoldableConv), the other
// a finite float constant that is per output channel without growing the result: scalar,
// [C,1,..,1] or [1,C,1,..,1] (PerChannelConstant). Any other broadcast shape refuses.
RewriteResult FoldIntoConv(PassContext& ctx, Rewriter& rw, ir::Node* n, bool is_mul) {
  if (n->inputs().size() != 2) return false;
  for (size_t conv_side = 0; conv_side < 2; ++conv_side) {
    auto conv = MatchFoldableConv(n->input(conv_side));
    if (!conv) continue;
    auto c = PerChannelConstant(n->input(1 - conv_side), conv->rank(), conv->out_channels());
    if (!c) return false;
    const ChannelAffine affine = is_mul ? ChannelAffine::Scale(*c) : ChannelAffine::Shift(*c);
    FoldAffineIntoConv(rw.graph(), *conv, affine);
    return AbsorbConsumer(rw, n, conv->conv->output(0));
  }
  return false;
}

RewriteResult ConvMul(PassContext& ctx, Rewriter& rw, ir::Node* n) { return FoldIntoConv(ctx, rw, n, /*is_mul=*/true); }
RewriteResult ConvAdd(PassContext& ctx, Rewriter& rw, ir::Node* n) { return FoldIntoConv(ctx, rw, n, /*is_mul=*/false); }

}  // namespace

FuseConvMulAdd::FuseConvMulAdd()
    : RulePass({{"conv_mul", "Mul", "", ConvMul}, {"conv_add", "Add", "", ConvAdd}}) {}

GRAPHOPT_REGISTER_PASS(FuseConvMulAdd, "fuse_conv_mul_add", kBasic, 130,
                       "fold per-channel constant Mul/Add after a Conv into its weights and bias");

}  // namespace graphopt
