// Golden tests of the first basic passes: each applies where it should (op counts and equal
// outputs on the reference executor) and leaves the graph alone where its precondition fails.
#include <gtest/gtest.h>

#include <optional>

#include "passes/pass_test_util.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::ModelBuilder;
using testing::RunSinglePass;

TEST(EliminateIdentity, RemovesChainsAndKeepsOutputName) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  auto* i1 = b.Op("Identity", {x});
  auto* r = b.Op("Relu", {i1});
  auto* i2 = b.Op("Identity", {r});
  auto* y = b.Op("Identity", {i2});
  b.graph().RenameValue(y, "y");
  b.Output(y);
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_identity");
  EXPECT_EQ(run.applied, 3);
  EXPECT_EQ(testing::CountOp(*model, "Identity"), 0);
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_EQ(model->graph->outputs()[0]->name(), "y");
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(EliminateIdentity, KeepsIdentityBetweenGraphInputAndOutput) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  b.Output(b.Op("Identity", {x}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_identity");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(testing::CountOp(*model, "Identity"), 1);
}

// Relu(Dropout(x, ratio[, training])): ratio a constant, or a graph input when `ratio` is empty.
std::unique_ptr<ir::Model> DropoutModel(std::optional<float> ratio, bool training) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {4});
  std::vector<ir::Value*> inputs = {
      x, ratio ? b.Floats("ratio", {}, {*ratio}) : b.Input("ratio", DataType::kFloat, {})};
  if (training) {
    inputs.push_back(b.Init("training", Tensor::FromVector<uint8_t>(DataType::kBool, {}, {1})));
  }
  b.Output(b.Op("Relu", {b.Op("Dropout", inputs)}));
  return b.Build();
}

// Removed when it is an identity: inference mode, or training with a constant ratio of 0.
TEST(EliminateDropout, RemovesDropoutThatIsAnIdentity) {
  for (bool training : {false, true}) {
    auto model = DropoutModel(training ? 0.0f : 0.5f, training);
    auto run = RunSinglePass(*model, "eliminate_dropout");
    EXPECT_EQ(run.applied, 1) << training;
    EXPECT_EQ(testing::CountOp(*model, "Dropout"), 0) << training;
    EXPECT_EQ(CompareOutputs(*run.original, *model), "") << training;
  }
}

// Kept in training mode with a ratio above 0 or unknown: it drops at random.
TEST(EliminateDropout, KeepsTrainingModeDropout) {
  for (std::optional<float> ratio : {std::optional<float>(0.5f), std::optional<float>()}) {
    auto model = DropoutModel(ratio, true);
    EXPECT_EQ(RunSinglePass(*model, "eliminate_dropout").applied, 0);
    EXPECT_EQ(testing::CountOp(*model, "Dropout"), 1);
  }
}

TEST(EliminateDeadCode, RemovesUnusedNodesAndInitializers) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* w = b.Floats("w", {2}, {1, 2});
  b.Floats("unused", {2}, {3, 4});
  auto* dead = b.Op("Mul", {x, w});
  b.Op("Exp", {dead});  // chain nobody reads
  b.Output(b.Op("Relu", {x}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_dead_code");
  EXPECT_EQ(model->graph->num_nodes(), 1u);
  EXPECT_TRUE(model->graph->initializers().empty());
  EXPECT_EQ(run.record.rule_counts.at("dead_node"), 2);
  EXPECT_EQ(run.record.rule_counts.at("unused_initializer"), 2);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

TEST(EliminateDeadCode, KeepsUnknownDomainNodesAndGraphInputs) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  b.Input("unused_input", DataType::kFloat, {2});
  b.Op("SideEffect", {x}, "com.example");
  b.Output(b.Op("Relu", {x}));
  auto model = b.Build();
  model->opset_imports.push_back({"com.example", 1});
  RunSinglePass(*model, "eliminate_dead_code");
  EXPECT_EQ(model->graph->num_nodes(), 2u);
  EXPECT_EQ(model->graph->inputs().size(), 2u);
}

TEST(EliminateDeadCode, KeepsValuesThatOnlyASubgraphReads) {
  // t = Exp(x) is read only inside the If's branches; it must survive dead-code elimination.
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2});
  auto* cond = b.Input("cond", DataType::kBool, {});
  auto* t = b.Op("Exp", {x});
  ir::Node* if_node = testing::AddIfReading(b, cond, t);
  b.Output(if_node->output(0));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_dead_code");
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(testing::CountOp(*model, "Exp"), 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// One nop rule: `make` builds the op on x (shape {2,3}) and returns its output.
struct NopCase {
  const char* name;
  bool removed;
  std::function<ir::Value*(ModelBuilder&, ir::Value*)> make;
};

class EliminateNopTest : public ::testing::TestWithParam<NopCase> {};

TEST_P(EliminateNopTest, AppliesOnlyWhenTheOpIsANop) {
  const NopCase& c = GetParam();
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3});
  auto* pre = b.Op("Relu", {x});
  auto* nop = c.make(b, pre);
  const std::string op = b.LastNode()->op_type();
  b.Output(b.Op("Neg", {nop}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, "eliminate_nop");
  EXPECT_EQ(testing::CountOp(*model, op), c.removed ? 0 : 1) << c.name;
  EXPECT_EQ(run.applied, c.removed ? 1 : 0) << c.name;
  EXPECT_EQ(CompareOutputs(*run.original, *model), "") << c.name;
}

