#include "optimizer/passes/basic/fuse_convtranspose_batchnorm.h"

#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// ConvTranspose weights are [C_in, C_out / group, k...]: output channel o = g * (C_out /
// group) + j of input channel i's group g is the j-th slice of row i, so the scale is not one
// contiguous block per channel as in Conv. Preconditions: BN inference with constant
// parameters, the ConvTranspose's output read only by the BN, constant float weights and bias.
// ONNX Runtime keeps this BatchNormalization as a separate pass over the (large) output.
RewriteResult ConvTransposeBatchNorm(PassContext& ctx, Rewriter& rw, ir::Node* bn) {
  ir::Value* x = bn->input(0);
  ir::Node* ct = x ? x->producer() : nullptr;
  if (!ct || !ct->Is("ConvTranspose")) return false;
  if (!HasSingleUse(x) || x->is_graph_output()) {
    return MatchFailure("the ConvTranspose's output has other readers");
  }
  const Tensor* w = ConstantValue(ct->input(1));
  if (!w || !IsFoldableFloatType(w->dtype()) || w->rank() < 3) {
    return MatchFailure("the ConvTranspose's weight is not a constant float tensor");
  }
  const int64_t group = ct->GetInt("group", 1);
  const int64_t in = w->shape()[0], per_group = w->shape()[1];
  const int64_t out = per_group * group;
  if (group < 1 || in % group != 0) return false;
  std::optional<std::vector<double>> bias;
  if (ct->input(2) && !(bias = ConstantFloats(ct->input(2)))) {
    return MatchFailure("the ConvTranspose's bias is not a constant float tensor");
  }
  if (bias && static_cast<int64_t>(bias->size()) != out) return false;
  auto affine = InferenceBatchNormAffine(bn);
  if (!affine) {
    return MatchFailure("BatchNormalization is not in inference mode with constant parameters");
  }
  if (static_cast<int64_t>(affine->scale.size()) != out) {
    return MatchFailure("BatchNormalization channels differ from the ConvTranspose's outputs");
  }
  std::vector<double> weights = ToDoubles(*w);
  const int64_t kernel = w->size() / (in * per_group);
  for (int64_t i = 0; i < in; ++i) {
    const int64_t first = i / (in / group) * per_group;
    for (int64_t j = 0; j < per_group; ++j) {
      const double s = affine->scale[static_cast<size_t>(first + j)];
      double* row = weights.data() + (i * per_group + j) * kernel;
      for (int64_t k = 0; k < kernel; ++k) row[k] *= s;
    }
  }
  std::vector<double> shifted(static_cast<size_t>(out));
  for (size_t o = 0; o < shifted.size(); ++o) {
    shifted[o] = (bias ? (*bias)[o] : 0.0) * affine->scale[o] + affine->shift[o];
  }
  const std::string hint = ct->input(1)->name();
  ct->SetInput(1, rw.CreateInitializer(hint, MakeFloatTensor(w->dtype(), w->shape(), weights)));
  ir::Value* b = rw.CreateInitializer(hint + "_bias", MakeFloatTensor(w->dtype(), {out}, shifted));
  if (ct->inputs().size() > 2) {
    ct->SetInput(2, b);
  } else {
    ct->AddInput(b);
  }
  // Cannot fail: the ConvTranspose's output is an ordinary node output, so it may take the
  // BN's name.
  return AbsorbConsumer(rw, bn, x);
}

}  // namespace

FuseConvTransposeBatchNorm::FuseConvTransposeBatchNorm()
    : RulePass({{"convtranspose_batchnorm", "BatchNormalization", "", ConvTransposeBatchNorm}}) {}

GRAPHOPT_REGISTER_PASS(FuseConvTransposeBatchNorm, "fuse_convtranspose_batchnorm", kBasic, 122,
                       "fold inference BatchNormalization into the preceding ConvTranspose's "
                       "weights and bias");

}  // namespace graphopt
