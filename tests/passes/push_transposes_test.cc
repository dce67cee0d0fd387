// Golden tests of push_transposes: a Transpose moves through elementwise ops, reductions,
// Concat/Split, Pad, Slice and nearest Resize only when Transposes then disappear; node counts
// and outputs on the reference executor, including symbolic dims.
#include <gtest/gtest.h>

#include "passes/fusion_test_util.h"
#include "passes/pass_test_util.h"

namespace graphopt {
namespace {

using testing::CompareOutputs;
using testing::CountOp;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunSinglePass;

constexpr const char* kPass = "push_transposes";
const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};

ir::Value* Transpose(ModelBuilder& b, ir::Value* x, const std::vector<int64_t>& perm) {
  ir::Value* y = b.Op("Transpose", {x});
  b.LastNode()->SetInts("perm", perm);
  return y;
}

// Runs the pass and checks the Transpose count after it, and that outputs did not change.
void ExpectTransposes(std::unique_ptr<ir::Model> model, int64_t before, int64_t after,
                      const std::map<std::string, int64_t>& dims = {}) {
  EXPECT_EQ(CountOp(*model, "Transpose"), before);
  const std::string signature = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), after);
  if (after == before) {
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), signature);
  } else {
    EXPECT_GT(run.applied, 0);
  }
  EXPECT_EQ(CompareOutputs(*run.original, *model, dims), "");
}

TEST(PushTransposes, UnaryChainCancels) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  auto* t = Transpose(b, x, kToNhwc);
  auto* y = b.Op("Sigmoid", {b.Op("Relu", {t})});
  b.Output(Transpose(b, y, kToNchw));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 2, 0);
}

// Found by `graphopt fuzz` (seed 3, graph 217): the pushed chain ends in two reader Transposes,
// the first of which cancels and is read by nothing. Bypassing it before the second reader was
// rewired erased the copy of the chain that the second was about to read (use after free).
TEST(PushTransposes, DeadCancellingReaderBeforeAnotherReader) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  auto* r = b.Op("Relu", {Transpose(b, x, kToNhwc)});  // [2, 4, 5, 3]
  Transpose(b, r, kToNchw);                            // cancels; nothing reads it
  b.Output(Transpose(b, r, {0, 2, 1, 3}));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 3, 1);
}

TEST(PushTransposes, BinaryWithConstantsPermutesTheConstants) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  auto* t = Transpose(b, x, kToNhwc);  // [2, 4, 5, 3]
  auto* a = b.Op("Add", {t, RandomInit(b, "c", {3}, 1)});           // lower rank: broadcasts
  auto* m = b.Op("Mul", {RandomInit(b, "d", {1, 4, 5, 3}, 2), a});  // full rank, first operand
  auto* s = b.Op("Sub", {m, b.Floats("one", {}, {1.0f})});          // scalar stays
  b.Output(Transpose(b, s, kToNchw));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 2, 0);
}

TEST(PushTransposes, TwoTransposedOperandsBecomeOne) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  auto* z = b.Input("z", DataType::kFloat, {2, 3, 4});
  auto* sum = b.Op("Add", {Transpose(b, x, {1, 0, 2}), Transpose(b, z, {1, 0, 2})});
  b.Output(sum);
  auto model = b.Build();
  ExpectTransposes(std::move(model), 2, 1);
}

TEST(PushTransposes, OperandOfAnotherPermMergesWithTheInverse) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  auto* z = b.Input("z", DataType::kFloat, {4, 2, 3});
  // T(x,[1,0,2]) is [3,2,4]; T(z,[2,1,0]) is [3,2,4]: their sum then goes back by [1,0,2].
  auto* sum = b.Op("Mul", {Transpose(b, x, {1, 0, 2}), Transpose(b, z, {2, 1, 0})});
  b.Output(Transpose(b, sum, {1, 0, 2}));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 3, 1);
}

