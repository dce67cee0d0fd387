// The contrib kernels against ONNX Runtime itself (the runtime the `cpu` target is for): each
// model runs on the reference executor and in ONNX Runtime 1.30 (CPU, optimizations disabled)
// on the same inputs. Skipped when node or the onnxruntime-node package (installed by
// ../shared/tools/ortbench) is not available.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "contrib_kernels/contrib_test_util.h"
#include "optimizer/io/model_io.h"
#include "support/ort_parity.h"

namespace graphopt::testing {
namespace {

namespace fs = std::filesystem;
using ir::Node;
using ir::Value;

Tensor Ints32(const Shape& shape, const std::vector<int32_t>& v) {
  return Tensor::FromVector<int32_t>(DataType::kInt32, shape, v);
}

TEST(OrtParity, GeluFamily) {
  ModelBuilder b = ContribBuilder(14);
  Value* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  Value* bias = b.Input("bias", DataType::kFloat, {8});
  b.Output(b.Op("Gelu", {x}, kMs));
  b.Output(b.Op("FastGelu", {x, bias}, kMs));
  b.Output(b.Op("FastGelu", {x}, kMs));
  b.Output(b.Op("BiasGelu", {x, bias}, kMs));
  b.Output(b.Op("QuickGelu", {x}, kMs));
  b.Output(b.Op("QuickGelu", {x}, kMs));
  b.LastNode()->SetFloat("alpha", 1.1f);
  ExpectOrtParity(*b.Build(), {{"x", RandomFloats({2, 3, 8}, 1)}, {"bias", RandomFloats({8}, 2)}});
}

TEST(OrtParity, FusedConvActivationsAndSum) {
  ModelBuilder b = ContribBuilder(14);
  Value* x = b.Input("x", DataType::kFloat, {1, 4, 6, 5});
  Value* w = b.Input("w", DataType::kFloat, {4, 2, 3, 3});
  Value* bias = b.Input("b", DataType::kFloat, {4});
  Value* z = b.Input("z", DataType::kFloat, {1, 4, 6, 5});
  struct Act {
    const char* kind;
    std::vector<float> params;
  };
  for (const Act& a : {Act{"Relu", {}}, Act{"LeakyRelu", {0.3f}}, Act{"Clip", {-0.2f, 0.4f}},
                       Act{"HardSigmoid", {0.3f, 0.5f}}, Act{"Sigmoid", {}}, Act{"Tanh", {}}}) {
    b.Output(b.Op("FusedConv", {x, w, bias, z}, kMs));
    Node* n = b.LastNode();
    n->SetInts("pads", {1, 1, 1, 1});
    n->SetInt("group", 2);
    n->SetString("activation", a.kind);
    if (!a.params.empty()) n->SetFloats("activation_params", a.params);
  }
  ExpectOrtParity(*b.Build(), {{"x", RandomFloats({1, 4, 6, 5}, 3)},
                               {"w", RandomFloats({4, 2, 3, 3}, 4)},
                               {"b", RandomFloats({4}, 5)},
                               {"z", RandomFloats({1, 4, 6, 5}, 6)}});
}

TEST(OrtParity, FusedGemmAndFusedMatMul) {
  ModelBuilder b = ContribBuilder(14);
  Value* a = b.Input("a", DataType::kFloat, {3, 6});
  Value* w = b.Input("w", DataType::kFloat, {5, 6});
  Value* c = b.Input("c", DataType::kFloat, {5});
  b.Output(b.Op("FusedGemm", {a, w, c}, kMs));
  b.LastNode()->SetInt("transB", 1);
  b.LastNode()->SetFloat("alpha", 0.5f);
  b.LastNode()->SetString("activation", "LeakyRelu");
  b.LastNode()->SetFloat("activation_alpha", 0.2f);
  Value* p = b.Input("p", DataType::kFloat, {4, 2, 3, 5});
  Value* q = b.Input("q", DataType::kFloat, {2, 3, 4, 5});
  b.Output(b.Op("FusedMatMul", {p, q}, kMs));
  Node* n = b.LastNode();
  n->SetInt("transBatchA", 1);  // (4,2,3,5) -> (2,3,4,5)
  n->SetInt("transB", 1);       // (2,3,4,5) -> (2,3,5,4)
  n->SetFloat("alpha", 0.25f);
  ExpectOrtParity(*b.Build(), {{"a", RandomFloats({3, 6}, 7)},
                               {"w", RandomFloats({5, 6}, 8)},
                               {"c", RandomFloats({5}, 9)},
                               {"p", RandomFloats({4, 2, 3, 5}, 10)},
                               {"q", RandomFloats({2, 3, 4, 5}, 11)}});
}

TEST(OrtParity, Normalizations) {
  ModelBuilder b = ContribBuilder(14);
  Value* x = b.Input("x", DataType::kFloat, {2, 3, 8});
  Value* skip = b.Input("skip", DataType::kFloat, {2, 3, 8});
  Value* gamma = b.Input("gamma", DataType::kFloat, {8});
  Value* beta = b.Input("beta", DataType::kFloat, {8});
  Value* bias = b.Input("bias", DataType::kFloat, {8});
  Node* sln = AddNode(b, "SkipLayerNormalization", {x, skip, gamma, beta, bias}, 4);
  sln->SetFloat("epsilon", 1e-5f);
  for (Value* v : sln->outputs()) b.Output(v);
  Node* ssln = AddNode(b, "SkipSimplifiedLayerNormalization", {x, skip, gamma, bias}, 4);
  ssln->SetFloat("epsilon", 1e-5f);
  b.Output(ssln->output(0));
  b.Output(ssln->output(3));
  Node* rms = b.graph().AddNode("SimplifiedLayerNormalization", {x, gamma}, 1, "rms");
  rms->SetFloat("epsilon", 1e-5f);
  b.Output(rms->output(0));
  Node* ln = b.graph().AddNode("LayerNormalization", {x, gamma, beta}, 1, "ln");  // opset 14
  ln->SetFloat("epsilon", 1e-5f);
  b.Output(ln->output(0));
  ExpectOrtParity(*b.Build(), {{"x", RandomFloats({2, 3, 8}, 12)},
                               {"skip", RandomFloats({2, 3, 8}, 13)},
                               {"gamma", RandomFloats({8}, 14)},
                               {"beta", RandomFloats({8}, 15)},
                               {"bias", RandomFloats({8}, 16)}});
}

TEST(OrtParity, EmbedLayerNormalization) {
  ModelBuilder b = ContribBuilder(14);
  Node* n =
      AddNode(b, "EmbedLayerNormalization",
              {b.Input("ids", DataType::kInt32, {2, 4}), b.Input("seg", DataType::kInt32, {2, 4}),
               b.Input("word", DataType::kFloat, {20, 8}), b.Input("pos", DataType::kFloat, {6, 8}),
               b.Input("segemb", DataType::kFloat, {2, 8}), b.Input("gamma", DataType::kFloat, {8}),
               b.Input("beta", DataType::kFloat, {8}), b.Input("mask", DataType::kInt32, {2, 4})},
              3);
  n->SetFloat("epsilon", 1e-5f);
  for (Value* v : n->outputs()) b.Output(v);
  ExpectOrtParity(*b.Build(), {{"ids", Ints32({2, 4}, {1, 5, 19, 0, 7, 7, 3, 12})},
                               {"seg", Ints32({2, 4}, {0, 0, 1, 1, 0, 1, 1, 1})},
                               {"word", RandomFloats({20, 8}, 17)},
                               {"pos", RandomFloats({6, 8}, 18)},
                               {"segemb", RandomFloats({2, 8}, 19)},
                               {"gamma", RandomFloats({8}, 20)},
                               {"beta", RandomFloats({8}, 21)},
                               {"mask", Ints32({2, 4}, {1, 1, 1, 0, 1, 1, 0, 0})}});
}

// EmbedLayerNormalization as fuse_embed_layer_norm emits it: int64 ids (negative ones too)
// through Mod by the table's rows and a Cast, no segment, mask_index named but unread,
// embedding_sum requested.
TEST(OrtParity, EmbedLayerNormalizationAsFused) {
  ModelBuilder b = ContribBuilder(17);
  Value* rows = b.Init("rows", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {20}));
  Value* ids = b.Op("Mod", {b.Input("ids", DataType::kInt64, {2, 4}), rows});
  ids = b.Op("Cast", {ids});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kInt32));
  Node* n =
      AddNode(b, "EmbedLayerNormalization",
              {ids, nullptr, b.Input("word", DataType::kFloat, {20, 8}),
               b.Input("pos", DataType::kFloat, {6, 8}), nullptr,
               b.Input("gamma", DataType::kFloat, {8}), b.Input("beta", DataType::kFloat, {8})},
              3);
  n->SetFloat("epsilon", 1e-12f);
  b.Output(n->output(0));
  b.Output(n->output(2));
  ExpectOrtParity(*b.Build(), {{"ids", Tensor::FromVector<int64_t>(DataType::kInt64, {2, 4},
                                                                   {1, -1, 19, -20, 7, 0, 3, 12})},
                               {"word", RandomFloats({20, 8}, 22)},
                               {"pos", RandomFloats({6, 8}, 23)},
                               {"gamma", RandomFloats({8}, 24)},
                               {"beta", RandomFloats({8}, 25)}});
}

