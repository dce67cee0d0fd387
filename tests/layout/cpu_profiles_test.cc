// The ISA-specific cpu profiles, the metadata layout artifacts carry, and the cpu profile
// keeping Conv + Add unfused where ONNX Runtime's own NCHWc rewrite would take them.
#include <gtest/gtest.h>

#include "layout/nchwc_test_util.h"
#include "optimizer/optimize_model.h"
#include "optimizer/pipeline.h"
#include "optimizer/target.h"
#include "passes/pass_test_util.h"

namespace graphopt::testing {
namespace {

using ir::Value;

const TargetProfile& Profile(const std::string& name) {
  auto p = TargetRegistry::Get().Find(name);
  EXPECT_TRUE(p.ok()) << name;
  return **p;
}

TEST(CpuProfiles, NameTheirIsaAndBlock) {
  EXPECT_TRUE(TargetRegistry::Get().load_errors().empty());
  EXPECT_EQ(Profile("cpu-avx2").isa, "avx2");
  EXPECT_EQ(Profile("cpu-avx2").nchwc_block_size, 8);
  EXPECT_EQ(Profile("cpu-avx512").isa, "avx512");
  EXPECT_EQ(Profile("cpu-avx512").nchwc_block_size, 16);
  EXPECT_FALSE(Profile("cpu-avx2").isa_from_host);
  // Both extend cpu: same operators, same measured exclusions.
  EXPECT_EQ(Profile("cpu-avx2").fused_ops, Profile("cpu").fused_ops);
  EXPECT_EQ(Profile("cpu-avx512").not_emitted, Profile("cpu").not_emitted);
  EXPECT_EQ(Profile("generic").nchwc_block_size, 0);
  EXPECT_EQ(Profile("cuda").nchwc_block_size, 0);
}

TEST(CpuProfiles, CpuTakesThisMachinesIsa) {
  const TargetProfile& cpu = Profile("cpu");
  EXPECT_TRUE(cpu.isa_from_host);
  EXPECT_EQ(cpu.isa, HostCpuIsa());
  EXPECT_EQ(cpu.nchwc_block_size, HostNchwcBlockSize());
}

TEST(CpuProfiles, ExtendsNeedsAKnownBase) {
  EXPECT_FALSE(TargetRegistry::Get().AddFromJson(R"({"name": "x", "extends": "nope"})").ok());
}

std::unique_ptr<ir::Model> ConvAddOnConvs(int64_t channels) {
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, channels, 6, 6});
  auto conv = [&](Value* in, uint64_t seed) {
    Value* y = b.Op("Conv", {in, b.Init("w" + std::to_string(seed),
                                        RandomFloats({channels, channels, 1, 1}, seed))});
    return y;
  };
  Value* a = conv(x, 1);
  b.Output(b.Op("Relu", {b.Op("Add", {conv(a, 2), a})}));
  return b.Build();
}

TEST(CpuProfiles, ConvAddStaysForTheRuntimesBlockedSum) {
  auto m = ConvAddOnConvs(16);
  PassRun run = RunSinglePass(*m, "fuse_conv_activation", "cpu-avx2");
  EXPECT_EQ(run.record.rule_counts["conv_add"], 0);
  EXPECT_EQ(CountOp(*m, "Add"), 1);
  // cuda has no such rewrite: it fuses.
  auto m2 = ConvAddOnConvs(16);
  EXPECT_EQ(RunSinglePass(*m2, "fuse_conv_activation", "cuda").record.rule_counts["conv_add"], 1);
  // 10 channels: ONNX Runtime's rewrite leaves the Conv alone, so FusedConv with Z is better.
  auto m3 = ConvAddOnConvs(10);
  RunSinglePass(*m3, "fuse_conv_activation", "cpu-avx2");
  EXPECT_EQ(CountOp(*m3, "Add"), 0);
}

TEST(CpuProfiles, ArtifactsRecordTargetIsaLevelVersionAndBlock) {
  ModelBuilder b(13);
  Value* x = b.Input("x", DataType::kFloat, {1, 16, 6, 6});
  b.Output(b.Op("Relu", {b.Op("Conv", {x, b.Init("w", RandomFloats({16, 16, 3, 3}, 3))})}));
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  auto model = b.Build();
  auto original = ir::CloneModel(*model);
  PipelineOptions options;
  options.level = Level::kAll;
  options.target = "cpu-avx2";
  auto report = OptimizeModel(*model, original.get(), options);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ(report->verification_status, VerificationStatus::kPassed) << report->verification_message;
  EXPECT_EQ(report->isa, "avx2");
  EXPECT_NE(report->ToJson().find("\"isa\""), std::string::npos);
  std::map<std::string, std::string> meta(model->metadata_props.begin(), model->metadata_props.end());
  EXPECT_EQ(meta["graphopt.target"], "cpu-avx2");
  EXPECT_EQ(meta["graphopt.isa"], "avx2");
  EXPECT_EQ(meta["graphopt.level"], "all");
  EXPECT_EQ(meta["graphopt.version"], GraphoptVersion());
  EXPECT_EQ(meta["graphopt.nchwc_block_size"], "8");
  EXPECT_EQ(CountOp(*model, std::string(kNchwc) + ".Conv"), 1);
}

}  // namespace
}  // namespace graphopt::testing