TEST(PushTransposes, ReduceKeepdimsBothWays) {
  for (int64_t keepdims : {0, 1}) {
    for (bool axes_input : {false, true}) {
      ModelBuilder b(axes_input ? 13 : 11);
      auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
      auto* t = Transpose(b, x, kToNhwc);  // [2, 4, 5, 3]
      ir::Value* r;
      if (axes_input) {
        r = b.Op("ReduceSum", {t, b.Ints("axes", {-2})});
      } else {
        r = b.Op("ReduceMean", {t});
        b.LastNode()->SetInts("axes", {2});
      }
      b.LastNode()->SetInt("keepdims", keepdims);
      // keepdims: [2,4,1,3] back to [2,3,4,1]; without: [2,4,3] back to [2,3,4].
      b.Output(Transpose(b, r, keepdims ? kToNchw : std::vector<int64_t>{0, 2, 1}));
      auto model = b.Build();
      SCOPED_TRACE("keepdims " + std::to_string(keepdims) + (axes_input ? " input" : " attr"));
      ExpectTransposes(std::move(model), 2, 0);
    }
  }
}

TEST(PushTransposes, ReductionThatLeavesTheOrderDropsTheTranspose) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  // Global average over the spatial axes of an NHWC view: [2, 3] in either layout.
  auto* r = b.Op("ReduceMean", {Transpose(b, x, kToNhwc)});
  b.LastNode()->SetInts("axes", {1, 2});
  b.LastNode()->SetInt("keepdims", 0);
  b.Output(r);
  auto model = b.Build();
  ExpectTransposes(std::move(model), 1, 0);
}

TEST(PushTransposes, ArgMaxAxisRemapped) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  auto* r = b.Op("ArgMax", {Transpose(b, x, {2, 0, 1})});  // [4, 2, 3]
  b.LastNode()->SetInt("axis", -1);
  b.Output(Transpose(b, r, {1, 2, 0}));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 2, 0);
}

TEST(PushTransposes, ConcatAndSplitRemapTheAxis) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4, 5});
  auto* z = b.Input("z", DataType::kFloat, {2, 3, 4, 5});
  auto* c = b.Op("Concat", {Transpose(b, x, kToNhwc), Transpose(b, z, kToNhwc),
                            RandomInit(b, "k", {2, 4, 5, 2}, 3)});
  b.LastNode()->SetInt("axis", 3);  // channels of the NHWC view: [2, 4, 5, 8]
  b.Output(Transpose(b, c, kToNchw));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 3, 0);

  ModelBuilder s(13);
  auto* xs = s.Input("x", DataType::kFloat, {2, 6, 4});
  ir::Node* split = s.graph().AddNode(
      "Split", {Transpose(s, xs, {0, 2, 1}), s.Ints("split", {2, 4})}, 2, "split");
  split->SetInt("axis", -1);  // [2, 4, 6] into [2, 4, 2] and [2, 4, 4]
  s.Output(Transpose(s, split->output(0), {0, 2, 1}));
  s.Output(Transpose(s, split->output(1), {0, 2, 1}));
  auto split_model = s.Build();
  ExpectTransposes(std::move(split_model), 3, 0);
}

TEST(PushTransposes, PadSliceAndNearestResize) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {1, 3, 4, 5});
  auto* t = Transpose(b, x, kToNhwc);  // [1, 4, 5, 3]
  auto* p = b.Op("Pad", {t, b.Ints("pads", {0, 1, 0, 0, 0, 2, 1, 0}), b.Floats("v", {}, {0.5f})});
  auto* s = b.Op("Slice", {p, b.Ints("starts", {1, 0}), b.Ints("ends", {5, 2}),
                           b.Ints("axes", {1, -1})});  // no steps input
  auto* s2 = b.Op("Slice", {s, b.Ints("starts2", {0}), b.Ints("ends2", {1})});  // no axes
  auto* r = b.Op("Resize", {s2, b.Floats("roi", {0}, {}), b.Floats("scales", {4}, {1, 2, 3, 1})});
  b.LastNode()->SetString("mode", "nearest");
  b.Output(Transpose(b, r, kToNchw));
  auto model = b.Build();
  ExpectTransposes(std::move(model), 2, 0);
}

