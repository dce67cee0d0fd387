#include "optimizer/passes/basic/decompose_batchnorm.h"

#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// Preconditions: inference BN with constant parameters; the input's rank (>= 2) and element
// type known so the constants can be shaped [C,1,..,1] and typed like the input; not after
// a Conv or Gemm the fusions can fold it into (they run first and remove a whole node).
RewriteResult DecomposeBn(PassContext& ctx, Rewriter& rw, ir::Node* bn) {
  ir::Value* x = bn->input(0);
  if (!x || MatchFoldableConv(x) || MatchFoldableGemm(x)) return false;
  const auto& type = x->type();
  if (!type.shape || type.shape->size() < 2 || !IsFoldableFloatType(type.elem_type)) return false;
  auto affine = InferenceBatchNormAffine(bn);
  if (!affine) return false;
  const ir::Dim& channel_dim = (*type.shape)[1];
  const auto channels = static_cast<int64_t>(affine->scale.size());
  if (channel_dim.known() && channel_dim.value != channels) return false;

  Shape shape(type.shape->size() - 1, 1);
  shape[0] = channels;
  const std::string hint = bn->name().empty() ? "batchnorm" : bn->name();
  ir::Value* scale =
      rw.CreateInitializer(hint + "_scale", MakeFloatTensor(type.elem_type, shape, affine->scale));
  ir::Value* shift =
      rw.CreateInitializer(hint + "_shift", MakeFloatTensor(type.elem_type, shape, affine->shift));
  ir::Node* mul = rw.CreateNode("Mul", {x, scale}, 1, hint + "_mul");
  ir::Node* add = rw.CreateNode("Add", {mul->output(0), shift}, 1, hint + "_add");
  mul->output(0)->type() = type;
  add->output(0)->type() = bn->output(0)->type().has_type() ? bn->output(0)->type() : type;
  // Cannot fail: the Add's output is a fresh node output, so it may take the BN's name.
  return AbsorbConsumer(rw, bn, add->output(0));
}

}  // namespace

DecomposeBatchNorm::DecomposeBatchNorm()
    : RulePass({{"batchnorm_to_mul_add", "BatchNormalization", "", DecomposeBn}}) {}

GRAPHOPT_REGISTER_PASS(DecomposeBatchNorm, "decompose_batchnorm", kBasic, 190,
                       "rewrite a BatchNormalization no Conv/Gemm absorbs as Mul + Add");

// After fuse_conv_batchnorm: the fusions remove a whole node; decomposing first would leave a Mul + Add.
GRAPHOPT_PASS_AFTER("decompose_batchnorm", "fuse_conv_batchnorm");
GRAPHOPT_PASS_AFTER("decompose_batchnorm", "fuse_gemm_batchnorm");
GRAPHOPT_PASS_AFTER("decompose_batchnorm", "fuse_convtranspose_batchnorm");

}  // namespace graphopt
