// A pass: one named graph rewrite with its level. Passes register themselves with one line
// (GRAPHOPT_REGISTER_PASS); the pass manager picks them by level, never by a hand-kept list.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/pass/level.h"
#include "optimizer/pass/pass_stats.h"
#include "optimizer/util/status.h"

namespace graphopt {

class Evaluator;
struct TargetProfile;

struct PassOptions {
  std::map<std::string, int64_t> dims;          // fixed symbolic dims
  int64_t fold_size_cap_bytes = int64_t{16} << 20;
};

// Everything a pass may use while it runs.
struct PassContext {
  ir::Model& model;
  const TargetProfile& target;
  const PassOptions& options;
  Evaluator* evaluator;  // may be null when no executor is linked
  PassRecord* record;
  RewriteCounter* rewrites = nullptr;  // null: no counting, no limit

  int64_t opset(const std::string& domain = "") const { return model.OpsetVersion(domain); }
  // Whether the target may carry `op` ("com.microsoft.Attention") at the model's opset. Rules
  // never ask this about what they emit (the driver does, from Rule::emits); it is for a rule
  // that defers to another pass's fusion.
  bool MayEmit(const std::string& op) const;
  // False once the run's rewrite limit (--bisect-limit) is reached: a pass asks before each
  // rewrite and stops when told no.
  bool MayRewrite() const { return !rewrites || rewrites->MayRewrite(); }
  // Counts one application of `rule`, remembering the node it consumed.
  void Applied(const std::string& rule, const ir::Node* consumed = nullptr);
  // Counts one application of `rule` that consumed the nodes `from` and created `to` (names).
  void Applied(const std::string& rule, std::vector<std::string> from,
               std::vector<std::string> to);
  // Remembers that `rule` declined at the node labelled `node` (its name, or its operator type
  // when unnamed) for `reason`: a near miss, deduplicated and bounded.
  void NearMiss(const std::string& rule, const std::string& node, const std::string& reason);
};

class Pass {
 public:
  virtual ~Pass() = default;
  // Rewrites the graph; returns how many rewrites it applied (0 = nothing changed).
  virtual Result<int64_t> Run(PassContext& ctx) = 0;
};

struct PassInfo {
  std::string name;         // a verb on the graph: "eliminate_identity"
  Level level;
  std::string description;
  // Fused operators the pass emits; it runs only when the target allows at least one of them
  // (empty: standard ONNX, always allowed).
  std::vector<std::string> emits;
  int order = 0;            // tiebreak within its level (lower runs first)
  std::function<std::unique_ptr<Pass>()> factory;
};

class PassRegistry {
 public:
  static PassRegistry& Get();
  void Register(PassInfo info);
  // Declares that `pass` runs after `other` (both of one level).
  void AddAfter(const std::string& pass, const std::string& other);
  const PassInfo* Find(const std::string& name) const;
  // The passes `name` must run after (GRAPHOPT_PASS_AFTER).
  std::vector<std::string> After(const std::string& name) const;
  // All passes by level, then in an order that honours every declared dependency, ties broken
  // by (order, name). With broken dependencies (see Check) the order is (level, order, name).
  std::vector<const PassInfo*> All() const;
  // Fails naming the problem when a dependency names an unknown pass or one of another level,
  // or when dependencies form a cycle.
  Status Check() const;

 private:
  Result<std::vector<const PassInfo*>> Ordered() const;
  std::vector<PassInfo> passes_;
  std::vector<std::pair<std::string, std::string>> after_;  // (pass, runs after this one)
};

struct PassRegistrar {
  explicit PassRegistrar(PassInfo info) { PassRegistry::Get().Register(std::move(info)); }
  PassRegistrar(const char* pass, const char* other) { PassRegistry::Get().AddAfter(pass, other); }
};

}  // namespace graphopt

#define GRAPHOPT_PASS_CONCAT2(a, b) a##b
#define GRAPHOPT_PASS_CONCAT(a, b) GRAPHOPT_PASS_CONCAT2(a, b)
// GRAPHOPT_REGISTER_PASS(EliminateIdentity, "eliminate_identity", kBasic, 10, "...", {});
#define GRAPHOPT_REGISTER_PASS(Class, name, level, order, description, ...)                 \
  static const ::graphopt::PassRegistrar GRAPHOPT_PASS_CONCAT(pass_registrar_, __COUNTER__)( \
      ::graphopt::PassInfo{name, ::graphopt::Level::level, description,                      \
                           std::vector<std::string>{__VA_ARGS__}, order,                     \
                           [] { return std::unique_ptr<::graphopt::Pass>(new Class()); }})
// GRAPHOPT_PASS_AFTER("decompose_batchnorm", "fuse_conv_batchnorm"): the first runs after the
// second in every iteration (both of one level; checked for cycles, shown by `graphopt passes`).
#define GRAPHOPT_PASS_AFTER(pass, other)                                                     \
  static const ::graphopt::PassRegistrar GRAPHOPT_PASS_CONCAT(pass_after_, __COUNTER__)(pass, \
                                                                                       other)
