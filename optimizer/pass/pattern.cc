#include "optimizer/pass/pattern.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt::pattern {

Pattern Pattern::Where(std::function<bool(const ir::Node*)> predicate) && {
  predicates_.push_back(std::move(predicate));
  return std::move(*this);
}

Pattern Pattern::IgnoreExtraInputs() && {
  extra_inputs_ = true;
  return std::move(*this);
}

Pattern Pattern::InDomain(std::string domain) && {
  domain_ = domain == "ai.onnx" ? "" : std::move(domain);
  return std::move(*this);
}

Pattern Pattern::AtOutput(int index) && {
  output_ = index;
  return std::move(*this);
}

const Pattern& PerOpset::At(int64_t opset) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& slot = built_[opset];
  if (!slot) slot = std::make_unique<Pattern>(build_(opset));
  return *slot;
}

Pattern Any(std::string name) {
  Pattern p;
  p.kind_ = Pattern::Kind::kAny;
  p.name_ = std::move(name);
  return p;
}

Pattern Const(std::string name) {
  Pattern p;
  p.kind_ = Pattern::Kind::kConst;
  p.name_ = std::move(name);
  return p;
}

Pattern Scalar(double value, double tolerance, std::string name) {
  Pattern p;
  p.kind_ = Pattern::Kind::kScalar;
  p.value_ = value;
  p.tolerance_ = tolerance;
  p.name_ = std::move(name);
  return p;
}

Pattern Op(std::string op, std::vector<Pattern> inputs, std::string name) {
  Pattern p;
  p.kind_ = Pattern::Kind::kOp;
  p.op_ = std::move(op);
  p.inputs_ = std::move(inputs);
  p.name_ = std::move(name);
  return p;
}

Pattern OneOf(std::vector<Pattern> alternatives) {
  Pattern p;
  p.kind_ = Pattern::Kind::kOneOf;
  p.inputs_ = std::move(alternatives);
  return p;
}

ir::Value* Match::value(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? nullptr : it->second;
}

ir::Node* Match::node(const std::string& name) const {
  auto it = nodes.find(name);
  return it == nodes.end() ? nullptr : it->second;
}

double Match::scalar(const std::string& name) const {
  const Tensor* t = ConstantValue(value(name));
  return t && t->size() == 1 ? t->GetDouble(0) : std::nan("");
}

// Backtracking match in continuation style: each step binds what it matched, calls the rest
// of the match (`next`), and undoes its bindings if the rest fails. That makes swapped operands
// and alternatives complete: a choice deep inside one operand is revisited when a later
// operand cannot match under it.
class Matcher {
 public:
  using Next = std::function<bool()>;

  explicit Matcher(Match& m) : m_(m) {}

  bool Run(const Pattern& p, ir::Value* v, const Next& next) {
    switch (p.kind_) {
      case Pattern::Kind::kAny:
        return v && Bind(p.name_, v, next);
      case Pattern::Kind::kConst:
        return IsConstant(v) && Bind(p.name_, v, next);
      case Pattern::Kind::kScalar: {
        const Tensor* t = ConstantValue(v);
        if (!t || t->size() != 1 || t->rank() > 1 || t->dtype() == DataType::kString) return false;
        if (!(std::fabs(t->GetDouble(0) - p.value_) <= p.tolerance_)) return false;
        return Bind(p.name_, v, next);
      }
      case Pattern::Kind::kOneOf:
        for (const Pattern& alt : p.inputs_) {
          if (Run(alt, v, next)) return true;
        }
        return false;
      case Pattern::Kind::kOp:
        return RunOp(p, v, next);
    }
    return false;
  }

 private:
  bool Bind(const std::string& name, ir::Value* v, const Next& next) {
    if (name.empty()) return next();
    auto it = m_.values.find(name);
    if (it != m_.values.end()) return it->second == v && next();
    m_.values[name] = v;
    if (next()) return true;
    m_.values.erase(name);
    return false;
  }

