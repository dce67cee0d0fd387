// The differential fuzzer: generator (valid, reproducible, covering the fusions), shrinker (a
// planted failure reduces to a minimal graph), isolation (an abort loses one run only), and the
// `graphopt fuzz` command end to end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>

#include "cli/fuzz/case_runner.h"
#include "cli/fuzz/graph_generator.h"
#include "cli/fuzz/shrinker.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

std::string Bytes(ir::Model& m) {
  auto bytes = SerializeModel(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : "";
}

std::multiset<std::string> Ops(const std::string& bytes) {
  std::multiset<std::string> ops;
  auto m = LoadModelFromBytes(bytes);
  if (!m.ok()) return ops;
  for (const ir::Node* n : (*m)->graph->nodes()) ops.insert(n->op_type());
  return ops;
}

TEST(GraphGenerator, SameSeedSameGraphOtherSeedOtherGraph) {
  auto a = fuzz::GenerateGraph(42), b = fuzz::GenerateGraph(42), c = fuzz::GenerateGraph(43);
  EXPECT_EQ(Bytes(*a.model), Bytes(*b.model));
  EXPECT_EQ(a.motifs, b.motifs);
  EXPECT_NE(Bytes(*a.model), Bytes(*c.model));
}

TEST(GraphGenerator, GraphsAreValidAndCoverTheFusionMotifs) {
  std::set<std::string> motifs;
  int symbolic = 0;
  for (uint64_t seed = 1; seed <= 120; ++seed) {
    auto g = fuzz::GenerateGraph(seed);
    ASSERT_TRUE(ir::CheckModel(*g.model).ok())
        << "seed " << seed << ": " << ir::CheckModel(*g.model).message();
    ASSERT_GE(g.model->graph->num_nodes(), 1u);
    ASSERT_FALSE(g.model->graph->outputs().empty());
    for (const auto& m : g.motifs) motifs.insert(m);
    if (g.symbolic) {
      ++symbolic;
      bool has_batch = false;
      for (const ir::Value* in : g.model->graph->inputs()) {
        if (in->has_initializer() || !in->type().shape) continue;
        for (const ir::Dim& d : *in->type().shape) has_batch = has_batch || d.param == "batch";
      }
      EXPECT_TRUE(has_batch) << "seed " << seed;
    }
  }
  EXPECT_GT(symbolic, 10);
  for (const char* want : {"conv", "gemm", "attention", "layer_norm", "gelu_erf", "gelu_tanh",
                           "quick_gelu", "hard_swish", "transpose", "shape_math", "folding",
                           "reshape", "cast_chain", "split", "softmax"}) {
    bool found = false;
    for (const auto& m : motifs) found = found || m.rfind(want, 0) == 0;
    EXPECT_TRUE(found) << want << " never generated in 120 graphs";
  }
}

// The motifs are worth their name only if the fusions fire on them: over 40 graphs at
// extended/cpu the rewrites must have produced each fused operator below at least once.
TEST(GraphGenerator, GeneratedGraphsOptimizeVerifyAndGetFused) {
  std::map<std::string, int64_t> produced;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto g = fuzz::GenerateGraph(seed);
    const std::string bytes = Bytes(*g.model);
    for (Level level : {Level::kBasic, Level::kExtended}) {
      const fuzz::ComboResult r = fuzz::RunCombo(bytes, {level, "cpu"});
      EXPECT_EQ(r.outcome, fuzz::Outcome::kOk)
          << "seed " << seed << " " << r.combo.Name() << ": " << r.message;
      for (const auto& [op, count] : r.new_ops) produced[op] += count;
    }
  }
  for (const char* op :
       {"Gemm", "com.microsoft.FusedConv", "com.microsoft.FusedMatMul", "LayerNormalization"}) {
    EXPECT_GT(produced[op], 0) << op << " never produced";
  }
}

// A planted failure: "the model holds a Sigmoid" (and is valid). Every other node is removable,
// so the minimal reproducer is that one node.
TEST(Shrinker, ReducesAPlantedFailureToOneNode) {
  std::string bytes;
  for (uint64_t seed = 1; bytes.empty(); ++seed) {
    auto g = fuzz::GenerateGraph(seed);
    const std::string b = Bytes(*g.model);
    if (Ops(b).count("Sigmoid") && g.model->graph->num_nodes() >= 12) bytes = b;
    ASSERT_LT(seed, 500u);
  }
  const auto still_fails = [](const std::string& candidate) {
    auto m = LoadModelFromBytes(candidate);
    return m.ok() && ir::CheckModel(**m).ok() && Ops(candidate).count("Sigmoid") > 0;
  };
  ASSERT_TRUE(still_fails(bytes));
  const fuzz::ShrinkResult r = fuzz::Shrink(bytes, still_fails);
  EXPECT_EQ(Ops(r.model_bytes), std::multiset<std::string>{"Sigmoid"});
  EXPECT_TRUE(still_fails(r.model_bytes));
  EXPECT_GT(r.accepted, 0);
}

