#include "optimizer/if_branch_values.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// One step from the input towards the condition, applied to a candidate value in double.
struct Step {
  enum Kind { kCast, kNot, kCompare } kind = kCast;
  DataType to = DataType::kUndefined;  // kCast
  std::string op;                      // kCompare: Equal, Greater...
  double constant = 0;                 // kCompare
  bool constant_left = false;          // kCompare: Less(c, x) reads c < x
};

// The If's condition as a function of one graph input: steps in the order they apply.
struct Chain {
  const ir::Value* input = nullptr;
  std::vector<Step> steps;
  std::vector<double> constants;
};

// Inside a subgraph, a captured value is a reference by name: the value itself is defined in
// an enclosing graph.
const ir::Value* Resolve(const ir::Value* v) {
  while (v && v->is_outer_ref()) {
    const ir::Value* outer = nullptr;
    for (const ir::Graph* g = v->graph()->parent(); g && !outer; g = g->parent()) {
      outer = g->FindValue(v->name());
    }
    v = outer;
  }
  return v;
}

// `x` cast to `to` when the cast represents it exactly (nullopt otherwise: which branch such a
// value takes is not something to claim). Casting to bool is x != 0.
std::optional<double> CastExact(double x, DataType to) {
  if (to == DataType::kBool) return x != 0 ? 1.0 : 0.0;
  if (x != std::floor(x)) return std::nullopt;  // candidates are integers; keep them so
  double lo = 0, hi = 0;
  switch (to) {
    case DataType::kInt8:
      lo = -128, hi = 127;
      break;
    case DataType::kUint8:
      lo = 0, hi = 255;
      break;
    case DataType::kInt16:
      lo = -32768, hi = 32767;
      break;
    case DataType::kUint16:
      lo = 0, hi = 65535;
      break;
    case DataType::kInt32:
      lo = -2147483648.0, hi = 2147483647.0;
      break;
    case DataType::kUint32:
      lo = 0, hi = 4294967295.0;
      break;
    // Beyond 2^53 doubles skip integers; no useful branch constant lives there.
    case DataType::kInt64:
      lo = -9007199254740992.0, hi = 9007199254740992.0;
      break;
    case DataType::kUint64:
      lo = 0, hi = 9007199254740992.0;
      break;
    case DataType::kDouble:
      return x;
    case DataType::kFloat:
      return static_cast<double>(static_cast<float>(x)) == x ? std::optional<double>(x)
                                                             : std::nullopt;
    case DataType::kFloat16:
      return HalfToFloat(FloatToHalf(static_cast<float>(x))) == x ? std::optional<double>(x)
                                                                  : std::nullopt;
    case DataType::kBfloat16:
      return Bfloat16ToFloat(FloatToBfloat16(static_cast<float>(x))) == x ? std::optional<double>(x)
                                                                          : std::nullopt;
    default:
      return std::nullopt;
  }
  if (x < lo || x > hi) return std::nullopt;
  return x;
}

bool Compare(const std::string& op, double a, double b) {
  if (op == "Equal") return a == b;
  if (op == "Greater") return a > b;
  if (op == "Less") return a < b;
  if (op == "GreaterOrEqual") return a >= b;
  return a <= b;  // LessOrEqual
}

bool IsComparison(const ir::Node* n) {
  for (const char* op : {"Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual"}) {
    if (n->Is(op)) return true;
  }
  return false;
}

bool IsShapeOnly(const ir::Node* n) {
  for (const char* op : {"Identity", "Squeeze", "Unsqueeze", "Reshape", "Flatten"}) {
    if (n->Is(op)) return true;
  }
  return false;
}

// The single element of a constant input, or nullopt.
std::optional<double> ScalarConstant(const ir::Value* v) {
  const Tensor* t = ConstantValue(Resolve(v));
  if (!t || t->size() != 1 || t->dtype() == DataType::kString) return std::nullopt;
  return t->GetDouble(0);
}

