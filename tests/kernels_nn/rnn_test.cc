// RNN / GRU / LSTM against single-step formulas computed by hand, plus sequence_lens, reverse
// and layout handling.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/kernel_test_util.h"

namespace graphopt::testing {
namespace {

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

TEST(RnnKernel, TwoStepsHandComputed) {
  // hidden 1, input 1: h_t = tanh(x_t * 2 + h_{t-1} * 0.5 + 0.1 + 0.2).
  auto run = RunOp(
      "RNN", 14,
      {F32({2, 1, 1}, {1, -1}), F32({1, 1, 1}, {2}), F32({1, 1, 1}, {0.5}),
       F32({1, 2}, {0.1f, 0.2f})},
      [](ir::Node& n) { n.SetInt("hidden_size", 1); }, 2);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  const double h1 = std::tanh(2 + 0.3), h2 = std::tanh(-2 + 0.5 * h1 + 0.3);
  ExpectNear(run.outputs[0], {2, 1, 1, 1}, {h1, h2});
  ExpectNear(run.outputs[1], {1, 1, 1}, {h2});
}

TEST(RnnKernel, ReverseSequenceLensAndLayout) {
  // Batch of 2 (layout 1: [batch, seq, input]); the second sequence has length 1.
  auto run = RunOp(
      "RNN", 14,
      {F32({2, 2, 1}, {1, 2, 3, 4}), F32({1, 1, 1}, {1}), F32({1, 1, 1}, {1}), Tensor(),
       I32({2}, {2, 1})},
      [](ir::Node& n) {
        n.SetInt("hidden_size", 1);
        n.SetInt("layout", 1);
        n.SetString("direction", "reverse");
        auto& attrs = n.mutable_attributes();
        ir::Attribute a;
        a.name = "activations";
        a.type = ir::AttrType::kStrings;
        a.strings = {"Relu"};
        attrs.push_back(std::move(a));
      },
      2);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  // Sequence 0 reversed: h(t=1) = 2, h(t=0) = 1 + 2 = 3. Sequence 1: only t=0: h = 3; t=1 stays 0.
  ExpectNear(run.outputs[0], {2, 2, 1, 1}, {3, 2, 3, 0});
  ExpectNear(run.outputs[1], {2, 1, 1}, {3, 3});
}

TEST(GruKernel, OneStepBothResetModes) {
  // hidden 1, input 1, zero initial state: z = sigmoid(x*wz), r irrelevant for h0 = 0 except
  // through the recurrent bias with linear_before_reset.
  const Tensor x = F32({1, 1, 1}, {1});
  const Tensor w = F32({1, 3, 1}, {0.5, 1, 2});  // z, r, h
  const Tensor r = F32({1, 3, 1}, {1, 1, 1});
  const Tensor b = F32({1, 6}, {0, 0, 0, 0, 0, 0.5});  // Rbh = 0.5
  for (int lbr : {0, 1}) {
    auto run = RunOp(
        "GRU", 14, {x, w, r, b},
        [lbr](ir::Node& n) {
          n.SetInt("hidden_size", 1);
          n.SetInt("linear_before_reset", lbr);
        },
        2);
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    const double z = Sigmoid(0.5), rg = Sigmoid(1.0);
    const double hh = lbr ? std::tanh(2 + rg * 0.5) : std::tanh(2 + 0.5);
    ExpectNear(run.outputs[0], {1, 1, 1, 1}, {(1 - z) * hh}, 1e-5);
  }
}

TEST(LstmKernel, OneStepWithPeepholesAndInitialState) {
  // hidden 1, input 1, gates ordered i, o, f, c.
  const Tensor x = F32({1, 1, 1}, {1});
  const Tensor w = F32({1, 4, 1}, {0.1f, 0.2f, 0.3f, 0.4f});
  const Tensor r = F32({1, 4, 1}, {0, 0, 0, 0});
  const Tensor h0 = F32({1, 1, 1}, {0});
  const Tensor c0 = F32({1, 1, 1}, {2});
  const Tensor p = F32({1, 3}, {0.5f, 0.25f, -1});  // i, o, f
  auto run = RunOp(
      "LSTM", 14, {x, w, r, Tensor(), Tensor(), h0, c0, p},
      [](ir::Node& n) { n.SetInt("hidden_size", 1); }, 3);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  const double i = Sigmoid(0.1 + 0.5 * 2), f = Sigmoid(0.3 - 1 * 2), c = std::tanh(0.4);
  const double c1 = f * 2 + i * c;
  const double o = Sigmoid(0.2 + 0.25 * c1);
  const double h1 = o * std::tanh(c1);
  ExpectNear(run.outputs[0], {1, 1, 1, 1}, {h1}, 1e-5);
  ExpectNear(run.outputs[1], {1, 1, 1}, {h1}, 1e-5);
  ExpectNear(run.outputs[2], {1, 1, 1}, {c1}, 1e-5);
}

TEST(LstmKernel, BidirectionalMatchesTwoSingleDirections) {
  const Tensor x = RandomFloats({3, 2, 2}, 1);
  const Tensor w = RandomFloats({2, 12, 2}, 2), r = RandomFloats({2, 12, 3}, 3);
  auto both = RunOp("LSTM", 14, {x, w, r}, [](ir::Node& n) {
    n.SetInt("hidden_size", 3);
    n.SetString("direction", "bidirectional");
  });
  ASSERT_TRUE(both.status.ok()) << both.status.ToString();
  auto slice = [](const Tensor& t, int64_t d) {
    const int64_t per = t.size() / 2;
    std::vector<float> v(t.data<float>() + d * per, t.data<float>() + (d + 1) * per);
    Shape s = t.shape();
    s[0] = 1;
    return F32(s, v);
  };
  auto fwd = RunOp("LSTM", 14, {x, slice(w, 0), slice(r, 0)},
                   [](ir::Node& n) { n.SetInt("hidden_size", 3); });
  auto rev = RunOp("LSTM", 14, {x, slice(w, 1), slice(r, 1)}, [](ir::Node& n) {
    n.SetInt("hidden_size", 3);
    n.SetString("direction", "reverse");
  });
  ASSERT_TRUE(fwd.status.ok() && rev.status.ok());
  // Y is [seq, dirs, batch, hidden]: interleave the two single-direction results.
  const auto got = Doubles(both.outputs[0]);
  const auto f = Doubles(fwd.outputs[0]), b = Doubles(rev.outputs[0]);
  for (size_t t = 0; t < 3; ++t)
    for (size_t k = 0; k < 6; ++k) {
      EXPECT_NEAR(got[t * 12 + k], f[t * 6 + k], 1e-6);
      EXPECT_NEAR(got[t * 12 + 6 + k], b[t * 6 + k], 1e-6);
    }
}

TEST(RecurrentKernels, WrongWeightShapeIsAnError) {
  auto run =
      RunOp("GRU", 14, {RandomFloats({2, 1, 3}), RandomFloats({1, 6, 3}), RandomFloats({1, 9, 3})},
            [](ir::Node& n) { n.SetInt("hidden_size", 3); });
  EXPECT_EQ(run.status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace graphopt::testing
