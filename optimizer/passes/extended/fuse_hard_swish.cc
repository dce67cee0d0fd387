#include "optimizer/passes/extended/fuse_hard_swish.h"

#include <cmath>


namespace graphopt {

using pattern::Any;
using pattern::OneOf;
using pattern::Op;
using pattern::Pattern;
using pattern::Scalar;

Pattern Relu6OfXPlus3(int64_t opset) {
  return Op("Clip", {Op("Add", {Any("x"), Scalar(3.0, kHardTolerance)})})
      .IgnoreExtraInputs()
      .Where([opset](const ir::Node* clip) {
        auto bounds = pattern::ClipBounds(clip, opset);
        return bounds && bounds->first == 0.0 && bounds->second == 6.0;
      });
}

bool IsHardSigmoidOfSixth(const ir::Node* n) {
  return n->Is("HardSigmoid") &&
         std::fabs(n->GetFloat("alpha", 0.2f) - 1.0 / 6) <= kHardTolerance &&
         std::fabs(n->GetFloat("beta", 0.5f) - 0.5) <= kHardTolerance;
}

namespace {

Pattern HardSwishPattern(int64_t opset) {
  const Pattern relu6 = Relu6OfXPlus3(opset);
  const Pattern sixth = Scalar(1.0 / 6, kHardTolerance);
  const Pattern six = Scalar(6.0, kHardTolerance);
  return OneOf({
      Op("Mul", {Any("x"), Op("Mul", {relu6, sixth})}),  // x * (relu6(x + 3) * 1/6)
      Op("Mul", {Any("x"), Op("Div", {relu6, six})}),    // x * (relu6(x + 3) / 6)
      Op("Mul", {Op("Mul", {Any("x"), relu6}), sixth}),  // (x * relu6(x + 3)) * 1/6
      Op("Div", {Op("Mul", {Any("x"), relu6}), six}),    // (x * relu6(x + 3)) / 6
      Op("Mul", {Any("x"), Op("HardSigmoid", {Any("x")}).Where(IsHardSigmoidOfSixth)}),
  });
}

RewriteResult HardSwish(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  static pattern::PerOpset kPattern(HardSwishPattern);
  auto m = pattern::MatchValue(kPattern.At(ctx.opset()), root->output(0));
  if (!m || !pattern::IsSelfContained(*m, root)) return false;
  ir::Value* x = m->value("x");
  // Scalar constants keep x's shape when x has a rank; HardSwish is defined for float types.
  if (!pattern::IsFloatValue(x) || !x->type().shape || x->type().shape->empty()) return false;
  *rw.consumed() = pattern::NodeNames(m->matched);
  return pattern::ReplaceWithFused(rw, root, "HardSwish", "", {x}) != nullptr;
}

}  // namespace

FuseHardSwish::FuseHardSwish()
    : RulePass({{"hard_swish", "Mul", "", HardSwish, {"HardSwish"}},
                {"hard_swish", "Div", "", HardSwish, {"HardSwish"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseHardSwish, "fuse_hard_swish", kExtended, 250,
                       "x * Clip(x + 3, 0, 6) / 6 and x * HardSigmoid(x) into HardSwish",
                       "HardSwish");

}  // namespace graphopt