// Walks back from the condition to a graph input, collecting the steps; an empty `why` means
// the chain is complete.
Chain Trace(const ir::Value* cond, std::string* why) {
  Chain chain;
  std::vector<Step> reversed;
  const ir::Value* v = cond;
  for (int depth = 0; depth < 64; ++depth) {
    v = Resolve(v);
    if (!v) {
      *why = "the condition reads a value no enclosing graph defines";
      return chain;
    }
    if (v->is_graph_input()) {
      if (v->graph()->parent() != nullptr) {
        *why = "the condition depends on '" + v->name() + "', an input of a Loop/Scan body";
      } else if (v->has_initializer()) {
        *why = "the condition depends on '" + v->name() + "', an input with an initializer";
      } else if (!IsInteger(v->elem_type()) && v->elem_type() != DataType::kBool) {
        *why = "the condition depends on '" + v->name() + "', an input of type " +
               std::string(DataTypeName(v->elem_type())) +
               " (only integer and bool inputs are set)";
      } else {
        chain.input = v;
        chain.steps.assign(reversed.rbegin(), reversed.rend());
      }
      return chain;
    }
    const ir::Node* p = v->producer();
    if (!p || ConstantValue(v)) {
      *why = "the condition does not depend on a graph input (a constant)";
      return chain;
    }
    Step step;
    if (p->Is("Cast")) {
      step.to = static_cast<DataType>(p->GetInt("to", 0));
      reversed.push_back(step);
      v = p->input(0);
    } else if (p->Is("Not")) {
      step.kind = Step::kNot;
      reversed.push_back(step);
      v = p->input(0);
    } else if (IsShapeOnly(p)) {
      v = p->input(0);
    } else if (IsComparison(p) && p->inputs().size() == 2) {
      auto right = ScalarConstant(p->input(1));
      auto left = ScalarConstant(p->input(0));
      if (right.has_value() == left.has_value()) {
        *why = "the condition's " + p->op_type() + " does not compare a value with a constant";
        return chain;
      }
      step.kind = Step::kCompare;
      step.op = p->op_type();
      step.constant_left = left.has_value();
      step.constant = left ? *left : *right;
      chain.constants.push_back(step.constant);
      reversed.push_back(step);
      v = p->input(left ? 1 : 0);
    } else {
      *why = "the condition is computed by " + p->op_type() + " ('" + p->name() + "')";
      return chain;
    }
  }
  *why = "the condition's chain of operators is too long";
  return chain;
}

// The branch the If takes when `chain.input` holds `x` everywhere: nullopt when a Cast on the
// way does not represent it exactly or the input's type cannot hold it.
std::optional<bool> Evaluate(const Chain& chain, double x) {
  std::optional<double> v = CastExact(x, chain.input->elem_type());
  if (!v) return std::nullopt;
  for (const Step& s : chain.steps) {
    switch (s.kind) {
      case Step::kCast:
        v = CastExact(*v, s.to);
        if (!v) return std::nullopt;
        break;
      case Step::kNot:
        v = *v == 0 ? 1.0 : 0.0;
        break;
      case Step::kCompare:
        v = (s.constant_left ? Compare(s.op, s.constant, *v) : Compare(s.op, *v, s.constant)) ? 1.0
                                                                                              : 0.0;
        break;
    }
  }
  return *v != 0;
}

// Candidates around each constant (the constant itself first: an Equal's then value), then 0
// and 1 (a bool input, or a condition that is the input itself).
std::vector<double> Candidates(const Chain& chain) {
  std::vector<double> out;
  auto add = [&out](double x) {
    if (std::isfinite(x) && std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
  };
  for (double c : chain.constants) {
    const double r = std::round(c), f = std::floor(c), u = std::ceil(c);
    for (double x : {r, r + 1, r - 1, f, u, f - 1, u + 1}) add(x);
  }
  add(0);
  add(1);
  return out;
}

IfBranchCoverage Derive(const ir::Node* n, const std::string& name) {
  IfBranchCoverage out;
  out.node = name;
  std::string why;
  Chain chain = Trace(n->input(0), &why);
  if (!why.empty()) {
    out.reason = why;
    return out;
  }
  out.input = chain.input->name();
  std::optional<double> then_value, else_value;
  for (double x : Candidates(chain)) {
    std::optional<bool> taken = Evaluate(chain, x);
    if (!taken) continue;
    if (*taken && !then_value) then_value = x;
    if (!*taken && !else_value) else_value = x;
  }
  if (!then_value || !else_value) {
    out.reason = std::string("no value of '") + out.input + "' near the constants takes the " +
                 (then_value ? "else" : "then") + " branch";
    return out;
  }
  out.then_value = static_cast<int64_t>(*then_value);
  out.else_value = static_cast<int64_t>(*else_value);
  out.both_branches = true;
  return out;
}

void Walk(const ir::Graph& graph, int* unnamed, std::vector<IfBranchCoverage>* out) {
  for (const ir::Node* n : graph.nodes()) {
    if (n->Is("If")) {
      const std::string name = n->name().empty() ? "If#" + std::to_string((*unnamed)++) : n->name();
      out->push_back(Derive(n, name));
    }
    for (const ir::Graph* g : n->Subgraphs()) Walk(*g, unnamed, out);
  }
}

}  // namespace

std::vector<IfBranchCoverage> DeriveIfBranchValues(const ir::Graph& graph) {
  std::vector<IfBranchCoverage> out;
  int unnamed = 0;
  Walk(graph, &unnamed, &out);
  return out;
}

}  // namespace graphopt
