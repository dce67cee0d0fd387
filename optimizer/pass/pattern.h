// A small declarative pattern matcher for the fusion rules: a pattern is a tree of operators over
// named values and constants, matched backwards from a root value, so each fusion states its
// shape once instead of walking producers by hand. Rules run on the driver of rule.h.
#pragma once

#include <functional>
#include <mutex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/pass/pass.h"
#include "optimizer/pass/rewriter.h"
#include "optimizer/pass/rule.h"

namespace graphopt::pattern {

class Pattern {
 public:
  enum class Kind { kAny, kConst, kScalar, kOp, kOneOf };

  // Adds a condition on the matched operator node (attributes, axes...).
  Pattern Where(std::function<bool(const ir::Node*)> predicate) &&;
  // Lets the operator have more inputs than the pattern lists (Clip's optional bounds, read by
  // a Where predicate instead).
  Pattern IgnoreExtraInputs() &&;
  // The operator's domain ("com.microsoft"); default: the ONNX domain ("" or "ai.onnx").
  Pattern InDomain(std::string domain) &&;
  // The value is the operator's output `index` (default 0).
  Pattern AtOutput(int index) &&;

 private:
  friend Pattern Any(std::string);
  friend Pattern Const(std::string);
  friend Pattern Scalar(double, double, std::string);
  friend Pattern Op(std::string, std::vector<Pattern>, std::string);
  friend Pattern OneOf(std::vector<Pattern>);
  friend class Matcher;

  Kind kind_ = Kind::kAny;
  std::string name_;  // binding name ("" for none)
  std::string op_;
  std::vector<Pattern> inputs_;  // operator inputs or OneOf alternatives
  double value_ = 0, tolerance_ = 0;
  bool extra_inputs_ = false;
  std::string domain_;  // "" = the ONNX domain
  int output_ = 0;
  std::vector<std::function<bool(const ir::Node*)>> predicates_;
};

// Any value. The first leaf named `name` binds it; later leaves of that name must see the same
// value (so x*Sigmoid(x) needs one x).
Pattern Any(std::string name);
// A constant (initializer or Constant node), bound to `name` when given.
Pattern Const(std::string name = "");
// A constant holding exactly one element (rank 0 or 1) within `tolerance` of `value`.
Pattern Scalar(double value, double tolerance = 0, std::string name = "");
// An operator whose output 0 is the value (see AtOutput), of the default domain (see InDomain),
// with exactly these inputs (none omitted). Add and Mul also match with their two operands
// swapped. `name` binds the node.
Pattern Op(std::string op, std::vector<Pattern> inputs, std::string name = "");
// The first alternative that leads to a complete match.
Pattern OneOf(std::vector<Pattern> alternatives);

struct Match {
  std::map<std::string, ir::Value*> values;
  std::map<std::string, ir::Node*> nodes;
  std::vector<ir::Node*> matched;  // every operator node of the match, root first, no repeats

  ir::Value* value(const std::string& name) const;
  ir::Node* node(const std::string& name) const;
  // The single element of the constant bound to `name` (Scalar or Const leaves).
  double scalar(const std::string& name) const;
};

// Matches `p` against the value `v`, trying operand orders and alternatives until one fits.
std::optional<Match> MatchValue(const Pattern& p, ir::Value* v);

// A pattern that depends on the model's opset (Clip's bounds moved from attributes to inputs),
// built once per opset on first use and then shared (thread-safe):
//   static pattern::PerOpset kPattern(HardSwishPattern);
//   auto m = pattern::MatchValue(kPattern.At(ctx.opset()), root->output(0));
class PerOpset {
 public:
  explicit PerOpset(std::function<Pattern(int64_t)> build) : build_(std::move(build)) {}
  const Pattern& At(int64_t opset);

 private:
  std::function<Pattern(int64_t)> build_;
  std::mutex mu_;
  std::map<int64_t, std::unique_ptr<Pattern>> built_;
};

// True when every matched node but `root` feeds only matched nodes and no graph output, so a
// fused operator replacing `root` may take all of them away.
bool IsSelfContained(const Match& m, const ir::Node* root);

// Names of the matched nodes (empty names replaced by the op type), for the report.
std::vector<std::string> NodeNames(const std::vector<ir::Node*>& nodes);

// Creates `domain.op` with `inputs` and one output typed like `root`'s output 0, makes every
// reader of `root`'s output read it instead (keeping a graph output's name) and deletes `root`
// and whatever only it fed. Returns nullptr, graph unchanged, when the output cannot be taken
// over (see ReplaceValue). With `attributes_from`, the new node first takes that node's
// attributes (before the replacement may delete it).
ir::Node* ReplaceWithFused(Rewriter& rw, ir::Node* root, const std::string& op,
                           const std::string& domain, const std::vector<ir::Value*>& inputs,
                           const ir::Node* attributes_from = nullptr);

// True for float, float16, bfloat16 and double values.
bool IsFloatValue(const ir::Value* v);

// Clip's bounds from its inputs (opset >= 11) or attributes (before): absent bounds are
// -inf/+inf; nullopt when a bound is not a constant.
std::optional<std::pair<double, double>> ClipBounds(const ir::Node* clip, int64_t opset);

// ReduceMean over the last axis only with kept dims, its axes given as an attribute or (opset
// 18) as a constant input; `rank` is the input's rank (-1 when unknown: only -1 is accepted).
bool ReducesLastAxis(const ir::Node* reduce_mean, int64_t rank);

}  // namespace graphopt::pattern
