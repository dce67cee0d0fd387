// The embedded target profiles: they load, say what ONNX Runtime's providers register, gate
// standard fused ops by opset, and are listed by `graphopt targets`.
#include <gtest/gtest.h>

#include "backends/reference/kernel.h"
#include "optimizer/target.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

const TargetProfile& Profile(const std::string& name) {
  auto p = TargetRegistry::Get().Find(name);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return *p.value();
}

TEST(TargetProfiles, EmbeddedProfilesLoadWithoutErrors) {
  for (const std::string& e : TargetRegistry::Get().load_errors()) ADD_FAILURE() << e;
  for (const char* name : {"generic", "cpu", "cuda"}) {
    SCOPED_TRACE(name);
    const TargetProfile& p = Profile(name);
    EXPECT_EQ(p.name, name);
    EXPECT_FALSE(p.description.empty());
    EXPECT_FALSE(p.sources.empty());
    EXPECT_EQ(p.domains.at(""), 17);
  }
  EXPECT_FALSE(TargetRegistry::Get().Find("tpu").ok());
}

TEST(TargetProfiles, GenericIsPortableAndStandardOnly) {
  const TargetProfile& p = Profile("generic");
  EXPECT_TRUE(p.portable);
  EXPECT_EQ(p.domains.size(), 1u);
  for (const std::string& op : p.fused_ops) EXPECT_EQ(op.find('.'), std::string::npos) << op;
  EXPECT_FALSE(p.Allows("com.microsoft", "Gelu"));
  EXPECT_TRUE(p.Allows("", "HardSwish"));
  // Standard fused ops only at the opset that defines them.
  EXPECT_FALSE(p.AllowsAt("", "HardSwish", 13));
  EXPECT_TRUE(p.AllowsAt("", "HardSwish", 14));
  EXPECT_FALSE(p.AllowsAt("", "LayerNormalization", 16));
  EXPECT_TRUE(p.AllowsAt("", "LayerNormalization", 17));
  EXPECT_TRUE(p.AllowsAt("ai.onnx", "LayerNormalization", 17));
  // Gelu-20 is beyond libonnx 1.12's opset 17: never, whatever the model claims.
  EXPECT_FALSE(p.AllowsAt("", "Gelu", 20));
  EXPECT_FALSE(p.AllowsAt("", "SimplifiedLayerNormalization", 17));
}

TEST(TargetProfiles, CpuListsWhatTheCpuProviderRegisters) {
  const TargetProfile& p = Profile("cpu");
  EXPECT_FALSE(p.portable);
  EXPECT_EQ(p.domains.at("com.microsoft"), 1);
  for (const char* op :
       {"Gelu", "FastGelu", "BiasGelu", "QuickGelu", "FusedConv", "FusedGemm", "FusedMatMul",
        "EmbedLayerNormalization", "Attention", "MultiHeadAttention"}) {
    EXPECT_TRUE(p.AllowsAt("com.microsoft", op, 14)) << op;
  }
  // Registered, but slower than what they replace on this provider: known, and not emitted.
  for (const char* op : {"SkipLayerNormalization", "SkipSimplifiedLayerNormalization"}) {
    EXPECT_FALSE(p.Allows("com.microsoft", op)) << op;
    EXPECT_TRUE(p.not_emitted.count(std::string("com.microsoft.") + op)) << op;
  }
  // CUDA-only contrib ops, and normalizations ONNX Runtime registers outside com.microsoft.
  for (const char* op :
       {"BiasAdd", "BiasSoftmax", "LayerNormalization", "SimplifiedLayerNormalization"}) {
    EXPECT_FALSE(p.Allows("com.microsoft", op)) << op;
  }
  EXPECT_TRUE(p.AllowsAt("", "LayerNormalization", 14));
  EXPECT_TRUE(p.AllowsAt("", "SimplifiedLayerNormalization", 14));
  EXPECT_TRUE(p.AllowsActivation("com.microsoft", "FusedConv", "Clip"));
  EXPECT_TRUE(p.AllowsActivation("com.microsoft", "FusedConv", "HardSigmoid"));
  EXPECT_FALSE(p.AllowsActivation("com.microsoft", "FusedConv", "Elu"));
  EXPECT_TRUE(p.AllowsActivation("com.microsoft", "FusedGemm", "LeakyRelu"));
  EXPECT_FALSE(p.AllowsActivation("com.microsoft", "FusedGemm", "Clip"));
  EXPECT_FALSE(p.AllowsActivation("com.microsoft", "Gelu", "Relu"));
}

