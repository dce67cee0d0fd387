// The com.microsoft.nchwc reference kernels: the blocked layouts against hand-computed offsets,
// every operator against the standard operators it stands for (blocks of 8 and 16), and the
// same models against ONNX Runtime on this CPU's block size.
#include <gtest/gtest.h>

#include <cmath>

#include "backends/reference/executor.h"
#include "layout/nchwc_test_util.h"
#include "optimizer/ir/nchwc_layout.h"

namespace graphopt::testing {
namespace {

using ir::FilterLayout;
using ir::Node;
using ir::Value;

Tensor Iota(const Shape& shape) {
  Tensor t(DataType::kFloat, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.mutable_data<float>()[i] = static_cast<float>(i);
  return t;
}

double MaxDiff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double worst = 0;
  for (int64_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a.GetDouble(i) - b.GetDouble(i)));
  return worst;
}

TEST(NchwcLayout, ActivationsBlockWithZeroPaddedChannels) {
  const Tensor x = Iota({1, 6, 1, 2});  // value = c * 2 + p
  const Tensor blocked = ir::BlockActivations(x, 4);
  ASSERT_EQ(blocked.shape(), (Shape{1, 8, 1, 2}));
  const float* d = blocked.data<float>();
  // Channel 5, position 1: second block, position 1, lane 1.
  EXPECT_EQ(d[1 * 2 * 4 + 1 * 4 + 1], 11.0f);
  EXPECT_EQ(d[1 * 2 * 4 + 0 * 4 + 3], 0.0f);  // channel 7 is padding
  EXPECT_EQ(MaxDiff(ir::UnblockActivations(blocked, 6, 4), x), 0.0);
}

TEST(NchwcLayout, FiltersRoundTripInBothLayouts) {
  const Tensor w = Iota({6, 8, 3, 2});
  for (FilterLayout layout : {FilterLayout::kOIHWBiBo, FilterLayout::kOIHWBo}) {
    const Tensor r = ir::ReorderFilter(w, layout, 4);
    ASSERT_EQ(r.shape(), (Shape{8, 8, 3, 2}));
    const Tensor back = ir::UnreorderFilter(r, layout, 4);
    for (int64_t i = 0; i < w.size(); ++i) ASSERT_EQ(back.data<float>()[i], w.data<float>()[i]);
    for (int64_t i = w.size(); i < back.size(); ++i) ASSERT_EQ(back.data<float>()[i], 0.0f);
  }
  // OIHWBiBo: output 5, input 6, tap 4 sits in output block 1, input block 1, tap 4, lanes (2, 1).
  const Tensor r = ir::ReorderFilter(w, FilterLayout::kOIHWBiBo, 4);
  const int64_t at = 1 * 8 * 6 * 4 + (1 * 6 + 4) * 16 + 2 * 4 + 1;
  EXPECT_EQ(r.data<float>()[at], static_cast<float>((5 * 8 + 6) * 6 + 4));
}

// One nchwc model and its standard-operator twin with the same inputs and output order.
struct Twins {
  std::unique_ptr<ir::Model> nchwc, standard;
  std::map<std::string, Tensor> inputs;
};

Twins BuildTwins(int64_t block) {
  ModelBuilder n = NchwcBuilder(block);
  ModelBuilder s(14);
  Twins t;
  t.inputs = {{"x", RandomFloats({1, 32, 7, 6}, 1)},
              {"x3", RandomFloats({1, 3, 9, 9}, 2)},
              {"xn", RandomFloats({1, 4, 3, 32}, 3)}};
  Value* nx = n.Input("x", DataType::kFloat, {1, 32, 7, 6});
  Value* nx3 = n.Input("x3", DataType::kFloat, {1, 3, 9, 9});
  Value* nxn = n.Input("xn", DataType::kFloat, {1, 4, 3, 32});
  Value* sx = s.Input("x", DataType::kFloat, {1, 32, 7, 6});
  Value* sx3 = s.Input("x3", DataType::kFloat, {1, 3, 9, 9});
  Value* sxn = s.Input("xn", DataType::kFloat, {1, 4, 3, 32});
  Value* bx = AddNchwc(n, "ReorderInput", {nx})->output(0);
  uint64_t seed = 10;

  // Adds nchwc Conv (reordered weights, bias padded) and the standard Conv, returning both.
  auto conv = [&](Value* nin, Value* sin, const Shape& wshape, FilterLayout layout, int64_t group,
                  const std::vector<int64_t>& pads, const std::vector<int64_t>& strides) {
    const Tensor w = RandomFloats(wshape, ++seed);
    const Tensor bias = RandomFloats({wshape[0]}, ++seed);
    std::vector<float> padded(static_cast<size_t>(ir::AlignChannels(wshape[0], block)), 0.0f);
    for (int64_t i = 0; i < wshape[0]; ++i) padded[static_cast<size_t>(i)] = bias.data<float>()[i];
    Node* nc = AddNchwc(n, "Conv", {nin, n.Init("w" + std::to_string(seed), ir::ReorderFilter(w, layout, block)),
                                    n.Floats("b" + std::to_string(seed), {static_cast<int64_t>(padded.size())}, padded)});
    Value* sc = s.Op("Conv", {sin, s.Init("w" + std::to_string(seed), w), s.Init("b" + std::to_string(seed), bias)});
    for (Node* node : {nc, s.LastNode()}) {
      node->SetInt("group", group);
      node->SetInts("pads", pads);
      node->SetInts("strides", strides);
    }
    return std::make_pair(nc, sc);
  };
  auto reorder_out = [&](Value* v, int64_t channels) {
    Node* r = AddNchwc(n, "ReorderOutput", {v});
    r->SetInt("channels", channels);
    n.Output(r->output(0));
  };

  // a) 3x3 Conv + Relu, 40 outputs (padded to 48 with blocks of 16).
  auto [ca, sa] = conv(bx, sx, {40, 32, 3, 3}, FilterLayout::kOIHWBiBo, 1, {1, 1, 1, 1}, {1, 1});
  ca->SetString("activation", "Relu");
  Value* sa_relu = s.Op("Relu", {sa});
  reorder_out(ca->output(0), 40);
  s.Output(sa_relu);
  // b) 1x1 Conv accumulating a)'s output, then LeakyRelu.
  auto [cb, sb] = conv(bx, sx, {40, 32, 1, 1}, FilterLayout::kOIHWBiBo, 1, {0, 0, 0, 0}, {1, 1});
  cb->AddInput(ca->output(0));
  cb->SetString("activation", "LeakyRelu");
  cb->SetFloats("activation_params", {0.1f});
  reorder_out(cb->output(0), 40);
  s.Output(s.Op("LeakyRelu", {s.Op("Add", {sb, sa_relu})}));
  s.LastNode()->SetFloat("alpha", 0.1f);
  // c) an NCHW input of 3 channels, stride 2, HardSigmoid.
  auto [cc, sc] = conv(nx3, sx3, {16, 3, 3, 3}, FilterLayout::kOIHWBo, 1, {1, 1, 1, 1}, {2, 2});
  cc->SetString("activation", "HardSigmoid");
  cc->SetFloats("activation_params", {0.2f, 0.5f});
  reorder_out(cc->output(0), 16);
  s.Output(s.Op("HardSigmoid", {sc}));
  s.LastNode()->SetFloat("alpha", 0.2f);
  s.LastNode()->SetFloat("beta", 0.5f);
  // d) depthwise 3x3, stride 2, Clip.
  auto [cd, sd] = conv(bx, sx, {32, 1, 3, 3}, FilterLayout::kOIHWBo, 32, {1, 1, 1, 1}, {2, 2});
  cd->SetString("activation", "Clip");
  cd->SetFloats("activation_params", {0.0f, 0.5f});
  reorder_out(cd->output(0), 32);
  s.Output(s.Op("Clip", {sd, s.Floats("lo", {}, {0.0f}), s.Floats("hi", {}, {0.5f})}));
  // e) grouped 1x1 (two groups of 16), HardSwish.
  auto [ce, se] = conv(bx, sx, {32, 16, 1, 1}, FilterLayout::kOIHWBiBo, 2, {0, 0, 0, 0}, {1, 1});
  ce->SetString("activation", "HardSwish");
  reorder_out(ce->output(0), 32);
  s.Output(s.Op("HardSwish", {se}));

  // f) pools.
  auto pool = [&](const std::string& op, auto&& set) {
    Node* np = AddNchwc(n, op, {bx});
    Value* sp = s.Op(op, {sx});
    set(np);
    set(s.LastNode());
    reorder_out(np->output(0), 32);
    s.Output(sp);
  };
  pool("MaxPool", [](Node* p) {
    p->SetInts("kernel_shape", {3, 3});
    p->SetInts("strides", {2, 2});
    p->SetInts("pads", {1, 1, 1, 1});
  });
  pool("AveragePool", [](Node* p) {
    p->SetInts("kernel_shape", {3, 2});
    p->SetInts("pads", {1, 0, 1, 1});
  });
  pool("AveragePool", [](Node* p) {
    p->SetInts("kernel_shape", {3, 3});
    p->SetInts("strides", {2, 2});
    p->SetInts("pads", {1, 1, 1, 1});
    p->SetInt("count_include_pad", 1);
  });
  pool("GlobalAveragePool", [](Node*) {});
  pool("GlobalMaxPool", [](Node*) {});

  // g) Upsample, nearest and linear, against Resize.
  for (const char* mode : {"nearest", "linear"}) {
    Node* u = AddNchwc(n, "Upsample", {bx});
    u->SetInts("scales", {1, 1, 2, 3});
    u->SetString("mode", mode);
    reorder_out(u->output(0), 32);
    Value* empty = nullptr;
    s.Output(s.Op("Resize", {sx, empty, s.Floats(std::string("scales_") + mode, {4}, {1, 1, 2, 3})}));
    s.LastNode()->SetString("mode", mode);
    s.LastNode()->SetString("coordinate_transformation_mode", "asymmetric");
    s.LastNode()->SetString("nearest_mode", "floor");
  }

  // h) channels-last in and out.
  Node* ri = AddNchwc(n, "ReorderInput", {nxn});
  ri->SetInt("channels_last", 1);
  Node* ro = AddNchwc(n, "ReorderOutput", {ri->output(0)});
  ro->SetInt("channels", 32);
  ro->SetInt("channels_last", 1);
  n.Output(ro->output(0));
  s.Output(s.Op("Identity", {sxn}));

  t.nchwc = n.Build();
  t.standard = s.Build();
  return t;
}

class NchwcKernels : public ::testing::TestWithParam<int64_t> {};

TEST_P(NchwcKernels, MatchTheStandardOperators) {
  Twins t = BuildTwins(GetParam());
  const std::vector<Tensor> got = RunReference(*t.nchwc, t.inputs);
  const std::vector<Tensor> want = RunReference(*t.standard, t.inputs);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_LE(MaxDiff(got[i], want[i]), 1e-4) << "output " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Blocks, NchwcKernels, ::testing::Values(8, 16));

TEST(NchwcKernels, RefuseAModelWithoutABlockSize) {
  Twins t = BuildTwins(8);
  t.nchwc->metadata_props.clear();
  reference::Executor executor(*t.nchwc);
  auto out = executor.Run(t.inputs);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("block size"), std::string::npos);
}

TEST(NchwcKernels, ReorderOutputRejectsAChannelCountOfAnotherBlock) {
  ModelBuilder b = NchwcBuilder(8);
  Node* r = AddNchwc(b, "ReorderOutput", {b.Input("x", DataType::kFloat, {1, 16, 2, 2})});
  r->SetInt("channels", 8);  // 16 aligned channels hold 9..16 logical ones
  b.Output(r->output(0));
  auto model = b.Build();
  reference::Executor executor(*model);
  EXPECT_FALSE(executor.Run({{"x", RandomFloats({1, 16, 2, 2})}}).ok());
}

// The blocked outputs themselves (padded channels included) against ONNX Runtime.
TEST(NchwcOrtParity, EveryOperatorOnTheHostBlock) {
  const int64_t block = HostNchwcBlockSize();
  if (block == 0) GTEST_SKIP() << "not an x86 CPU";
  Twins t = BuildTwins(block);
  ExpectOrtParity(*t.nchwc, t.inputs);
}

}  // namespace
}  // namespace graphopt::testing