// Attention with each mask format and causality; MultiHeadAttention with bias and padding mask.
TEST(OrtParity, AttentionMasks) {
  const Shape in_shape = {2, 5, 6};
  struct Case {
    const char* name;
    Tensor mask;  // undefined: none
    bool causal;
  };
  const std::vector<Case> cases = {
      {"none", Tensor(), false},
      {"2d", Ints32({2, 5}, {1, 1, 1, 0, 0, 1, 1, 1, 1, 1}), false},
      {"lengths", Ints32({2}, {3, 5}), false},
      {"3d", Ints32({2, 5, 5}, std::vector<int32_t>(50, 1)), false},
      {"causal", Tensor(), true},
      {"causal+2d", Ints32({2, 5}, {1, 1, 1, 1, 0, 1, 1, 1, 1, 1}), true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ModelBuilder b = ContribBuilder(14);
    std::vector<Value*> in = {b.Input("x", DataType::kFloat, in_shape),
                              b.Input("w", DataType::kFloat, {6, 24}),
                              b.Input("bias", DataType::kFloat, {24})};
    std::map<std::string, Tensor> feeds = {{"x", RandomFloats(in_shape, 22)},
                                           {"w", RandomFloats({6, 24}, 23)},
                                           {"bias", RandomFloats({24}, 24)}};
    if (c.mask.defined()) {
      in.push_back(b.Input("mask", DataType::kInt32, c.mask.shape()));
      feeds["mask"] = c.mask;
    }
    Node* n = AddNode(b, "Attention", in, 2);
    n->SetInt("num_heads", 2);
    if (c.causal) n->SetInt("unidirectional", 1);
    b.Output(n->output(0));
    b.Output(n->output(1));
    ExpectOrtParity(*b.Build(), feeds);
  }
}

TEST(OrtParity, MultiHeadAttention) {
  for (bool lengths : {false, true}) {
    SCOPED_TRACE(lengths ? "key lengths" : "2-D key padding mask");
    ModelBuilder b = ContribBuilder(14);
    const Tensor mask = lengths ? Ints32({2}, {2, 4}) : Ints32({2, 4}, {1, 1, 0, 0, 1, 1, 1, 0});
    Node* n = AddNode(
        b, "MultiHeadAttention",
        {b.Input("q", DataType::kFloat, {2, 3, 8}), b.Input("k", DataType::kFloat, {2, 4, 8}),
         b.Input("v", DataType::kFloat, {2, 4, 8}), b.Input("bias", DataType::kFloat, {24}),
         b.Input("mask", DataType::kInt32, mask.shape())},
        3);
    n->SetInt("num_heads", 2);
    for (Value* v : n->outputs()) b.Output(v);
    ExpectOrtParity(*b.Build(), {{"q", RandomFloats({2, 3, 8}, 25)},
                                 {"k", RandomFloats({2, 4, 8}, 26)},
                                 {"v", RandomFloats({2, 4, 8}, 27)},
                                 {"bias", RandomFloats({24}, 28)},
                                 {"mask", mask}});
  }
}

}  // namespace
}  // namespace graphopt::testing
