#include "optimizer/passes/extended/fuse_hard_sigmoid.h"

#include "optimizer/passes/extended/fuse_hard_swish.h"

namespace graphopt {

namespace {

using pattern::Any;
using pattern::OneOf;
using pattern::Op;
using pattern::Pattern;
using pattern::Scalar;

Pattern HardSigmoidPattern(int64_t opset) {
  const Pattern relu6 = Relu6OfXPlus3(opset);
  const Pattern unit_clip =
      Op("Clip", {Op("Add", {OneOf({Op("Mul", {Any("x"), Scalar(1.0 / 6, kHardTolerance)}),
                                    Op("Div", {Any("x"), Scalar(6.0, kHardTolerance)})}),
                             Scalar(0.5, kHardTolerance)})})
          .IgnoreExtraInputs()
          .Where([opset](const ir::Node* clip) {
            auto bounds = pattern::ClipBounds(clip, opset);
            return bounds && bounds->first == 0.0 && bounds->second == 1.0;
          });
  return OneOf({Op("Mul", {relu6, Scalar(1.0 / 6, kHardTolerance)}),
                Op("Div", {relu6, Scalar(6.0, kHardTolerance)}), unit_clip});
}

RewriteResult HardSigmoid(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  static pattern::PerOpset kPattern(HardSigmoidPattern);
  auto m = pattern::MatchValue(kPattern.At(ctx.opset()), root->output(0));
  if (!m || !pattern::IsSelfContained(*m, root)) return false;
  ir::Value* x = m->value("x");
  if (!pattern::IsFloatValue(x) || !x->type().shape || x->type().shape->empty()) return false;
  *rw.consumed() = pattern::NodeNames(m->matched);
  ir::Node* fused = pattern::ReplaceWithFused(rw, root, "HardSigmoid", "", {x});
  if (!fused) return false;
  fused->SetFloat("alpha", 1.0f / 6);
  fused->SetFloat("beta", 0.5f);
  return true;
}

}  // namespace

FuseHardSigmoid::FuseHardSigmoid()
    : RulePass({{"hard_sigmoid", "Mul", "", HardSigmoid, {"HardSigmoid"}},
                {"hard_sigmoid", "Div", "", HardSigmoid, {"HardSigmoid"}},
                {"hard_sigmoid", "Clip", "", HardSigmoid, {"HardSigmoid"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseHardSigmoid, "fuse_hard_sigmoid", kExtended, 255,
                       "Clip(x + 3, 0, 6) / 6 and Clip(x / 6 + 0.5, 0, 1) into HardSigmoid",
                       "HardSigmoid");

// After fuse_hard_swish: HardSwish takes the whole x * relu6(x + 3) / 6 first.
GRAPHOPT_PASS_AFTER("fuse_hard_sigmoid", "fuse_hard_swish");

}  // namespace graphopt