TEST(PushTransposes, SymbolicDimsStaySymbolic) {
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {3, ""}, {-1, "seq"}});
  auto* t = Transpose(b, x, {0, 2, 1});
  auto* e = b.Op("Exp", {b.Op("Add", {t, RandomInit(b, "c", {3}, 4)})});
  ir::Node* exp = b.LastNode();
  b.Output(Transpose(b, e, {0, 2, 1}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  // The Exp that now reads x directly carries x's symbolic shape.
  const ir::Node* moved = model->graph->outputs()[0]->producer();
  ASSERT_NE(moved, nullptr);
  EXPECT_NE(moved, exp);
  const auto& shape = moved->output(0)->type().shape;
  ASSERT_TRUE(shape.has_value());
  EXPECT_EQ((*shape)[0].param, "batch");
  EXPECT_EQ((*shape)[2].param, "seq");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}, {"seq", 5}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 1}, {"seq", 7}}), "");
}

// Must not apply: nothing would disappear.
TEST(PushTransposes, KeepsATransposeThatWouldOnlyMove) {
  {
    ModelBuilder b(13);  // to a graph output: the same count either way
    auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
    b.Output(b.Op("Relu", {Transpose(b, x, {1, 0, 2})}));
    ExpectTransposes(b.Build(), 1, 1);
  }
  {
    ModelBuilder b(13);  // a non-constant operand would need a Transpose of its own
    auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
    auto* z = b.Input("z", DataType::kFloat, {3, 2, 4});
    b.Output(b.Op("Add", {Transpose(b, x, {1, 0, 2}), z}));
    ExpectTransposes(b.Build(), 1, 1);
  }
  {
    ModelBuilder b(13);  // two readers of the Transpose, neither of which profits
    auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
    auto* t = Transpose(b, x, {1, 0, 2});
    b.Output(b.Op("Relu", {t}));
    b.Output(b.Op("Neg", {t}));
    ExpectTransposes(b.Build(), 1, 1);
  }
  {
    ModelBuilder b(13);  // a lower-rank operand that is not a constant
    auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
    auto* z = b.Input("z", DataType::kFloat, {4});
    auto* sum = b.Op("Add", {Transpose(b, x, {1, 0, 2}), z});
    b.Output(Transpose(b, sum, {1, 0, 2}));
    ExpectTransposes(b.Build(), 2, 2);
  }
  {
    ModelBuilder b(13);  // linear Resize: not moved
    auto* x = b.Input("x", DataType::kFloat, {1, 3, 4, 5});
    auto* r = b.Op("Resize", {Transpose(b, x, kToNhwc), b.Floats("roi", {0}, {}),
                              b.Floats("scales", {4}, {1, 2, 2, 1})});
    b.LastNode()->SetString("mode", "linear");
    b.Output(Transpose(b, r, kToNchw));
    ExpectTransposes(b.Build(), 2, 2);
  }
  {
    ModelBuilder b(13);  // Softmax is not elementwise
    auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
    auto* s = b.Op("Softmax", {Transpose(b, x, {1, 0, 2})});
    b.Output(Transpose(b, s, {1, 0, 2}));
    ExpectTransposes(b.Build(), 2, 2);
  }
}

// The first case of issue 13's open items: a Transpose with several readers.

// Symbolic batch [batch, 3, 4, 5]; outputs compared at two batch sizes.
std::unique_ptr<ir::Model> SharedTransposeModel(bool second_cancels) {
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {3, ""}, {4, ""}, {5, ""}});
  auto* t = Transpose(b, x, kToNhwc);  // [batch, 4, 5, 3]
  b.Output(Transpose(b, b.Op("Relu", {t}), kToNchw));
  auto* m = b.Op("Mul", {b.Op("Sigmoid", {t}), RandomInit(b, "c", {3}, 5)});
  b.Output(second_cancels ? Transpose(b, m, kToNchw) : m);
  return b.Build();
}

std::unique_ptr<ir::Model> ExpectSharedPush(std::unique_ptr<ir::Model> model, int64_t before,
                                            int64_t after) {
  EXPECT_EQ(CountOp(*model, "Transpose"), before);
  const int64_t nodes = static_cast<int64_t>(model->graph->nodes().size());
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), after);
  // Only Transposes come and go: every other node is moved, none is added.
  EXPECT_EQ(static_cast<int64_t>(model->graph->nodes().size()), nodes - (before - after));
  EXPECT_EQ(run.record.rule_counts["push_shared_transpose"], 1);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 1}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 3}}), "");
  return model;
}

// Every reader's chain ends in an inverse Transpose: one copy (+1), two chains (-2 each).
TEST(PushTransposes, SharedTransposeEveryReaderCancels) {
  ExpectSharedPush(SharedTransposeModel(true), 3, 0);
}