ir::Value* WithInts(ModelBuilder& b, ir::Value* v, const char* op, const char* attr,
                    std::vector<int64_t> ints) {
  auto* out = b.Op(op, {v});
  b.LastNode()->SetInts(attr, std::move(ints));
  return out;
}

INSTANTIATE_TEST_SUITE_P(
    Rules, EliminateNopTest,
    ::testing::Values(
        NopCase{"transpose_identity", true,
                [](ModelBuilder& b, ir::Value* v) { return WithInts(b, v, "Transpose", "perm", {0, 1}); }},
        NopCase{"transpose_swap", false,
                [](ModelBuilder& b, ir::Value* v) { return WithInts(b, v, "Transpose", "perm", {1, 0}); }},
        NopCase{"cast_same", true,
                [](ModelBuilder& b, ir::Value* v) {
                  auto* o = b.Op("Cast", {v});
                  b.LastNode()->SetInt("to", 1);
                  return o;
                }},
        NopCase{"cast_other", false,
                [](ModelBuilder& b, ir::Value* v) {
                  auto* o = b.Op("Cast", {v});
                  b.LastNode()->SetInt("to", 11);
                  return o;
                }},
        NopCase{"reshape_same", true,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Reshape", {v, b.Ints("s", {2, -1})}); }},
        NopCase{"reshape_other", false,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Reshape", {v, b.Ints("s", {3, 2})}); }},
        NopCase{"expand_same", true,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Expand", {v, b.Ints("s", {1, 3})}); }},
        NopCase{"expand_grows", false,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Expand", {v, b.Ints("s", {4, 2, 3})}); }},
        NopCase{"pad_zero", true,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Pad", {v, b.Ints("p", {0, 0, 0, 0})}); }},
        NopCase{"pad_nonzero", false,
                [](ModelBuilder& b, ir::Value* v) { return b.Op("Pad", {v, b.Ints("p", {0, 1, 0, 0})}); }},
        NopCase{"slice_whole", true,
                [](ModelBuilder& b, ir::Value* v) {
                  return b.Op("Slice", {v, b.Ints("st", {0}), b.Ints("en", {INT64_MAX}), b.Ints("ax", {1})});
                }},
        NopCase{"slice_exact_end", true,
                [](ModelBuilder& b, ir::Value* v) {
                  return b.Op("Slice", {v, b.Ints("st", {0, 0}), b.Ints("en", {2, 3})});
                }},
        NopCase{"slice_part", false,
                [](ModelBuilder& b, ir::Value* v) {
                  return b.Op("Slice", {v, b.Ints("st", {1}), b.Ints("en", {3}), b.Ints("ax", {1})});
                }},
        NopCase{"concat_single", true,
                [](ModelBuilder& b, ir::Value* v) {
                  auto* o = b.Op("Concat", {v});
                  b.LastNode()->SetInt("axis", 0);
                  return o;
                }},
        NopCase{"concat_two", false,
                [](ModelBuilder& b, ir::Value* v) {
                  auto* o = b.Op("Concat", {v, v});
                  b.LastNode()->SetInt("axis", 0);
                  return o;
                }}),
    [](const ::testing::TestParamInfo<NopCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace graphopt