// Two nodes that must stay connected: Conv feeding BatchNormalization (a fold gone wrong would
// need both). The shrinker keeps exactly that pair.
TEST(Shrinker, KeepsAConnectedPairItNeeds) {
  std::string bytes;
  for (uint64_t seed = 1; bytes.empty(); ++seed) {
    auto g = fuzz::GenerateGraph(seed);
    for (const ir::Node* n : g.model->graph->nodes()) {
      if (n->Is("BatchNormalization") && n->input(0)->producer() &&
          n->input(0)->producer()->Is("Conv") && g.model->graph->num_nodes() >= 8) {
        bytes = Bytes(*g.model);
      }
    }
    ASSERT_LT(seed, 2000u);
  }
  const auto still_fails = [](const std::string& candidate) {
    auto m = LoadModelFromBytes(candidate);
    if (!m.ok() || !ir::CheckModel(**m).ok()) return false;
    for (const ir::Node* n : (*m)->graph->nodes()) {
      if (n->Is("BatchNormalization") && n->input(0)->producer() &&
          n->input(0)->producer()->Is("Conv")) {
        return true;
      }
    }
    return false;
  };
  const fuzz::ShrinkResult r = fuzz::Shrink(bytes, still_fails);
  EXPECT_EQ(Ops(r.model_bytes), (std::multiset<std::string>{"BatchNormalization", "Conv"}));
}

fuzz::ComboResult AbortOnExtended(const std::string& bytes, const fuzz::Combo& combo) {
  if (combo.level == Level::kExtended) std::abort();
  return fuzz::RunCombo(bytes, combo);
}

TEST(CaseRunner, AnAbortIsACrashOfThatRunAndTheCallerLives) {
  auto g = fuzz::GenerateGraph(3);
  const std::string bytes = Bytes(*g.model);
  const std::vector<fuzz::Combo> combos = {
      {Level::kBasic, "generic"}, {Level::kExtended, "generic"}, {Level::kLayout, "generic"}};
  const auto results = fuzz::RunIsolated(bytes, combos, 60, AbortOnExtended);
  ASSERT_EQ(results.size(), 2u);  // the run after the abort never happened
  EXPECT_EQ(results[0].outcome, fuzz::Outcome::kOk) << results[0].message;
  EXPECT_EQ(results[1].outcome, fuzz::Outcome::kCrash);
  EXPECT_NE(results[1].message.find("SIGABRT"), std::string::npos) << results[1].message;
  EXPECT_EQ(results[1].combo.Name(), "extended/generic");
}

fuzz::ComboResult Hang(const std::string&, const fuzz::Combo&) {
  while (true) pause();
}

TEST(CaseRunner, AHangIsACrashAfterTheTimeout) {
  auto g = fuzz::GenerateGraph(3);
  const auto results = fuzz::RunIsolated(Bytes(*g.model), {{Level::kBasic, "generic"}}, 1, Hang);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, fuzz::Outcome::kCrash);
  EXPECT_NE(results[0].message.find("hang"), std::string::npos) << results[0].message;
}

// The ctest budget of the fuzzer: 20 s of seed 1 at every level and target finds nothing.
TEST(FuzzCommand, TwentySecondsOfSeedOneFindNothing) {
  const std::string out = testing::TempDir();
  std::string stdout_text, stderr_text;
  const int code = testing::RunCommand(
      testing::CliPath() + " fuzz --seconds 20 --seed 1 --out " + out, &stdout_text, &stderr_text);
  EXPECT_EQ(code, 0) << stdout_text << stderr_text;
  std::istringstream lines(stdout_text);
  std::string line, last;
  while (std::getline(lines, line)) {
    if (!line.empty()) last = line;
  }
  long graphs = -1, crashes = -1, mismatches = -1;
  ASSERT_EQ(std::sscanf(last.c_str(), "%ld graphs, %ld crashes, %ld mismatches", &graphs, &crashes,
                        &mismatches),
            3)
      << last;
  EXPECT_EQ(crashes, 0) << stdout_text;
  EXPECT_EQ(mismatches, 0) << stdout_text;
  EXPECT_GE(graphs, 10) << stdout_text;
}

TEST(FuzzCommand, RefusesAnUnknownTarget) {
  std::string err;
  EXPECT_EQ(
      testing::RunCommand(testing::CliPath() + " fuzz --seconds 1 --target nope", nullptr, &err),
      2);
  EXPECT_NE(err.find("nope"), std::string::npos) << err;
}

}  // namespace
}  // namespace graphopt
