#include "optimizer/passes/extended/fuse_gelu.h"


namespace graphopt {

namespace {

using pattern::Any;
using pattern::OneOf;
using pattern::Op;
using pattern::Pattern;
using pattern::Scalar;

// Exporters print sqrt(2) as 1.4142 or 1.41421356..., its inverse as 0.7071 or 0.70710677, and
// sqrt(2/pi) as 0.7978 or 0.7978845608: within 1e-4 of the exact values, a rounding error far
// below the tolerance of verification. Other constants (0.5, 1, 0.044715) are matched exactly
// up to float rounding.
constexpr double kConstTolerance = 1e-4;
constexpr double kExactTolerance = 1e-6;

// The three placements of the final Mul by 0.5: (x * inner) * 0.5, x * (inner * 0.5) and
// (x * 0.5) * inner (commutative operands are tried both ways by the matcher).
Pattern HalfTimes(const Pattern& inner) {
  return OneOf({Op("Mul", {Op("Mul", {Any("x"), inner}), Scalar(0.5, kExactTolerance)}),
                Op("Mul", {Any("x"), Op("Mul", {inner, Scalar(0.5, kExactTolerance)})}),
                Op("Mul", {Op("Mul", {Any("x"), Scalar(0.5, kExactTolerance)}), inner})});
}

const Pattern& ErfGelu() {
  static const Pattern p = HalfTimes(
      Op("Add",
         {Op("Erf", {OneOf({Op("Div", {Any("x"), Scalar(1.4142135623730951, kConstTolerance)}),
                            Op("Mul", {Any("x"), Scalar(0.7071067811865476, kConstTolerance)})})}),
          Scalar(1.0, kExactTolerance)}));
  return p;
}

const Pattern& TanhGelu() {
  static const Pattern cube = OneOf({Op("Pow", {Any("x"), Scalar(3.0, 0)}),
                                     Op("Mul", {Op("Mul", {Any("x"), Any("x")}), Any("x")})});
  static const Pattern p = HalfTimes(Op(
      "Add",
      {Op("Tanh",
          {Op("Mul", {Op("Add", {Any("x"), Op("Mul", {cube, Scalar(0.044715, kExactTolerance)})}),
                      Scalar(0.7978845608028654, kConstTolerance)})}),
       Scalar(1.0, kExactTolerance)}));
  return p;
}

RewriteResult Fuse(Rewriter& rw, ir::Node* root, const Pattern& p, const char* op,
                   std::vector<std::string>* consumed) {
  auto m = pattern::MatchValue(p, root->output(0));
  if (!m) return false;
  if (!pattern::IsSelfContained(*m, root)) {
    return MatchFailure("a value inside the pattern is also read outside it");
  }
  ir::Value* x = m->value("x");
  // ONNX Runtime's CPU kernels are float32 only; scalar constants keep x's shape unless x is
  // itself a scalar.
  if (x->elem_type() != DataType::kFloat) {
    return MatchFailure("input is not float32 (ONNX Runtime's kernel is float32 only)");
  }
  if (!x->type().shape || x->type().shape->empty()) {
    return MatchFailure("input rank unknown or scalar");
  }
  *consumed = pattern::NodeNames(m->matched);
  return pattern::ReplaceWithFused(rw, root, op, "com.microsoft", {x}) != nullptr;
}

RewriteResult GeluErf(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  return Fuse(rw, root, ErfGelu(), "Gelu", rw.consumed());
}

RewriteResult GeluTanh(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  return Fuse(rw, root, TanhGelu(), "FastGelu", rw.consumed());
}

}  // namespace

FuseGelu::FuseGelu()
    : RulePass({{"gelu_erf", "Mul", "", GeluErf, {"com.microsoft.Gelu"}},
                {"gelu_tanh", "Mul", "", GeluTanh, {"com.microsoft.FastGelu"}}}) {}

GRAPHOPT_REGISTER_PASS(FuseGelu, "fuse_gelu", kExtended, 210,
                       "erf GELU into com.microsoft.Gelu, tanh GELU into com.microsoft.FastGelu",
                       "com.microsoft.Gelu", "com.microsoft.FastGelu");

}  // namespace graphopt
