// The one rule type and the one driver. A rule is a function for one root operator (and
// domain) that either rewrites through the Rewriter and reports success, or changes nothing and
// says why not (MatchFailure). RulePass runs a set of rules with a worklist to a fixed point:
// every node once, then only the nodes a rewrite created, erased around or rewired, so a
// rewrite costs what it touches, never a walk of the whole graph.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "optimizer/pass/pass.h"
#include "optimizer/pass/rewriter.h"

namespace graphopt {

// The outcome of one rule application: applied, or not with an optional reason.
class [[nodiscard]] RewriteResult {
 public:
  // `return false` is a failure without a reason, `return true` a rewrite.
  RewriteResult(bool applied) : applied_(applied) {}  // NOLINT(google-explicit-constructor)
  bool applied() const { return applied_; }
  const std::string& reason() const { return reason_; }

 private:
  friend RewriteResult MatchFailure(std::string reason);
  bool applied_;
  std::string reason_;
};

// A rule that does not apply and says why ("epsilon is not constant"); the driver counts the
// reasons per rule in the pass record (the raw material of a "why was this not fused" report).
inline RewriteResult MatchFailure(std::string reason) {
  RewriteResult r(false);
  r.reason_ = std::move(reason);
  return r;
}

using RuleFn = std::function<RewriteResult(PassContext& ctx, Rewriter& rw, ir::Node* root)>;

struct Rule {
  std::string name;         // counted in the report: "gelu_erf"
  std::string root_op;      // "Mul"
  std::string root_domain;  // "" for the default domain
  RuleFn apply;
  // Operators ("com.microsoft.Gelu", "HardSwish") the rule creates that a target must allow
  // (at the model's opset); the driver drops the rule when the target allows none of them.
  // Empty: standard operators only, always allowed.
  std::vector<std::string> emits = {};
  // The emitted operator carries the root operator as its `activation` (FusedConv + Relu):
  // the target must allow that activation on it.
  bool emits_activation = false;
  // Rules of one root are tried by decreasing benefit (then in the order given).
  int benefit = 1;
};

// A pass made of rules, run by the worklist driver.
class RulePass : public Pass {
 public:
  explicit RulePass(std::vector<Rule> rules);
  Result<int64_t> Run(PassContext& ctx) override;
  const std::vector<Rule>& rules() const { return rules_; }

 private:
  std::vector<Rule> rules_;
};

// True when `target` may carry `op` ("domain.Op" or a default-domain "Op") in a model whose
// default-domain opset is `opset`.
bool TargetMayEmit(const TargetProfile& target, const std::string& op, int64_t opset);

// Whether `target` keeps `rule` in a model of default-domain opset `opset`: it allows one of
// the rule's emitted operators (or, for emits_activation, the root as their activation).
// RulePass runs only such rules; the report lists the others as dropped.
bool RuleAllowed(const Rule& rule, const TargetProfile& target, int64_t opset);

// Adds an opset import for every non-default domain the graph's nodes use and the model does
// not import yet, at the version the target profile names (ONNX Runtime and shape inference
// refuse nodes of unimported domains).
void ImportFusedDomains(PassContext& ctx);

}  // namespace graphopt
