// Numerical tests of the tensor-manipulation and gather/scatter kernels on small hand-checked
// cases, especially the corners the ONNX node tests touch lightly (opset forms, clamping).
#include <gtest/gtest.h>

#include <functional>

#include "backends/reference/executor.h"
#include "support/test_support.h"

namespace graphopt::reference {
namespace {

using testing::ModelBuilder;

Tensor F(const Shape& shape, std::vector<float> v) {
  return Tensor::FromVector<float>(DataType::kFloat, shape, v);
}
Tensor I(const Shape& shape, std::vector<int64_t> v) {
  return Tensor::FromVector<int64_t>(DataType::kInt64, shape, v);
}
std::vector<float> Fv(const Tensor& t) {
  Tensor f = t.CastTo(DataType::kFloat);
  return std::vector<float>(f.data<float>(), f.data<float>() + f.size());
}
std::vector<int64_t> Iv(const Tensor& t) { return t.ToInt64Vector(); }

// Runs one node whose inputs are constants (an undefined Tensor marks an omitted input).
Result<std::vector<Tensor>> RunOp(int64_t opset, const std::string& op,
                                  const std::vector<Tensor>& inputs, size_t num_outputs = 1,
                                  const std::function<void(ir::Node*)>& attrs = nullptr) {
  ModelBuilder b(opset);
  std::vector<ir::Value*> ins;
  for (size_t i = 0; i < inputs.size(); ++i) {
    ins.push_back(inputs[i].defined() ? b.Init("in" + std::to_string(i), inputs[i]) : nullptr);
  }
  ir::Node* n = b.graph().AddNode(op, ins, num_outputs, op);
  if (attrs) attrs(n);
  for (ir::Value* v : n->outputs()) b.Output(v);
  auto model = b.Build();
  Executor executor(*model);
  return executor.Run({});
}

std::vector<Tensor> MustRun(int64_t opset, const std::string& op, const std::vector<Tensor>& inputs,
                            size_t num_outputs = 1,
                            const std::function<void(ir::Node*)>& attrs = nullptr) {
  auto r = RunOp(opset, op, inputs, num_outputs, attrs);
  EXPECT_TRUE(r.ok()) << op << ": " << r.status().ToString();
  return r.ok() ? std::move(*r) : std::vector<Tensor>(num_outputs);
}

TEST(TensorManipulation, ReshapeCopiesZerosAndInfersMinusOne) {
  const Tensor x = F({2, 3, 4}, std::vector<float>(24, 1));
  auto out = MustRun(14, "Reshape", {x, I({3}, {0, -1, 2})});
  EXPECT_EQ(out[0].shape(), (Shape{2, 6, 2}));
  // allowzero: a 0 is a real zero-sized dim.
  auto empty = MustRun(14, "Reshape", {F({0, 3}, {}), I({2}, {3, 0})}, 1,
                       [](ir::Node* n) { n->SetInt("allowzero", 1); });
  EXPECT_EQ(empty[0].shape(), (Shape{3, 0}));
  auto bad = RunOp(14, "Reshape", {x, I({2}, {5, -1})});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("Reshape"), std::string::npos);
}

TEST(TensorManipulation, SqueezeAndUnsqueezeInAttributeAndInputForms) {
  const Tensor x = F({1, 3, 1}, {1, 2, 3});
  auto attr_form = MustRun(11, "Squeeze", {x}, 1, [](ir::Node* n) { n->SetInts("axes", {-1}); });
  EXPECT_EQ(attr_form[0].shape(), (Shape{1, 3}));
  auto input_form = MustRun(13, "Squeeze", {x, I({1}, {0})});
  EXPECT_EQ(input_form[0].shape(), (Shape{3, 1}));
  auto all = MustRun(13, "Squeeze", {x});
  EXPECT_EQ(all[0].shape(), (Shape{3}));
  auto un11 = MustRun(11, "Unsqueeze", {x}, 1, [](ir::Node* n) { n->SetInts("axes", {0, -1}); });
  EXPECT_EQ(un11[0].shape(), (Shape{1, 1, 3, 1, 1}));
  auto un13 = MustRun(13, "Unsqueeze", {F({3}, {1, 2, 3}), I({2}, {1, 0})});
  EXPECT_EQ(un13[0].shape(), (Shape{1, 1, 3}));
  EXPECT_FALSE(RunOp(13, "Squeeze", {x, I({1}, {1})}).ok());  // axis 1 has size 3
}

TEST(TensorManipulation, SliceWithNegativeStepsAndClamping) {
  const Tensor x = F({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7});
  // Row 1 reversed from the end, columns clamped: ends past the dim.
  auto rev =
      MustRun(13, "Slice",
              {x, I({2}, {-1, 1000}), I({2}, {-1000, -1000}), I({2}, {0, 1}), I({2}, {-1, -2})});
  EXPECT_EQ(rev[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Fv(rev[0]), (std::vector<float>{7, 5, 3, 1}));
  auto opset1 = MustRun(1, "Slice", {x}, 1, [](ir::Node* n) {
    n->SetInts("starts", {1});
    n->SetInts("ends", {3});
    n->SetInts("axes", {1});
  });
  EXPECT_EQ(Fv(opset1[0]), (std::vector<float>{1, 2, 5, 6}));
  auto empty = MustRun(13, "Slice", {x, I({1}, {3}), I({1}, {1}), I({1}, {1})});
  EXPECT_EQ(empty[0].shape(), (Shape{2, 0}));
}

TEST(TensorManipulation, SplitEvenUnevenAndBySizes) {
  const Tensor x = F({5}, {1, 2, 3, 4, 5});
  auto uneven = MustRun(18, "Split", {x}, 2, [](ir::Node* n) { n->SetInt("num_outputs", 2); });
  EXPECT_EQ(Fv(uneven[0]), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(Fv(uneven[1]), (std::vector<float>{4, 5}));
  auto sizes = MustRun(13, "Split", {x, I({2}, {1, 4})}, 2);
  EXPECT_EQ(Fv(sizes[1]), (std::vector<float>{2, 3, 4, 5}));
  auto attr = MustRun(11, "Split", {x}, 2, [](ir::Node* n) { n->SetInts("split", {4, 1}); });
  EXPECT_EQ(Fv(attr[1]), (std::vector<float>{5}));
  EXPECT_FALSE(RunOp(13, "Split", {x}, 2).ok());  // 5 does not split evenly in 2
}

TEST(TensorManipulation, PadModes) {
  const Tensor x = F({3}, {1, 2, 3});
  auto constant = MustRun(13, "Pad", {x, I({2}, {2, 1}), F({}, {9})});
  EXPECT_EQ(Fv(constant[0]), (std::vector<float>{9, 9, 1, 2, 3, 9}));
  auto reflect = MustRun(13, "Pad", {x, I({2}, {2, 2})}, 1,
                         [](ir::Node* n) { n->SetString("mode", "reflect"); });
  EXPECT_EQ(Fv(reflect[0]), (std::vector<float>{3, 2, 1, 2, 3, 2, 1}));
  auto edge = MustRun(2, "Pad", {x}, 1, [](ir::Node* n) {
    n->SetString("mode", "edge");
    n->SetInts("pads", {1, 2});
  });
  EXPECT_EQ(Fv(edge[0]), (std::vector<float>{1, 1, 2, 3, 3, 3}));
  auto crop = MustRun(13, "Pad", {x, I({2}, {-1, 0})});
  EXPECT_EQ(Fv(crop[0]), (std::vector<float>{2, 3}));
}

TEST(TensorManipulation, TransposeConcatExpandTile) {
  const Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  auto t = MustRun(13, "Transpose", {x}, 1, [](ir::Node* n) { n->SetInts("perm", {1, 0}); });
  EXPECT_EQ(Fv(t[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  auto c =
      MustRun(13, "Concat", {x, F({2, 1}, {7, 8})}, 1, [](ir::Node* n) { n->SetInt("axis", -1); });
  EXPECT_EQ(Fv(c[0]), (std::vector<float>{1, 2, 3, 7, 4, 5, 6, 8}));
  auto e = MustRun(13, "Expand", {F({2, 1}, {1, 2}), I({3}, {2, 1, 3})});
  EXPECT_EQ(e[0].shape(), (Shape{2, 2, 3}));
  EXPECT_EQ(Fv(e[0]), (std::vector<float>{1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2}));
  auto tile = MustRun(13, "Tile", {F({2}, {1, 2}), I({1}, {3})});
  EXPECT_EQ(Fv(tile[0]), (std::vector<float>{1, 2, 1, 2, 1, 2}));
}

TEST(TensorManipulation, ShapeSizeRangeConstantOfShape) {
  const Tensor x = F({2, 3, 4}, std::vector<float>(24, 0));
  auto s = MustRun(15, "Shape", {x}, 1, [](ir::Node* n) { n->SetInt("start", -2); });
  EXPECT_EQ(Iv(s[0]), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Iv(MustRun(13, "Size", {x})[0]), (std::vector<int64_t>{24}));
  auto r = MustRun(11, "Range", {F({}, {1}), F({}, {2}), F({}, {0.25f})});
  EXPECT_EQ(Fv(r[0]), (std::vector<float>{1, 1.25f, 1.5f, 1.75f}));
  auto down = MustRun(11, "Range", {I({}, {10}), I({}, {4}), I({}, {-3})});
  EXPECT_EQ(Iv(down[0]), (std::vector<int64_t>{10, 7}));
  auto fill = MustRun(9, "ConstantOfShape", {I({2}, {2, 2})}, 1,
                      [](ir::Node* n) { n->SetTensor("value", I({1}, {5})); });
  EXPECT_EQ(fill[0].dtype(), DataType::kInt64);
  EXPECT_EQ(Iv(fill[0]), (std::vector<int64_t>{5, 5, 5, 5}));
}

TEST(TensorManipulation, DepthToSpaceRoundTripsThroughSpaceToDepth) {
  std::vector<float> v(2 * 8 * 2 * 3);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  const Tensor x = F({2, 8, 2, 3}, v);
  for (const char* mode : {"DCR", "CRD"}) {
    auto d2s = MustRun(13, "DepthToSpace", {x}, 1, [&](ir::Node* n) {
      n->SetInt("blocksize", 2);
      n->SetString("mode", mode);
    });
    EXPECT_EQ(d2s[0].shape(), (Shape{2, 2, 4, 6}));
    if (std::string(mode) == "DCR") {
      auto back =
          MustRun(13, "SpaceToDepth", {d2s[0]}, 1, [](ir::Node* n) { n->SetInt("blocksize", 2); });
      EXPECT_EQ(Fv(back[0]), v);
    }
  }
}

TEST(TensorManipulation, TriluEyeLikeOneHot) {
  const Tensor x = F({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  auto upper = MustRun(14, "Trilu", {x, I({}, {1})});
  EXPECT_EQ(Fv(upper[0]), (std::vector<float>{0, 2, 3, 0, 0, 6, 0, 0, 0}));
  auto lower = MustRun(14, "Trilu", {x}, 1, [](ir::Node* n) { n->SetInt("upper", 0); });
  EXPECT_EQ(Fv(lower[0]), (std::vector<float>{1, 0, 0, 4, 5, 0, 7, 8, 9}));
  auto eye = MustRun(9, "EyeLike", {F({2, 3}, std::vector<float>(6, 0))}, 1,
                     [](ir::Node* n) { n->SetInt("k", 1); });
  EXPECT_EQ(Fv(eye[0]), (std::vector<float>{0, 1, 0, 0, 0, 1}));
  auto hot = MustRun(11, "OneHot", {I({2}, {1, -1}), I({}, {3}), F({2}, {0, 5})}, 1,
                     [](ir::Node* n) { n->SetInt("axis", 0); });
  EXPECT_EQ(hot[0].shape(), (Shape{3, 2}));
  EXPECT_EQ(Fv(hot[0]), (std::vector<float>{0, 0, 5, 0, 0, 5}));
}

TEST(GatherScatter, GatherWithNegativeIndicesAndAxis) {
  const Tensor x = F({2, 3}, {1, 2, 3, 4, 5, 6});
  auto g =
      MustRun(13, "Gather", {x, I({2}, {-1, 0})}, 1, [](ir::Node* n) { n->SetInt("axis", 1); });
  EXPECT_EQ(g[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Fv(g[0]), (std::vector<float>{3, 1, 6, 4}));
  auto scalar = MustRun(13, "Gather", {x, I({}, {1})});
  EXPECT_EQ(scalar[0].shape(), (Shape{3}));
  auto oob = RunOp(13, "Gather", {x, I({1}, {2})});
  EXPECT_EQ(oob.status().code(), StatusCode::kInvalidArgument);
}

TEST(GatherScatter, GatherElementsAndGatherND) {
  const Tensor x = F({2, 2}, {1, 2, 3, 4});
  auto ge = MustRun(13, "GatherElements", {x, I({2, 2}, {0, 0, 1, 0})}, 1,
                    [](ir::Node* n) { n->SetInt("axis", 1); });
  EXPECT_EQ(Fv(ge[0]), (std::vector<float>{1, 1, 4, 3}));
  auto nd = MustRun(13, "GatherND", {x, I({2, 2}, {0, 1, 1, 0})});
  EXPECT_EQ(Fv(nd[0]), (std::vector<float>{2, 3}));
  // batch_dims = 1: one index per batch row.
  auto batched = MustRun(13, "GatherND", {x, I({2, 1}, {1, 0})}, 1,
                         [](ir::Node* n) { n->SetInt("batch_dims", 1); });
  EXPECT_EQ(Fv(batched[0]), (std::vector<float>{2, 3}));
}

TEST(GatherScatter, ScatterElementsAndScatterNDWithReductions) {
  const Tensor x = F({1, 4}, {1, 2, 3, 4});
  auto set = MustRun(13, "ScatterElements", {x, I({1, 2}, {1, 3}), F({1, 2}, {9, 8})}, 1,
                     [](ir::Node* n) { n->SetInt("axis", 1); });
  EXPECT_EQ(Fv(set[0]), (std::vector<float>{1, 9, 3, 8}));
  auto add = MustRun(18, "ScatterElements", {x, I({1, 2}, {1, 1}), F({1, 2}, {10, 20})}, 1,
                     [](ir::Node* n) {
                       n->SetInt("axis", 1);
                       n->SetString("reduction", "add");
                     });
  EXPECT_EQ(Fv(add[0]), (std::vector<float>{1, 32, 3, 4}));
  auto nd = MustRun(18, "ScatterND", {F({4}, {1, 2, 3, 4}), I({2, 1}, {0, 0}), F({2}, {5, 6})}, 1,
                    [](ir::Node* n) { n->SetString("reduction", "mul"); });
  EXPECT_EQ(Fv(nd[0]), (std::vector<float>{30, 2, 3, 4}));
  // The input is shared with the model's initializer: scattering must not write through it.
  EXPECT_EQ(Fv(x), (std::vector<float>{1, 2, 3, 4}));
}

TEST(GatherScatter, NonZeroCompressUnique) {
  auto nz = MustRun(13, "NonZero", {F({2, 2}, {0, 1, 1, 0})});
  EXPECT_EQ(nz[0].shape(), (Shape{2, 2}));
  EXPECT_EQ(Iv(nz[0]), (std::vector<int64_t>{0, 1, 1, 0}));
  const Tensor cond = Tensor::FromVector<uint8_t>(DataType::kBool, {2}, {0, 1});
  auto comp = MustRun(11, "Compress", {F({2, 2}, {1, 2, 3, 4}), cond}, 1,
                      [](ir::Node* n) { n->SetInt("axis", 0); });
  EXPECT_EQ(Fv(comp[0]), (std::vector<float>{3, 4}));
  auto uniq = MustRun(11, "Unique", {F({5}, {2, 1, 1, 3, 2})}, 4);
  EXPECT_EQ(Fv(uniq[0]), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(Iv(uniq[1]), (std::vector<int64_t>{1, 0, 3}));
  EXPECT_EQ(Iv(uniq[2]), (std::vector<int64_t>{1, 0, 0, 2, 1}));
  EXPECT_EQ(Iv(uniq[3]), (std::vector<int64_t>{2, 2, 1}));
}

TEST(TensorManipulation, StringTensorsMoveToo) {
  const Tensor s = Tensor::Strings({3}, {"a", "b", "c"});
  auto t = MustRun(13, "Slice", {s, I({1}, {2}), I({1}, {-100}), I({1}, {0}), I({1}, {-1})});
  ASSERT_EQ(t[0].dtype(), DataType::kString);
  EXPECT_EQ(t[0].strings(), (std::vector<std::string>{"c", "b", "a"}));
}

}  // namespace
}  // namespace graphopt::reference
