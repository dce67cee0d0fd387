// Tests of the declarative pattern matcher the fusions share: operand orders of commutative ops
// with backtracking, repeated names bound to one value, alternatives, constants within
// tolerance, and the self-containment check that guards every fusion.
#include <gtest/gtest.h>

#include "optimizer/pass/pattern.h"
#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using pattern::Any;
using pattern::Const;
using pattern::MatchValue;
using pattern::OneOf;
using pattern::Op;
using pattern::Scalar;
using testing::ModelBuilder;

// x * (y + x): the inner Add must be tried in both orders for "x" to bind consistently.
TEST(Pattern, CommutativeOperandsBacktrack) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* y = b.Input("y", DataType::kFloat, {2});
  auto* root = b.Op("Mul", {b.Op("Add", {y, x}), x});
  const auto p = Op("Mul", {Any("x"), Op("Add", {Any("x"), Any("other")}, "add")});
  auto m = MatchValue(p, root);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("x"), x);
  EXPECT_EQ(m->value("other"), y);
  EXPECT_EQ(m->matched.size(), 2u);
  EXPECT_EQ(m->node("add"), y->uses()[0].node);
}

// A name bound twice must be one value: x * Sigmoid(z) is no x * Sigmoid(x).
TEST(Pattern, RepeatedNameNeedsTheSameValue) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* z = b.Input("z", DataType::kFloat, {2});
  auto* root = b.Op("Mul", {x, b.Op("Sigmoid", {z})});
  EXPECT_FALSE(MatchValue(Op("Mul", {Any("x"), Op("Sigmoid", {Any("x")})}), root).has_value());
  EXPECT_TRUE(MatchValue(Op("Mul", {Any("x"), Op("Sigmoid", {Any("z")})}), root).has_value());
}

TEST(Pattern, ScalarToleranceAndAlternatives) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* root = b.Op("Div", {x, testing::Scalar(b, "c", 1.4142f)});
  auto sqrt2 = [](double tol) {
    return OneOf({Op("Mul", {Any("x"), Scalar(0.70710678, tol)}),
                  Op("Div", {Any("x"), Scalar(1.41421356, tol, "c")})});
  };
  auto m = MatchValue(sqrt2(1e-4), root);
  ASSERT_TRUE(m.has_value());
  EXPECT_NEAR(m->scalar("c"), 1.4142, 1e-6);
  EXPECT_FALSE(MatchValue(sqrt2(1e-6), root).has_value());
  // A non-scalar constant is no Scalar, but is a Const.
  auto* v = b.Op("Mul", {x, testing::RandomInit(b, "w", {2}, 1)});
  EXPECT_FALSE(MatchValue(Op("Mul", {Any("x"), Scalar(0.5, 10)}), v).has_value());
  EXPECT_TRUE(MatchValue(Op("Mul", {Any("x"), Const("w")}), v).has_value());
}

TEST(Pattern, WhereAndExtraInputs) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* clip = b.Op("Clip", {x, testing::Scalar(b, "lo", 0), testing::Scalar(b, "hi", 6)});
  auto bounded = [](double hi) {
    return Op("Clip", {Any("x")}).IgnoreExtraInputs().Where([hi](const ir::Node* n) {
      auto bounds = pattern::ClipBounds(n, 14);
      return bounds && bounds->first == 0 && bounds->second == hi;
    });
  };
  EXPECT_TRUE(MatchValue(bounded(6), clip).has_value());
  EXPECT_FALSE(MatchValue(bounded(1), clip).has_value());
  EXPECT_FALSE(MatchValue(Op("Clip", {Any("x")}), clip).has_value());  // arity differs
}

// Interior values read outside the match make it unsafe to replace.
TEST(Pattern, SelfContainedSeesOutsideReaders) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* s = b.Op("Sigmoid", {x});
  auto* root = b.Op("Mul", {x, s});
  b.Output(root);
  const auto p = Op("Mul", {Any("x"), Op("Sigmoid", {Any("x")})});
  auto m = MatchValue(p, root);
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(pattern::IsSelfContained(*m, root->producer()));
  b.Output(s);
  EXPECT_FALSE(pattern::IsSelfContained(*m, root->producer()));
}

}  // namespace
}  // namespace graphopt
