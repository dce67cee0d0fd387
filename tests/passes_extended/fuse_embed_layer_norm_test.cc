// Golden tests of fuse_embed_layer_norm on a synthetic BERT embedding block (batch 2, sequence 4,
// hidden 8; vocabulary 30, 16 positions, 2 segments): word + position (+ segment) lookups summed
// and normalized become one EmbedLayerNormalization with equal outputs, whatever the id type,
// the position form or the sign of the ids; positions other than 0..S-1, a gamma that is not a
// [hidden] vector, the wrong axis or a partial sum read elsewhere leave the graph alone.
#include <gtest/gtest.h>

#include "passes_extended/extended_test_util.h"

namespace graphopt {
namespace {

using testing::CompareWithIntRanges;
using testing::CountFused;
using testing::GraphSignature;
using testing::ModelBuilder;
using testing::RandomInit;
using testing::RunFusion;
using testing::Scalar;

constexpr int64_t B = 2, S = 4, H = 8, kVocab = 30, kPositions = 16, kSegments = 2;
constexpr const char* kFused = "com.microsoft.EmbedLayerNormalization";

enum class Position {
  kGather,          // Gather(table, [[0, 1, 2, 3]])
  kSlice,           // a constant [1, S, H], as folding leaves the Gather
  kSlice2d,         // a constant [S, H]
  kReversedGather,  // Gather(table, [[3, 2, 1, 0]])
  kDynamicGather,   // Gather(table, position_ids input)
};

struct EmbedOptions {
  DataType ids = DataType::kInt64;
  bool segment = true;
  Position position = Position::kGather;
  bool negative_ids = false;  // ids in [-15, 15): Gather counts negative ids from the end
  bool decomposed_norm = false;
  int64_t axis = -1;
  bool scalar_gamma = false;
  bool sum_read_elsewhere = false;
  bool partial_sum_read_elsewhere = false;
  int64_t batch = B;
};

const std::map<std::string, int64_t> kIdRanges = {
    {"input_ids", kVocab}, {"token_type_ids", kSegments}, {"position_ids", kPositions}};

ir::Value* IdConstant(ModelBuilder& b, DataType type, const Shape& shape,
                      const std::vector<int64_t>& v) {
  Tensor t = Tensor::FromVector<int64_t>(DataType::kInt64, shape, v);
  return b.graph().NewInitializer("ids_const", type == DataType::kInt64 ? t : t.CastTo(type));
}

// ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add over the last axis (epsilon 1e-12).
ir::Value* DecomposedLayerNorm(ModelBuilder& b, ir::Value* x, ir::Value* gamma, ir::Value* beta) {
  auto mean = [&](ir::Value* v) {
    auto* m = b.Op("ReduceMean", {v});
    b.LastNode()->SetInts("axes", {-1});
    return m;
  };
  auto* centered = b.Op("Sub", {x, mean(x)});
  auto* variance = mean(b.Op("Pow", {centered, Scalar(b, "two", 2.0f)}));
  auto* den = b.Op("Sqrt", {b.Op("Add", {variance, Scalar(b, "eps", 1e-12f)})});
  return b.Op("Add", {b.Op("Mul", {b.Op("Div", {centered, den}), gamma}), beta});
}

// LayerNorm(word[input_ids] + segment[token_type_ids] + position term), as BERT exports add them.
std::unique_ptr<ir::Model> MakeBertEmbedding(const EmbedOptions& o) {
  ModelBuilder b(o.decomposed_norm ? 14 : 17);
  const Shape ids_shape{o.batch, S};
  ir::Value* ids = b.Input("input_ids", o.ids, ids_shape);
  if (o.negative_ids) ids = b.Op("Sub", {ids, IdConstant(b, o.ids, {}, {kVocab / 2})});
  ir::Value* sum = b.Op("Gather", {RandomInit(b, "word_embeddings", {kVocab, H}, 41), ids});
  if (o.segment) {
    auto* segments = b.Input("token_type_ids", o.ids, ids_shape);
    sum = b.Op("Add",
               {sum, b.Op("Gather",
                          {RandomInit(b, "token_type_embeddings", {kSegments, H}, 42), segments})});
  }
  ir::Value* partial = sum;
  ir::Value* table = RandomInit(b, "position_embeddings", {kPositions, H}, 43);
  ir::Value* position = nullptr;
  switch (o.position) {
    case Position::kGather:
      position = b.Op("Gather", {table, IdConstant(b, DataType::kInt64, {1, S}, {0, 1, 2, 3})});
      break;
    case Position::kReversedGather:
      position = b.Op("Gather", {table, IdConstant(b, DataType::kInt64, {1, S}, {3, 2, 1, 0})});
      break;
    case Position::kDynamicGather:
      position = b.Op("Gather", {table, b.Input("position_ids", DataType::kInt64, {1, S})});
      break;
    case Position::kSlice:
      position = RandomInit(b, "position_slice", {1, S, H}, 44);
      break;
    case Position::kSlice2d:
      position = RandomInit(b, "position_slice", {S, H}, 44);
      break;
  }
  sum = b.Op("Add", {sum, position});
  const Shape param_shape = o.scalar_gamma ? Shape{1} : o.axis == 1 ? Shape{S, H} : Shape{H};
  ir::Value* gamma = RandomInit(b, "ln_gamma", param_shape, 45);
  ir::Value* beta = RandomInit(b, "ln_beta", o.axis == 1 ? Shape{S, H} : Shape{H}, 46);
  ir::Value* y = nullptr;
  if (o.decomposed_norm) {
    y = DecomposedLayerNorm(b, sum, gamma, beta);
  } else {
    y = b.Op("LayerNormalization", {sum, gamma, beta});
    b.LastNode()->SetInt("axis", o.axis);
    b.LastNode()->SetFloat("epsilon", 1e-12f);
  }
  b.Output(y);
  if (o.sum_read_elsewhere) b.Output(b.Op("Relu", {sum}));
  if (o.partial_sum_read_elsewhere) b.Output(b.Op("Relu", {partial}));
  return b.Build();
}

TEST(FuseEmbedLayerNorm, BertEmbeddingVariantsFuse) {
  for (DataType ids : {DataType::kInt64, DataType::kInt32}) {
    for (Position position : {Position::kGather, Position::kSlice, Position::kSlice2d}) {
      for (bool segment : {true, false}) {
        SCOPED_TRACE(::testing::Message() << "ids " << static_cast<int>(ids) << " position "
                                          << static_cast<int>(position) << " segment " << segment);
        EmbedOptions o;
        o.ids = ids;
        o.position = position;
        o.segment = segment;
        auto model = MakeBertEmbedding(o);
        auto run = RunFusion(*model, "fuse_embed_layer_norm");
        EXPECT_EQ(run.record.rule_counts["embed_layer_norm"], 1);
        EXPECT_EQ(CountFused(*model, kFused), 1);
        for (const char* gone : {"Gather", "Add", "LayerNormalization"}) {
          EXPECT_EQ(CountFused(*model, gone), 0) << gone;
        }
        // Each id input: Mod (Gather's negative ids), then Cast when int64.
        const int64_t lookups = segment ? 2 : 1;
        EXPECT_EQ(CountFused(*model, "Mod"), lookups);
        EXPECT_EQ(CountFused(*model, "Cast"), ids == DataType::kInt64 ? lookups : 0);
        const ir::Node* fused = model->graph->outputs()[0]->producer();
        ASSERT_EQ(fused->op_type(), "EmbedLayerNormalization");
        EXPECT_EQ(fused->inputs().size(), 7u);
        EXPECT_EQ(fused->input(1) != nullptr, segment);
        EXPECT_EQ(fused->input(4) != nullptr, segment);
        EXPECT_FLOAT_EQ(fused->GetFloat("epsilon", 0), 1e-12f);
        EXPECT_EQ(CompareWithIntRanges(*run.original, *model, kIdRanges), "");
      }
    }
  }
}

// Gather reads ids -rows..-1 from the end of the table; the fused op only takes 0..rows-1.
TEST(FuseEmbedLayerNorm, NegativeIdsStillAddressTheirRows) {
  for (DataType ids : {DataType::kInt64, DataType::kInt32}) {
    EmbedOptions o;
    o.ids = ids;
    o.negative_ids = true;
    auto model = MakeBertEmbedding(o);
    auto run = RunFusion(*model, "fuse_embed_layer_norm");
    EXPECT_EQ(CountFused(*model, kFused), 1);
    EXPECT_EQ(CompareWithIntRanges(*run.original, *model, kIdRanges), "");
  }
}

// The sum also read elsewhere: the fused op's embedding_sum output serves that reader.
TEST(FuseEmbedLayerNorm, SumReadElsewhereComesFromEmbeddingSum) {
  EmbedOptions o;
  o.sum_read_elsewhere = true;
  auto model = MakeBertEmbedding(o);
  auto run = RunFusion(*model, "fuse_embed_layer_norm");
  EXPECT_EQ(CountFused(*model, kFused), 1);
  EXPECT_EQ(CountFused(*model, "Add"), 0);
  const ir::Node* relu = model->graph->outputs()[1]->producer();
  ASSERT_EQ(relu->op_type(), "Relu");
  EXPECT_EQ(relu->input(0)->producer()->op_type(), "EmbedLayerNormalization");
  EXPECT_EQ(relu->input(0)->producer_index(), 2);
  EXPECT_EQ(CompareWithIntRanges(*run.original, *model, kIdRanges), "");
}

TEST(FuseEmbedLayerNorm, NearMissesDoNotFuse) {
  struct Case {
    const char* name;
    EmbedOptions options;
  };
  std::vector<Case> cases(5);
  cases[0].name = "positions 3, 2, 1, 0";
  cases[0].options.position = Position::kReversedGather;
  cases[1].name = "positions from an input";
  cases[1].options.position = Position::kDynamicGather;
  cases[2].name = "gamma [1], not [hidden]";
  cases[2].options.scalar_gamma = true;
  cases[3].name = "normalized over sequence and hidden (axis 1)";
  cases[3].options.axis = 1;
  cases[4].name = "word + segment read elsewhere";
  cases[4].options.partial_sum_read_elsewhere = true;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto model = MakeBertEmbedding(c.options);
    ASSERT_TRUE(ir::InferShapes(*model).ok());
    const std::string before = GraphSignature(*model);
    auto run = RunFusion(*model, "fuse_embed_layer_norm");
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
}

// cpu and cuda both register the op (float); generic has no com.microsoft at all.
TEST(FuseEmbedLayerNorm, OnlyForTargetsWithTheOp) {
  for (const char* target : {"generic", "cuda"}) {
    SCOPED_TRACE(target);
    auto model = MakeBertEmbedding({});
    RunFusion(*model, "fuse_embed_layer_norm", target);
    EXPECT_EQ(CountFused(*model, kFused), std::string(target) == "cuda" ? 1 : 0);
  }
}

// The whole extended level on the exporter's decomposed norm: fuse_layer_norm makes the
// LayerNormalization, and this pass takes it before fuse_skip_layer_norm could take the last Add
// as a residual (at batch 1 both of its operands have the sum's shape).
TEST(FuseEmbedLayerNorm, ExtendedLevelFusesTheDecomposedNorm) {
  EmbedOptions o;
  o.decomposed_norm = true;
  o.position = Position::kSlice;
  o.batch = 1;
  auto model = MakeBertEmbedding(o);
  auto original = ir::CloneModel(*model);
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  PassManagerOptions options;
  options.level = Level::kExtended;
  // cuda: a profile that emits SkipLayerNormalization too, so the order of the two matters.
  auto profile = TargetRegistry::Get().Find("cuda");
  ASSERT_TRUE(profile.ok());
  auto evaluator = MakeReferenceEvaluator();
  PassManager manager;
  ASSERT_TRUE(manager.Run(*model, **profile, evaluator.get(), options).ok());
  EXPECT_EQ(CountFused(*model, kFused), 1);
  EXPECT_EQ(CountFused(*model, "com.microsoft.SkipLayerNormalization"), 0);
  EXPECT_EQ(CountFused(*model, "LayerNormalization"), 0);
  EXPECT_EQ(CompareWithIntRanges(*original, *model, kIdRanges), "");
}

}  // namespace
}  // namespace graphopt
