// Golden tests of the algebraic simplification rules: each case builds x -> Relu -> (pattern)
// -> Neg and states whether the rule fires; outputs must match the original either way.
#include <gtest/gtest.h>

#include <functional>

#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::ModelBuilder;
using testing::RunSinglePass;

struct AlgebraCase {
  const char* name;
  const char* rule;  // expected rule in the report, or "" when nothing may fire
  size_t nodes_after;  // nodes left, including the surrounding Relu and Neg
  std::function<ir::Value*(ModelBuilder&, ir::Value*)> make;
};

class SimplifyAlgebraTest : public ::testing::TestWithParam<AlgebraCase> {};

TEST_P(SimplifyAlgebraTest, RewritesExactlyWhenThePreconditionHolds) {
  const AlgebraCase& c = GetParam();
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  auto* pre = b.Op("Relu", {x});
  b.Output(b.Op("Neg", {c.make(b, pre)}));
  auto model = b.Build();
  const size_t before = model->graph->num_nodes();
  auto run = RunSinglePass(*model, "simplify_algebra");
  if (std::string(c.rule).empty()) {
    EXPECT_EQ(run.applied, 0) << c.name;
    EXPECT_EQ(model->graph->num_nodes(), before) << c.name;
  } else {
    EXPECT_GT(run.record.rule_counts[c.rule], 0) << c.name;
  }
  EXPECT_EQ(model->graph->num_nodes(), c.nodes_after) << c.name;
  EXPECT_EQ(CompareOutputs(*run.original, *model), "") << c.name;
}

ir::Value* Binary(ModelBuilder& b, const char* op, ir::Value* x, ir::Value* c) {
  return b.Op(op, {x, c});
}

ir::Value* Scalar(ModelBuilder& b, float v) {
  static int counter = 0;
  return b.Floats("c" + std::to_string(counter++), {}, {v});
}

ir::Value* CastTo(ModelBuilder& b, ir::Value* v, DataType t) {
  auto* out = b.Op("Cast", {v});
  b.LastNode()->SetInt("to", static_cast<int64_t>(t));
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, SimplifyAlgebraTest,
    ::testing::Values(
        AlgebraCase{"mul_one", "mul_by_one", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Mul", x, Scalar(b, 1)); }},
        AlgebraCase{"one_mul", "mul_by_one", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Mul", Scalar(b, 1), x); }},
        AlgebraCase{"mul_ones_that_broadcast", "", 3,
                    [](ModelBuilder& b, ir::Value* x) {
                      return Binary(b, "Mul", x, b.Floats("ones", {2, 2, 3}, std::vector<float>(12, 1)));
                    }},
        AlgebraCase{"mul_two", "", 3,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Mul", x, Scalar(b, 2)); }},
        AlgebraCase{"add_zero", "add_zero", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Add", x, Scalar(b, 0)); }},
        AlgebraCase{"sub_zero", "sub_zero", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Sub", x, Scalar(b, 0)); }},
        AlgebraCase{"zero_sub", "", 3,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Sub", Scalar(b, 0), x); }},
        AlgebraCase{"div_one", "div_by_one", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Div", x, Scalar(b, 1)); }},
        AlgebraCase{"div_constant", "div_by_constant", 3,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Div", x, Scalar(b, 3)); }},
        AlgebraCase{"div_by_zero_constant", "", 3,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Div", x, Scalar(b, 0)); }},
        AlgebraCase{"pow_one", "pow_one", 2,
                    [](ModelBuilder& b, ir::Value* x) { return Binary(b, "Pow", x, Scalar(b, 1)); }},
        AlgebraCase{"neg_neg", "neg_neg", 2,
                    [](ModelBuilder& b, ir::Value* x) { return b.Op("Neg", {b.Op("Neg", {x})}); }},
        AlgebraCase{"relu_relu", "relu_relu", 2,
                    [](ModelBuilder& b, ir::Value* x) { return b.Op("Relu", {x}); }},
        AlgebraCase{"reshape_reshape", "reshape_reshape", 3,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* r = b.Op("Reshape", {x, b.Ints("s1", {3, 2})});
                      return b.Op("Reshape", {r, b.Ints("s2", {6})});
                    }},
        AlgebraCase{"reshape_reshape_with_zero", "", 4,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* r = b.Op("Reshape", {x, b.Ints("s1", {3, 2})});
                      return b.Op("Reshape", {r, b.Ints("s2", {0, 2})});
                    }},
        AlgebraCase{"unsqueeze_squeeze", "squeeze_unsqueeze", 2,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* u = b.Op("Unsqueeze", {x, b.Ints("a1", {1})});
                      return b.Op("Squeeze", {u, b.Ints("a2", {1})});
                    }},
        AlgebraCase{"unsqueeze_squeeze_other_axis", "", 4,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* u = b.Op("Unsqueeze", {x, b.Ints("a1", {0, 1})});
                      return b.Op("Squeeze", {u, b.Ints("a2", {1})});
                    }},
        AlgebraCase{"cast_widen_and_back", "cast_cast", 2,
                    [](ModelBuilder& b, ir::Value* x) {
                      return CastTo(b, CastTo(b, x, DataType::kDouble), DataType::kFloat);
                    }},
        AlgebraCase{"cast_narrowing_chain", "", 4,
                    [](ModelBuilder& b, ir::Value* x) {
                      return CastTo(b, CastTo(b, x, DataType::kFloat16), DataType::kFloat);
                    }},
        AlgebraCase{"mul_reciprocal_sqrt", "mul_by_reciprocal", 5,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* r = b.Op("Reciprocal", {b.Op("Sqrt", {b.Op("Abs", {x})})});
                      return b.Op("Mul", {x, r});
                    }},
        AlgebraCase{"concat_concat", "concat_concat", 3,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* inner = b.Op("Concat", {x, x});
                      b.LastNode()->SetInt("axis", 1);
                      auto* outer = b.Op("Concat", {inner, x});
                      b.LastNode()->SetInt("axis", -1);
                      return outer;
                    }},
        AlgebraCase{"concat_other_axis", "", 5,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* inner = b.Op("Concat", {x, x});
                      b.LastNode()->SetInt("axis", 0);
                      auto* twin = b.Op("Concat", {x, x});
                      b.LastNode()->SetInt("axis", 0);
                      auto* outer = b.Op("Concat", {inner, twin});
                      b.LastNode()->SetInt("axis", 1);
                      return outer;
                    }},
        AlgebraCase{"slice_slice", "slice_slice", 3,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* s1 = b.Op("Slice", {x, b.Ints("st1", {1}), b.Ints("en1", {3}), b.Ints("ax1", {1})});
                      return b.Op("Slice", {s1, b.Ints("st2", {1}), b.Ints("en2", {5}), b.Ints("ax2", {1})});
                    }},
        AlgebraCase{"slice_slice_negative", "", 4,
                    [](ModelBuilder& b, ir::Value* x) {
                      auto* s1 = b.Op("Slice", {x, b.Ints("st1", {1}), b.Ints("en1", {3}), b.Ints("ax1", {1})});
                      return b.Op("Slice", {s1, b.Ints("st2", {-1}), b.Ints("en2", {5}), b.Ints("ax2", {1})});
                    }}),
    [](const ::testing::TestParamInfo<AlgebraCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace graphopt
