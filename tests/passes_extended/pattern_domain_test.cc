// The matcher beyond the default domain and output 0: operators of other domains, values that
// are a later output of their producer, and opset-dependent patterns built once.
#include <gtest/gtest.h>

#include "optimizer/pass/pattern.h"
#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using pattern::Any;
using pattern::MatchValue;
using pattern::Op;
using testing::ModelBuilder;

TEST(PatternDomain, MatchesAnOperatorOfAnotherDomainOnlyWhenAsked) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* gelu = b.Op("Gelu", {x}, "com.microsoft");
  auto* root = b.Op("Relu", {gelu});
  EXPECT_FALSE(MatchValue(Op("Relu", {Op("Gelu", {Any("x")})}), root).has_value());
  auto m = MatchValue(Op("Relu", {Op("Gelu", {Any("x")}, "gelu").InDomain("com.microsoft")}), root);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("x"), x);
  EXPECT_EQ(m->node("gelu")->domain(), "com.microsoft");
}

TEST(PatternDomain, MatchesALaterOutputOfItsProducer) {
  ModelBuilder b(14);
  auto* x = b.Input("x", DataType::kFloat, {4});
  ir::Node* split = b.graph().AddNode("Split", {x}, 2, "split");
  auto* root = b.Op("Neg", {split->output(1)});
  EXPECT_FALSE(MatchValue(Op("Neg", {Op("Split", {Any("x")})}), root).has_value());
  auto m = MatchValue(Op("Neg", {Op("Split", {Any("x")}).AtOutput(1)}), root);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->value("x"), x);
}

TEST(PatternDomain, BuildsAnOpsetPatternOncePerOpset) {
  int builds = 0;
  pattern::PerOpset patterns([&](int64_t opset) {
    ++builds;
    return Op(opset < 13 ? "Relu" : "Neg", {Any("x")});
  });
  const pattern::Pattern* first = &patterns.At(12);
  EXPECT_EQ(&patterns.At(12), first);
  patterns.At(14);
  patterns.At(14);
  EXPECT_EQ(builds, 2);
}

}  // namespace
}  // namespace graphopt