TEST(TargetProfiles, CudaDiffersFromCpu) {
  const TargetProfile& p = Profile("cuda");
  EXPECT_FALSE(p.portable);
  EXPECT_FALSE(p.Allows("com.microsoft", "FusedGemm"));  // no CUDA kernel
  EXPECT_TRUE(p.Allows("com.microsoft", "BiasAdd"));
  EXPECT_TRUE(p.Allows("com.microsoft", "BiasSoftmax"));
  EXPECT_TRUE(p.Allows("com.microsoft", "SkipLayerNormalization"));
  EXPECT_TRUE(p.not_emitted.empty());
  EXPECT_TRUE(p.AllowsActivation("com.microsoft", "FusedConv", "Relu"));
  EXPECT_FALSE(p.AllowsActivation("com.microsoft", "FusedConv", "Sigmoid"));  // cuDNN: Relu only
}

TEST(TargetProfiles, EveryFusedOpHasAReferenceKernel) {
  // Artifacts are verified on the reference executor, so each op a profile allows must run there.
  const auto& registry = reference::KernelRegistry::Get();
  for (const TargetProfile* p : TargetRegistry::Get().All()) {
    for (const std::string& key : p->fused_ops) {
      const size_t dot = key.rfind('.');
      const std::string domain = dot == std::string::npos ? "" : key.substr(0, dot);
      const std::string op = dot == std::string::npos ? key : key.substr(dot + 1);
      auto since = p->since_opset.find(key);
      if (since != p->since_opset.end() && since->second > p->domains.at("")) continue;  // never
      const int64_t opset =
          domain.empty() ? std::max(since == p->since_opset.end() ? 1 : since->second, 14) : 1;
      EXPECT_NE(registry.Find(domain, op, opset), nullptr)
          << p->name << ": " << key << " at " << opset;
    }
  }
}

TEST(TargetProfiles, ParseRejectsMalformedProfiles) {
  EXPECT_FALSE(ParseTargetProfile("not json").ok());
  EXPECT_FALSE(ParseTargetProfile(R"({"description": "no name", "domains": {"": 17}})").ok());
  EXPECT_FALSE(ParseTargetProfile(R"({"name": "x"})").ok());  // no domains
  EXPECT_FALSE(
      ParseTargetProfile(R"({"name": "x", "domains": {"": 17}, "fused_ops": [{"op": 3}]})").ok());
  // A contrib op needs its domain listed.
  EXPECT_FALSE(
      ParseTargetProfile(
          R"({"name": "x", "domains": {"": 17}, "fused_ops": [{"op": "com.microsoft.Gelu"}]})")
          .ok());
  auto ok = ParseTargetProfile(
      R"({"name": "x", "portable": false, "domains": {"": 15, "com.microsoft": 1},
      "fused_ops": [{"op": "HardSwish", "since_opset": 14},
                    {"op": "com.microsoft.FusedConv", "activations": ["Relu"]}]})");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_FALSE(ok->portable);
  EXPECT_TRUE(ok->AllowsAt("", "HardSwish", 15));
  EXPECT_TRUE(ok->AllowsActivation("com.microsoft", "FusedConv", "Relu"));
  // not_emitted: each entry says why, and an op is never both emitted and not.
  EXPECT_FALSE(ParseTargetProfile(R"({"name": "x", "domains": {"": 17},
      "not_emitted": [{"op": "HardSwish"}]})")
                   .ok());
  EXPECT_FALSE(ParseTargetProfile(R"({"name": "x", "domains": {"": 17},
      "fused_ops": [{"op": "HardSwish"}], "not_emitted": [{"op": "HardSwish", "why": "slow"}]})")
                   .ok());
  auto avoided = ParseTargetProfile(R"({"name": "x", "domains": {"": 17},
      "not_emitted": [{"op": "HardSwish", "why": "slow here"}]})");
  ASSERT_TRUE(avoided.ok()) << avoided.status().ToString();
  EXPECT_FALSE(avoided->Allows("", "HardSwish"));
  EXPECT_EQ(avoided->not_emitted.at("HardSwish"), "slow here");
}

TEST(TargetProfiles, AddedProfileIsFound) {
  ASSERT_TRUE(TargetRegistry::Get()
                  .AddFromJson(R"({"name": "test-added", "domains": {"": 13}, "description": "t"})")
                  .ok());
  auto p = TargetRegistry::Get().Find("test-added");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->domains.at(""), 13);
}

TEST(TargetProfiles, CliListsEveryProfile) {
  std::string out, err;
  ASSERT_EQ(RunCommand(CliPath() + " targets", &out, &err), 0) << err;
  for (const char* name : {"generic", "cpu", "cuda"}) {
    EXPECT_NE(out.find(std::string(name) + " "), std::string::npos) << out;
  }
  EXPECT_NE(out.find("portable"), std::string::npos) << out;
  EXPECT_NE(out.find("specific"), std::string::npos) << out;
}

}  // namespace
}  // namespace graphopt::testing
