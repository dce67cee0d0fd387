// Golden tests of fuse_pad_conv: a constant Pad merges into Conv/AveragePool pads when zero
// and into MaxPool pads when -inf; every other Pad stays.
#include <gtest/gtest.h>

#include <limits>

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

constexpr const char* kPass = "fuse_pad_conv";

struct PadCase {
  const char* name;
  const char* consumer;  // Conv, AveragePool, MaxPool
  std::vector<int64_t> pads;
  float value;
  bool merges;
  std::function<void(ir::Node* pad, ir::Node* consumer)> tweak = nullptr;
  std::vector<int64_t> expected_pads = {};
};

class FusePadConvTest : public ::testing::TestWithParam<PadCase> {};

TEST_P(FusePadConvTest, MergesOnlyWhenThePadMeansTheSame) {
  const PadCase& c = GetParam();
  ModelBuilder b(13);
  // Negative inputs: a zero pad would beat them in a MaxPool window.
  auto* x = b.Input("x", DataType::kFloat, {1, 2, 6, 7});
  auto* relu = b.Op("Relu", {x});
  auto* shifted = b.Op("Sub", {relu, b.Floats("one", {}, {1.0f})});
  auto* padded = b.Op("Pad", {shifted, b.Ints("pads", c.pads), b.Floats("value", {}, {c.value})});
  ir::Node* pad = b.LastNode();
  std::vector<ir::Value*> in{padded};
  if (std::string(c.consumer) == "Conv") in.push_back(RandomInit(b, "w", {3, 2, 3, 3}, 4));
  auto* y = b.Op(c.consumer, in);
  ir::Node* consumer = b.LastNode();
  if (std::string(c.consumer) != "Conv") consumer->SetInts("kernel_shape", {3, 3});
  consumer->SetInts("pads", {1, 0, 0, 1});
  if (c.tweak) c.tweak(pad, consumer);
  b.Output(y);
  auto model = b.Build();
  const std::string before = GraphSignature(*model);
  auto run = RunSinglePass(*model, kPass);
  if (c.merges) {
    EXPECT_EQ(run.applied, 1);
    EXPECT_EQ(CountOp(*model, "Pad"), 0);
    EXPECT_EQ(consumer->input(0), shifted);
    EXPECT_EQ(consumer->GetInts("pads"), c.expected_pads);
  } else {
    EXPECT_EQ(run.applied, 0);
    EXPECT_EQ(GraphSignature(*model), before);
  }
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

const float kNegInf = -std::numeric_limits<float>::infinity();

void IncludePad(ir::Node*, ir::Node* pool) { pool->SetInt("count_include_pad", 1); }

INSTANTIATE_TEST_SUITE_P(
    Cases, FusePadConvTest,
    ::testing::Values(
        PadCase{"conv_zero", "Conv", {0, 0, 1, 2, 0, 0, 2, 1}, 0.0f, true, nullptr, {2, 2, 2, 2}},
        PadCase{"average_pool_include_pad",
                "AveragePool",
                {0, 0, 1, 0, 0, 0, 0, 1},
                0.0f,
                true,
                IncludePad,
                {2, 0, 0, 2}},
        PadCase{"max_pool_neg_inf",
                "MaxPool",
                {0, 0, 1, 1, 0, 0, 1, 0},
                kNegInf,
                true,
                nullptr,
                {2, 1, 1, 1}},
        PadCase{"conv_nonzero_value", "Conv", {0, 0, 1, 1, 0, 0, 1, 1}, 0.5f, false},
        // Conv pads only spatial axes; a batch pad must stay a Pad.
        PadCase{"conv_pads_batch", "Conv", {1, 0, 1, 1, 0, 0, 1, 1}, 0.0f, false},
        PadCase{"conv_negative_pad", "Conv", {0, 0, -1, 1, 0, 0, 1, 1}, 0.0f, false},
        PadCase{"conv_reflect",
                "Conv",
                {0, 0, 1, 1, 0, 0, 1, 1},
                0.0f,
                false,
                [](ir::Node* pad, ir::Node*) { pad->SetString("mode", "reflect"); }},
        PadCase{"conv_auto_pad_same",
                "Conv",
                {0, 0, 1, 1, 0, 0, 1, 1},
                0.0f,
                false,
                [](ir::Node*, ir::Node* conv) {
                  conv->RemoveAttr("pads");
                  conv->SetString("auto_pad", "SAME_UPPER");
                }},
        PadCase{"average_pool_exclude_pad", "AveragePool", {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, false},
        PadCase{"average_pool_ceil_mode",
                "AveragePool",
                {0, 0, 1, 1, 0, 0, 1, 1},
                0.0f,
                false,
                [](ir::Node* pad, ir::Node* pool) {
                  IncludePad(pad, pool);
                  pool->SetInt("ceil_mode", 1);
                }},
        // Zeros would win over the negative inputs where MaxPool's own padding is ignored.
        PadCase{"max_pool_zero", "MaxPool", {0, 0, 1, 1, 0, 0, 1, 1}, 0.0f, false},
        // Merged pad 3 >= kernel 3: a window could hold only padding.
        PadCase{"max_pool_pad_too_wide", "MaxPool", {0, 0, 2, 0, 0, 0, 0, 0}, kNegInf, false}),
    [](const ::testing::TestParamInfo<PadCase>& info) { return std::string(info.param.name); });

// Before opset 11 Pad carries pads and value as attributes.
TEST(FusePadConv, MergesAttributeFormPad) {
  ModelBuilder b(10);
  auto* x = b.Input("x", DataType::kFloat, {1, 2, 5, 5});
  auto* padded = b.Op("Pad", {x});
  b.LastNode()->SetInts("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  auto* y = b.Op("Conv", {padded, RandomInit(b, "w", {2, 2, 3, 3}, 2)});
  ir::Node* conv = b.LastNode();
  b.Output(y);
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 1);
  EXPECT_EQ(CountOp(*model, "Pad"), 0);
  EXPECT_EQ(conv->GetInts("pads"), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

// A Pad read by two Convs: both absorb it, then it is gone.
TEST(FusePadConv, SharedPadMergesIntoEveryConsumer) {
  ModelBuilder b(13);
  auto* x = b.Input("x", DataType::kFloat, {1, 2, 5, 5});
  auto* padded = b.Op("Pad", {x, b.Ints("pads", {0, 0, 1, 1, 0, 0, 1, 1})});
  b.Output(b.Op("Conv", {padded, RandomInit(b, "w1", {2, 2, 3, 3}, 1)}));
  b.Output(b.Op("Conv", {padded, RandomInit(b, "w2", {2, 2, 3, 3}, 2)}));
  auto model = b.Build();
  auto run = RunSinglePass(*model, kPass);
  EXPECT_EQ(run.applied, 2);
  EXPECT_EQ(CountOp(*model, "Pad"), 0);
  EXPECT_EQ(CompareOutputs(*run.original, *model), "");
}

}  // namespace
}  // namespace graphopt