// Only the Relu's chain profits (-2); the Mul chain ends at a graph output and keeps the
// original, so the Relu gets a copy (+1): 2 -> 1.
TEST(PushTransposes, SharedTransposeOneReaderProfits) {
  auto model = ExpectSharedPush(SharedTransposeModel(false), 2, 1);
  // The unprofitable reader (Sigmoid, then Mul to a graph output) still reads the Transpose.
  const ir::Node* mul = model->graph->outputs()[1]->producer();
  ASSERT_TRUE(mul && mul->Is("Mul"));
  const ir::Node* sigmoid = mul->input(0)->producer();
  ASSERT_TRUE(sigmoid && sigmoid->Is("Sigmoid"));
  EXPECT_TRUE(sigmoid->input(0)->producer() && sigmoid->input(0)->producer()->Is("Transpose"));
  // The Relu reads x itself and is the first graph output.
  const ir::Node* relu = model->graph->outputs()[0]->producer();
  ASSERT_TRUE(relu && relu->Is("Relu"));
  EXPECT_TRUE(relu->input(0)->is_graph_input());
}

// Must not apply: a reader whose chain removes one Transpose does not pay for the copy it needs
// while another reader keeps the original.
TEST(PushTransposes, SharedTransposeNotPushed) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {2, 3, 4});
  auto* z = b.Input("z", DataType::kFloat, {2, 3, 4});
  auto* t = Transpose(b, x, {1, 0, 2});
  b.Output(b.Op("Add", {t, Transpose(b, z, {1, 0, 2})}));  // chain cost: -1 -1 +1 = -1
  b.Output(b.Op("Neg", {t}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), 2);
  EXPECT_EQ(run.applied, 0);
  EXPECT_EQ(run.record.match_failures["push_shared_transpose: copies would cost more "
                                      "Transposes than the chains remove"],
            1);
}

// convnext's downsampling: NCHW -> Transpose -> LayerNorm over channels (decomposed, reading its
// input and the centered value twice) -> Transpose back, on a symbolic batch. `then` is what
// reads the normalized NHWC value: the inverse Transpose, or a MatMul (a block's first Linear).
enum class After { kTransposeBack, kMatMul };

std::unique_ptr<ir::Model> LayerNormBetweenTransposes(After then) {
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {8, ""}, {3, ""}, {5, ""}});
  auto* t = Transpose(b, x, kToNhwc);  // [batch, 3, 5, 8]
  auto* mean = b.Op("ReduceMean", {t});
  b.LastNode()->SetInts("axes", {-1});
  auto* d = b.Op("Sub", {t, mean});
  auto* var = b.Op("ReduceMean", {b.Op("Pow", {d, b.Floats("two", {}, {2.0f})})});
  b.LastNode()->SetInts("axes", {-1});
  auto* sd = b.Op("Sqrt", {b.Op("Add", {var, b.Floats("eps", {}, {1e-6f})})});
  auto* n = b.Op("Div", {d, sd});
  auto* y = b.Op(
      "Add", {b.Op("Mul", {n, RandomInit(b, "gamma", {8}, 9)}), RandomInit(b, "beta", {8}, 10)});
  if (then == After::kTransposeBack) {
    b.Output(Transpose(b, y, kToNchw));
  } else {
    b.Output(b.Op("MatMul", {y, RandomInit(b, "w", {8, 16}, 11)}));
  }
  return b.Build();
}

// The whole decomposed LayerNorm moves to NCHW (means over axis 1) and both Transposes go.
TEST(PushTransposes, RegionThroughADecomposedLayerNormCancels) {
  auto model = LayerNormBetweenTransposes(After::kTransposeBack);
  const size_t nodes = model->graph->nodes().size();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  EXPECT_EQ(model->graph->nodes().size(), nodes - 2);
  EXPECT_EQ(run.record.rule_counts["push_transpose_region"], 1);
  for (const ir::Node* n : model->graph->nodes()) {
    if (n->Is("ReduceMean")) EXPECT_EQ(n->GetInts("axes"), std::vector<int64_t>{1});
  }
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 1}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 3}}), "");
}