  bool RunOp(const Pattern& p, ir::Value* v, const Next& next) {
    if (!v || !v->producer() || v->producer_index() != p.output_) return false;
    ir::Node* n = v->producer();
    const bool domain_ok = p.domain_.empty() ? n->is_onnx_domain() : n->domain() == p.domain_;
    if (!domain_ok || n->op_type() != p.op_) return false;
    const size_t want = p.inputs_.size();
    if (n->inputs().size() < want || (!p.extra_inputs_ && n->inputs().size() != want)) return false;
    for (size_t i = 0; i < want; ++i) {
      if (!n->input(i)) return false;
    }
    for (const auto& pred : p.predicates_) {
      if (!pred(n)) return false;
    }
    if (!p.name_.empty()) {
      auto it = m_.nodes.find(p.name_);
      if (it != m_.nodes.end() && it->second != n) return false;
    }
    const bool fresh_name = !p.name_.empty() && !m_.nodes.count(p.name_);
    const bool fresh_node = std::find(m_.matched.begin(), m_.matched.end(), n) == m_.matched.end();
    if (fresh_name) m_.nodes[p.name_] = n;
    if (fresh_node) m_.matched.push_back(n);
    std::vector<std::vector<size_t>> orders;
    std::vector<size_t> identity(want);
    for (size_t i = 0; i < want; ++i) identity[i] = i;
    orders.push_back(identity);
    if (want == 2 && (p.op_ == "Add" || p.op_ == "Mul")) orders.push_back({1, 0});
    for (const auto& order : orders) {
      if (RunInputs(p, n, order, 0, next)) return true;
    }
    if (fresh_node) m_.matched.pop_back();
    if (fresh_name) m_.nodes.erase(p.name_);
    return false;
  }

  bool RunInputs(const Pattern& p, ir::Node* n, const std::vector<size_t>& order, size_t i,
                 const Next& next) {
    if (i == order.size()) return next();
    return Run(p.inputs_[i], n->input(order[i]),
               [&] { return RunInputs(p, n, order, i + 1, next); });
  }

  Match& m_;
};

std::optional<Match> MatchValue(const Pattern& p, ir::Value* v) {
  Match m;
  Matcher matcher(m);
  if (!matcher.Run(p, v, [] { return true; })) return std::nullopt;
  return m;
}

bool IsSelfContained(const Match& m, const ir::Node* root) {
  std::unordered_set<const ir::Node*> inside(m.matched.begin(), m.matched.end());
  for (const ir::Node* n : m.matched) {
    if (n == root) continue;
    for (const ir::Value* out : n->outputs()) {
      if (!out) continue;
      if (out->is_graph_output()) return false;
      for (const ir::Use& u : out->uses()) {
        if (!inside.count(u.node)) return false;
      }
    }
  }
  return true;
}

std::vector<std::string> NodeNames(const std::vector<ir::Node*>& nodes) {
  std::vector<std::string> names;
  for (const ir::Node* n : nodes) names.push_back(n->name().empty() ? n->op_type() : n->name());
  return names;
}

ir::Node* ReplaceWithFused(Rewriter& rw, ir::Node* root, const std::string& op,
                           const std::string& domain, const std::vector<ir::Value*>& inputs,
                           const ir::Node* attributes_from) {
  const std::string hint = root->name().empty() ? op : root->name() + "_" + op;
  ir::Node* fused = rw.CreateNode(op, inputs, 1, hint, domain);
  if (attributes_from) ir::CopyPlainAttributes(*attributes_from, fused);
  fused->output(0)->type() = root->output(0)->type();
  if (!rw.ReplaceNode(root, {fused->output(0)})) {
    rw.Erase(fused);
    return nullptr;
  }
  return fused;
}

bool IsFloatValue(const ir::Value* v) {
  if (!v) return false;
  const DataType t = v->elem_type();
  return t == DataType::kFloat || t == DataType::kFloat16 || t == DataType::kBfloat16 ||
         t == DataType::kDouble;
}

std::optional<std::pair<double, double>> ClipBounds(const ir::Node* clip, int64_t opset) {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  if (opset < 11) {
    lo = clip->GetFloat("min", std::numeric_limits<float>::lowest());
    hi = clip->GetFloat("max", std::numeric_limits<float>::max());
    return std::make_pair(lo, hi);
  }
  for (size_t i : {size_t{1}, size_t{2}}) {
    const ir::Value* v = clip->input(i);
    if (!v) continue;
    const Tensor* t = ConstantValue(v);
    if (!t || t->size() != 1) return std::nullopt;
    (i == 1 ? lo : hi) = t->GetDouble(0);
  }
  return std::make_pair(lo, hi);
}

bool ReducesLastAxis(const ir::Node* reduce_mean, int64_t rank) {
  if (reduce_mean->GetInt("keepdims", 1) != 1) return false;
  std::vector<int64_t> axes;
  if (reduce_mean->HasAttr("axes")) {
    axes = reduce_mean->GetInts("axes");
  } else if (reduce_mean->input(1)) {
    auto c = ConstantInts(reduce_mean->input(1));
    if (!c) return false;
    axes = *c;
  }
  if (axes.size() != 1) return false;  // none means all axes
  return axes[0] == -1 || (rank > 0 && axes[0] == rank - 1);
}

}  // namespace graphopt::pattern