// Must not apply: with a MatMul after the LayerNorm the Transpose would only move (the MatMul
// contracts the channel axis, which NCHW has at axis 1); and on a target that runs
// LayerNormalization the means over the last axis stay for fuse_layer_norm.
TEST(PushTransposes, RegionNotPushed) {
  {
    auto model = LayerNormBetweenTransposes(After::kMatMul);
    const std::string signature = GraphSignature(*model);
    auto run = RunSinglePass(*model, kPass);
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), signature);
    EXPECT_EQ(run.record.match_failures["push_transpose_region: no Transpose would disappear "
                                        "from the region"],
              1);
  }
  {
    auto model = LayerNormBetweenTransposes(After::kTransposeBack);
    const std::string signature = GraphSignature(*model);
    auto run = RunSinglePass(*model, kPass, "cpu");
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), signature);
    EXPECT_EQ(CountOp(*model, "Transpose"), 2);
  }
}

// A Gelu written out (x * 0.5 * (1 + erf(x / sqrt 2))) reads x twice; its region ends in two
// Transposes that are graph outputs: one cancels (the moved value takes its name), the other
// merges into one Transpose of x.
TEST(PushTransposes, RegionThroughAGeluCancelsAndMerges) {
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {3, ""}, {4, ""}});
  auto* t = Transpose(b, x, {0, 2, 1});  // [batch, 4, 3]
  auto* erf = b.Op("Erf", {b.Op("Div", {t, b.Floats("sqrt2", {}, {1.4142135f})})});
  auto* g = b.Op("Mul", {b.Op("Mul", {t, b.Floats("half", {}, {0.5f})}),
                         b.Op("Add", {erf, b.Floats("one", {}, {1.0f})})});
  auto* u = b.Op("Sigmoid", {g});
  b.Output(Transpose(b, u, {2, 1, 0}));  // [3, 4, batch]: becomes Transpose(x', [2, 0, 1])
  b.Output(Transpose(b, u, {0, 2, 1}));  // cancels: x's layout
  auto model = b.Build();
  const size_t nodes = model->graph->nodes().size();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.record.rule_counts["push_transpose_region"], 1);
  EXPECT_EQ(CountOp(*model, "Transpose"), 1);
  EXPECT_EQ(model->graph->nodes().size(), nodes - 2);
  const ir::Node* last = model->graph->outputs()[1]->producer();
  ASSERT_TRUE(last && last->Is("Sigmoid"));
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 5}}), "");
}

// MatMul by a matrix works on each row: a Transpose that keeps the last axis crosses it.
TEST(PushTransposes, MatMulByAMatrixKeepingTheLastAxis) {
  ModelBuilder b(13);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "batch"}, {4, ""}, {6, ""}});
  auto* t = Transpose(b, x, {1, 0, 2});  // [4, batch, 6]
  auto* y = b.Op(
      "Add", {b.Op("MatMul", {t, RandomInit(b, "w", {6, 5}, 6)}), RandomInit(b, "bias", {5}, 7)});
  b.Output(Transpose(b, y, {1, 0, 2}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(CountOp(*model, "Transpose"), 0);
  EXPECT_EQ(CountOp(*model, "MatMul"), 1);
  EXPECT_EQ(model->graph->nodes().size(), 2u);
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 2}}), "");
  EXPECT_EQ(CompareOutputs(*run.original, *model, {{"batch", 5}}), "");
}

// Must not apply: the Transpose moves the contracted axis, or the other operand is batched.
TEST(PushTransposes, MatMulThatDoesNotCommute) {
  {
    ModelBuilder b(13);
    auto* x = b.Input("x", DataType::kFloat, {2, 6, 4});
    auto* m = b.Op("MatMul", {Transpose(b, x, {0, 2, 1}), RandomInit(b, "w", {6, 5}, 8)});
    b.Output(Transpose(b, m, {0, 2, 1}));
    ExpectTransposes(b.Build(), 2, 2);
  }
  {
    ModelBuilder b(13);
    auto* x = b.Input("x", DataType::kFloat, {4, 2, 6});
    auto* w = b.Input("w", DataType::kFloat, {2, 6, 5});
    auto* m = b.Op("MatMul", {Transpose(b, x, {1, 0, 2}), w});
    b.Output(Transpose(b, m, {1, 0, 2}));
    ExpectTransposes(b.Build(), 2, 2);
  }
}

}  // namespace
}  // namespace graphopt
