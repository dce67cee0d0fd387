#include "optimizer/passes/basic/push_transposes.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <unordered_map>

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/transpose_util.h"

namespace graphopt {

namespace {

constexpr int kMaxChain = 32;

enum class Family {
  kElementwise,
  kReduce,
  kArgReduce,
  kConcat,
  kSplit,
  kPad,
  kSlice,
  kResize,
  kMatMul
};

std::optional<Family> FamilyOf(const ir::Node* n) {
  static const std::set<std::string> kElementwise = {
      "Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Cos", "Cosh", "Elu",
      "Erf", "Exp", "Floor", "HardSigmoid", "HardSwish", "IsInf", "IsNaN", "LeakyRelu", "Log",
      "Neg", "Not", "Reciprocal", "Relu", "Round", "Selu", "Sigmoid", "Sign", "Sin", "Sinh",
      "Softplus", "Softsign", "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Cast", "Celu", "Mish",
      "Gelu", "Clip", "Identity", "Add", "Sub", "Mul", "Div", "Pow", "Mod", "Max", "Min",
      "Mean", "Sum", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or",
      "Xor", "BitShift", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "PRelu", "Where"};
  static const std::set<std::string> kReduce = {
      "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
      "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};
  if (!n->is_onnx_domain()) return std::nullopt;
  const std::string& op = n->op_type();
  if (kElementwise.count(op)) return Family::kElementwise;
  if (kReduce.count(op)) return Family::kReduce;
  if (op == "ArgMax" || op == "ArgMin") return Family::kArgReduce;
  if (op == "Concat") return Family::kConcat;
  if (op == "Split") return Family::kSplit;
  if (op == "Pad") return Family::kPad;
  if (op == "Slice") return Family::kSlice;
  if (op == "Resize") return Family::kResize;
  if (op == "MatMul") return Family::kMatMul;
  return std::nullopt;
}

// What becomes of one input of a node the Transpose moves past.
struct InputPlan {
  enum Kind { kKeep, kData, kConstant, kSource, kTranspose } kind = kKeep;
  Tensor constant;               // kConstant: the new initializer
  ir::Value* source = nullptr;   // kSource: read instead; kTranspose: transposed by `perm`
  Perm perm;
};

// One node the Transpose moves past: how its copy reads its inputs, which attributes change,
// and the perm relating each old output to the copy's (old = Transpose(new, out_perms[i])).
struct Step {
  ir::Node* node = nullptr;
  std::vector<InputPlan> inputs;
  std::vector<std::pair<std::string, std::vector<int64_t>>> ints_attrs;
  std::vector<std::pair<std::string, int64_t>> int_attrs;
  std::vector<Perm> out_perms;
  int cost = 0;  // Transposes added minus removed on the other inputs
};

// The node reading `v` when exactly one node does (possibly at several inputs) and `v` is no
// graph output.
ir::Node* SoleReader(const ir::Value* v) {
  if (v->is_graph_output() || v->uses().empty()) return nullptr;
  ir::Node* reader = v->uses()[0].node;
  for (const ir::Use& u : v->uses()) {
    if (u.node != reader || u.index < 0) return nullptr;
  }
  return reader;
}

// New position of each listed axis of the transposed tensor in the untransposed one.
std::optional<std::vector<int64_t>> MapAxes(const std::vector<int64_t>& axes, const Perm& p) {
  std::vector<int64_t> out;
  for (int64_t a : axes) {
    auto axis = NormalizeAxis(a, static_cast<int64_t>(p.size()));
    if (!axis) return std::nullopt;
    out.push_back(p[static_cast<size_t>(*axis)]);
  }
  return out;
}

// The perm between the outputs of a reduction over `axes` (of the transposed tensor) without
// keepdims, before and after the push: the surviving axes keep their relative order.
Perm ReducedPerm(const Perm& p, const std::vector<int64_t>& axes) {
  const auto rank = static_cast<int64_t>(p.size());
  std::vector<bool> reduced_y(p.size(), false), reduced_x(p.size(), false);
  for (int64_t a : axes) {
    const int64_t axis = *NormalizeAxis(a, rank);
    reduced_y[static_cast<size_t>(axis)] = true;
    reduced_x[static_cast<size_t>(p[static_cast<size_t>(axis)])] = true;
  }
  std::vector<int64_t> position(p.size(), -1);  // x axis -> index among surviving x axes
  int64_t k = 0;
  for (int64_t j = 0; j < rank; ++j) {
    if (!reduced_x[static_cast<size_t>(j)]) position[static_cast<size_t>(j)] = k++;
  }
  Perm out;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced_y[static_cast<size_t>(i)]) out.push_back(position[static_cast<size_t>(p[static_cast<size_t>(i)])]);
  }
  return out;
}

// new[p[i]] = old[i] for a 1-D constant with one entry per axis (pads halves, scales, sizes).
std::optional<Tensor> ReorderPerAxis(const Tensor& t, const Perm& p) {
  if (t.dtype() == DataType::kString || t.rank() != 1 ||
      t.size() != static_cast<int64_t>(p.size())) {
    return std::nullopt;
  }
  const size_t es = ElementSize(t.dtype());
  std::string bytes(t.nbytes(), '\0');
  const char* src = static_cast<const char*>(t.raw());
  for (size_t i = 0; i < p.size(); ++i) {
    std::memcpy(&bytes[static_cast<size_t>(p[i]) * es], src + i * es, es);
  }
  return Tensor(t.dtype(), t.shape(), std::move(bytes));
}

InputPlan ConstantInput(Tensor t) {
  InputPlan plan;
  plan.kind = InputPlan::kConstant;
  plan.constant = std::move(t);
  return plan;
}

// Plans an operand other than the moved one of an elementwise operator (`broadcast`) or a
// Concat: it must be brought into the untransposed layout. A constant is permuted into a new
// initializer, a Transpose feeding only this node merges with the inverse, anything else gets
// an inverse Transpose (cost +1).
std::optional<InputPlan> PlanOperand(PassContext& ctx, ir::Value* u, const Perm& p,
                                     bool broadcast, int* cost, std::string* why) {
  InputPlan plan;
  if (!u) return plan;
  const auto rank = static_cast<int64_t>(p.size());
  const Perm inverse = InversePerm(p);
  if (const Tensor* c = ConstantValue(u)) {
    if (c->size() == 1 && c->rank() <= rank && (broadcast || c->rank() == rank)) return plan;
    if (c->rank() > rank || (!broadcast && c->rank() != rank)) {
      *why = "operand of another rank";
      return std::nullopt;
    }
    if (static_cast<int64_t>(c->nbytes()) > ctx.options.fold_size_cap_bytes) {
      *why = "constant operand above the folding size cap";
      return std::nullopt;
    }
    Shape full(static_cast<size_t>(rank - c->rank()), 1);  // broadcasting prepends ones
    full.insert(full.end(), c->shape().begin(), c->shape().end());
    auto permuted = PermuteTensor(c->Reshaped(full), inverse);
    if (!permuted) {
      *why = "string constant";
      return std::nullopt;
    }
    return ConstantInput(std::move(*permuted));
  }
  const auto& shape = u->type().shape;
  if (!shape) {
    *why = "operand rank unknown";
    return std::nullopt;
  }
  const auto urank = static_cast<int64_t>(shape->size());
  const bool ones = std::all_of(shape->begin(), shape->end(),
                                [](const ir::Dim& d) { return d.known() && d.value == 1; });
  if (broadcast && urank <= rank && ones) return plan;  // broadcasts the same either way
  if (urank != rank) {
    *why = "operand of another rank";
    return std::nullopt;
  }
  ir::Node* t = u->producer();
  const auto q = TransposePerm(t);
  if (q && q->size() == p.size() && SoleReader(u) && u->uses().size() == 1) {
    const Perm merged = ComposePerms(*q, inverse);
    plan.source = t->input(0);
    if (IsIdentityPerm(merged)) {
      plan.kind = InputPlan::kSource;
      *cost -= 1;
    } else {
      plan.kind = InputPlan::kTranspose;
      plan.perm = merged;
    }
    return plan;
  }
  plan.kind = InputPlan::kTranspose;
  plan.source = u;
  plan.perm = inverse;
  *cost += 1;
  return plan;
}

bool CopyableAttributes(const ir::Node* n) {
  for (const ir::Attribute& a : n->attributes()) {
    switch (a.type) {
      case ir::AttrType::kInt:
      case ir::AttrType::kFloat:
      case ir::AttrType::kString:
      case ir::AttrType::kInts:
      case ir::AttrType::kFloats:
      case ir::AttrType::kTensor:
        if (!a.ref_attr_name.empty()) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

// Reductions: axes from the attribute or the constant second input.
// Whether `axes` (of a rank-`rank` tensor) are its last axes.
bool IsTrailing(const std::vector<int64_t>& axes, size_t rank) {
  std::set<int64_t> set;
  for (int64_t a : axes) set.insert(*NormalizeAxis(a, static_cast<int64_t>(rank)));
  return !set.empty() && *set.begin() == static_cast<int64_t>(rank - set.size()) &&
         *set.rbegin() == static_cast<int64_t>(rank) - 1;
}

// A mean over the last axes is kept where it is when the target runs LayerNormalization: moved
// to other axes, a decomposed layer norm no longer fuses (a Transpose costs less than that).
bool PlanReduce(const ir::Node* n, const Perm& p, bool keep_last_axes_mean, Step* step,
                std::string* why) {
  std::optional<std::vector<int64_t>> axes;
  const bool axes_input = !n->HasAttr("axes") && n->input(1);
  if (n->HasAttr("axes")) {
    axes = n->GetInts("axes");
  } else if (axes_input) {
    axes = ConstantInts(n->input(1));
    if (!axes) {
      *why = "axes not constant";
      return false;
    }
  } else {
    axes = std::vector<int64_t>{};
  }
  if (axes->empty()) {
    // Reducing everything leaves ones or a scalar, the same in both layouts.
    step->out_perms = {n->GetInt("noop_with_empty_axes", 0) != 0 ? p : Perm{}};
    return true;
  }
  auto mapped = MapAxes(*axes, p);
  if (!mapped) {
    *why = "axis out of range";
    return false;
  }
  if (n->Is("ReduceMean") && keep_last_axes_mean && IsTrailing(*axes, p.size()) &&
      !IsTrailing(*mapped, p.size())) {
    *why = "mean over the last axes left for fuse_layer_norm";
    return false;
  }
  if (axes_input) {
    step->inputs[1] = ConstantInput(Tensor::Int64s(*mapped));
  } else {
    step->ints_attrs.push_back({"axes", *mapped});
  }
  step->out_perms = {n->GetInt("keepdims", 1) != 0 ? p : ReducedPerm(p, *axes)};
  return true;
}

bool PlanPad(PassContext& ctx, const ir::Node* n, const Perm& p, Step* step, std::string* why) {
  const size_t rank = p.size();
  std::optional<std::vector<int64_t>> pads;
  if (ctx.opset() < 11) {
    pads = n->GetInts("pads");
  } else {
    if (n->input(3)) {
      *why = "Pad with axes";
      return false;
    }
    pads = ConstantInts(n->input(1));
  }
  if (!pads || pads->size() != 2 * rank) {
    *why = "pads not constant";
    return false;
  }
  std::vector<int64_t> mapped(2 * rank);
  for (size_t i = 0; i < rank; ++i) {
    mapped[static_cast<size_t>(p[i])] = (*pads)[i];
    mapped[rank + static_cast<size_t>(p[i])] = (*pads)[rank + i];
  }
  if (ctx.opset() < 11) {
    step->ints_attrs.push_back({"pads", mapped});
  } else {
    step->inputs[1] = ConstantInput(Tensor::Int64s(mapped));
  }
  step->out_perms = {p};
  return true;
}

bool PlanSlice(PassContext& ctx, const ir::Node* n, const Perm& p, Step* step, std::string* why) {
  std::optional<std::vector<int64_t>> axes;
  size_t count = 0;
  if (ctx.opset() < 10) {
    count = n->GetInts("starts").size();
    axes = n->GetInts("axes");
  } else {
    auto starts = StaticShape(n->input(1));
    if (!starts || starts->size() != 1) {
      *why = "starts of unknown length";
      return false;
    }
    count = static_cast<size_t>((*starts)[0]);
    axes = n->input(3) ? ConstantInts(n->input(3)) : std::vector<int64_t>{};
    if (!axes) {
      *why = "axes not constant";
      return false;
    }
  }
  if (axes->empty()) {
    for (size_t i = 0; i < count; ++i) axes->push_back(static_cast<int64_t>(i));
  }
  auto mapped = MapAxes(*axes, p);
  if (!mapped) {
    *why = "axis out of range";
    return false;
  }
  if (ctx.opset() < 10) {
    step->ints_attrs.push_back({"axes", *mapped});
  } else {
    if (step->inputs.size() < 4) step->inputs.resize(4);
    step->inputs[3] = ConstantInput(Tensor::Int64s(*mapped));
  }
  step->out_perms = {p};
  return true;
}

// Only nearest Resize moves: each output element then copies one input element chosen per axis
// independently, so the order of the axes does not matter (no axes attribute, no crop).
bool PlanResize(PassContext& ctx, const ir::Node* n, const Perm& p, Step* step, std::string* why) {
  if (ctx.opset() < 11 || n->GetString("mode", "nearest") != "nearest" ||
      n->GetString("coordinate_transformation_mode", "") == "tf_crop_and_resize" ||
      n->HasAttr("axes") || n->GetString("keep_aspect_ratio_policy", "stretch") != "stretch") {
    *why = "Resize other than nearest over every axis";
    return false;
  }
  for (size_t i : {size_t{2}, size_t{3}}) {
    if (!n->input(i)) continue;
    const Tensor* t = ConstantValue(n->input(i));
    if (!t) {
      *why = "scales or sizes not constant";
      return false;
    }
    if (t->size() == 0) continue;
    auto reordered = ReorderPerAxis(*t, p);
    if (!reordered) {
      *why = "scales or sizes of another rank";
      return false;
    }
    step->inputs[i] = ConstantInput(std::move(*reordered));
  }
  step->out_perms = {p};
  return true;
}

// MatMul(Transpose(x, p), W) with a matrix W multiplies each row (the last axis) by W on its
// own, so it commutes with any perm that leaves the last axis in place: the output carries `p`.
bool PlanMatMul(const ir::Node* n, const Perm& p, Step* step, std::string* why) {
  const auto& w = n->input(1)->type().shape;
  if (!w || w->size() != 2) {
    *why = "MatMul by an operand that is not a matrix";
    return false;
  }
  if (p.back() != static_cast<int64_t>(p.size()) - 1) {
    *why = "MatMul contracts an axis the Transpose moves";
    return false;
  }
  step->out_perms = {p};
  return true;
}

// How `n`, reading the transposed value `data` (perm `p`), runs on the untransposed one instead.
using IsMoved = std::function<bool(const ir::Value*)>;

std::optional<Step> PlanStep(PassContext& ctx, ir::Node* n, const IsMoved& is_moved, const Perm& p,
                             std::string* why) {
  const auto family = FamilyOf(n);
  if (!family) {
    *why = "no rule to move past " + n->op_type();
    return std::nullopt;
  }
  if (!CopyableAttributes(n)) {
    *why = "attribute of an unsupported kind";
    return std::nullopt;
  }
  for (const ir::Value* o : n->outputs()) {
    if (!o) {
      *why = "omitted output";
      return std::nullopt;
    }
  }
  Step step;
  step.node = n;
  step.inputs.resize(n->inputs().size());
  for (size_t i = 0; i < n->inputs().size(); ++i) {
    if (n->input(i) && is_moved(n->input(i))) step.inputs[i].kind = InputPlan::kData;
  }
  const bool operands = *family == Family::kElementwise || *family == Family::kConcat;
  if (!operands || n->Is("PRelu")) {
    // Only the first input is a tensor of the moved layout; the rest are parameters.
    for (size_t i = 1; i < n->inputs().size(); ++i) {
      if (step.inputs[i].kind == InputPlan::kData) {
        *why = "moved value read as a parameter";
        return std::nullopt;
      }
    }
    if (step.inputs[0].kind != InputPlan::kData) {
      *why = "moved value read as a parameter";
      return std::nullopt;
    }
  }
  if (operands) {
    const bool broadcast = *family == Family::kElementwise;
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      if (step.inputs[i].kind == InputPlan::kData) continue;
      auto plan = PlanOperand(ctx, n->input(i), p, broadcast, &step.cost, why);
      if (!plan) return std::nullopt;
      step.inputs[i] = std::move(*plan);
    }
  }
  switch (*family) {
    case Family::kElementwise:
      step.out_perms = {p};
      return step;
    case Family::kConcat:
    case Family::kSplit:
    case Family::kArgReduce: {
      const bool concat = *family == Family::kConcat;
      if (concat && !n->HasAttr("axis")) {
        *why = "Concat without axis";
        return std::nullopt;
      }
      const int64_t axis = n->GetInt("axis", 0);
      auto mapped = MapAxes({axis}, p);
      if (!mapped) {
        *why = "axis out of range";
        return std::nullopt;
      }
      step.int_attrs.push_back({"axis", (*mapped)[0]});
      if (*family == Family::kArgReduce && n->GetInt("keepdims", 1) == 0) {
        step.out_perms = {ReducedPerm(p, {axis})};
      } else {
        step.out_perms.assign(n->outputs().size(), p);
      }
      return step;
    }
    case Family::kReduce:
      if (!PlanReduce(n, p, ctx.MayEmit("LayerNormalization"), &step, why)) return std::nullopt;
      return step;
    case Family::kPad:
      if (!PlanPad(ctx, n, p, &step, why)) return std::nullopt;
      return step;
    case Family::kSlice:
      if (!PlanSlice(ctx, n, p, &step, why)) return std::nullopt;
      return step;
    case Family::kResize:
      if (!PlanResize(ctx, n, p, &step, why)) return std::nullopt;
      return step;
    case Family::kMatMul:
      if (!PlanMatMul(n, p, &step, why)) return std::nullopt;
      return step;
  }
  return std::nullopt;
}

// What ending the push after `step` costs: per output, nothing when the perm became the
// identity, minus the readers that cancel when every reader is a Transpose (they merge with it),
// else one Transpose to restore the layout. `merge[i]` says which outputs merge.
int EndCost(const Step& step, std::vector<bool>* merge) {
  int cost = 0;
  merge->assign(step.out_perms.size(), false);
  for (size_t i = 0; i < step.out_perms.size(); ++i) {
    const Perm& po = step.out_perms[i];
    if (IsIdentityPerm(po)) continue;
    const ir::Value* o = step.node->output(i);
    if (o->uses().empty() && !o->is_graph_output()) continue;
    bool mergeable = !o->is_graph_output();
    int cancelled = 0, cancelled_outputs = 0;
    for (const ir::Use& u : o->uses()) {
      const auto r = u.index == 0 ? TransposePerm(u.node) : std::nullopt;
      if (!r || r->size() != po.size()) {
        mergeable = false;
        break;
      }
      if (IsIdentityPerm(ComposePerms(po, *r))) {
        ++cancelled;
        cancelled_outputs += u.node->output(0)->is_graph_output() ? 1 : 0;
      }
    }
    // Two cancelled readers that are both graph outputs cannot both take the value's place.
    if (mergeable && cancelled_outputs <= 1) {
      (*merge)[i] = true;
      cost -= cancelled;
    } else {
      cost += 1;
    }
  }
  return cost;
}

ir::Node* NewTranspose(Rewriter& rw, ir::Value* in, const Perm& perm) {
  ir::Node* t = rw.CreateNode("Transpose", {in}, 1, "transpose");
  t->SetInts("perm", perm);
  t->output(0)->type() = PermutedType(in->type(), perm);
  return t;
}

// The copy of `step.node` reading the untransposed values (`moved` maps each old value of the
// transposed layout to its new one, and learns the copy's outputs).
ir::Node* BuildCopy(Rewriter& rw, const Step& step,
                    std::unordered_map<const ir::Value*, ir::Value*>* moved) {
  ir::Node* n = step.node;
  rw.consumed()->push_back(n->name());
  std::vector<ir::Value*> inputs;
  for (size_t i = 0; i < step.inputs.size(); ++i) {
    const InputPlan& in = step.inputs[i];
    switch (in.kind) {
      case InputPlan::kKeep:
        inputs.push_back(n->input(i));
        break;
      case InputPlan::kData:
        inputs.push_back(moved->at(n->input(i)));
        break;
      case InputPlan::kConstant:
        inputs.push_back(rw.CreateInitializer(n->name() + "_transposed", in.constant));
        break;
      case InputPlan::kSource:
        inputs.push_back(in.source);
        break;
      case InputPlan::kTranspose:
        inputs.push_back(NewTranspose(rw, in.source, in.perm)->output(0));
        break;
    }
  }
  ir::Node* copy = rw.CreateNode(n->op_type(), inputs, n->outputs().size(), n->name(), n->domain());
  ir::CopyPlainAttributes(*n, copy);
  for (const auto& [name, v] : step.ints_attrs) copy->SetInts(name, v);
  for (const auto& [name, v] : step.int_attrs) copy->SetInt(name, v);
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    const Perm& po = step.out_perms[i];
    const ir::ValueType& type = n->output(i)->type();
    copy->output(i)->type() = IsIdentityPerm(po) ? type : PermutedType(type, InversePerm(po));
    (*moved)[n->output(i)] = copy->output(i);
  }
  return copy;
}

RewriteResult Apply(Rewriter& rw, ir::Node* root, const std::vector<Step>& chain,
                    const std::vector<bool>& merge) {
  std::unordered_map<const ir::Value*, ir::Value*> moved{{root->output(0), root->input(0)}};
  rw.consumed()->push_back(root->name());
  ir::Node* copy = nullptr;
  for (const Step& step : chain) copy = BuildCopy(rw, step, &moved);
  const Step& last = chain.back();
  ir::Node* old = last.node;
  std::vector<ir::Value*> replacements(old->outputs().size(), nullptr);
  bool any_merged = false;
  for (size_t i = 0; i < replacements.size(); ++i) {
    const Perm& po = last.out_perms[i];
    if (IsIdentityPerm(po)) {
      replacements[i] = copy->output(i);
    } else if (merge[i]) {
      any_merged = true;
    } else {
      ir::Node* t = NewTranspose(rw, copy->output(i), po);
      t->output(0)->type() = old->output(i)->type();
      replacements[i] = t->output(0);
    }
  }
  if (!rw.ReplaceNode(old, replacements)) return false;
  if (!any_merged) return true;
  // The readers of merged outputs are Transposes: each now reads the copy with the combined perm.
  // Every reader is rewired before any is bypassed: bypassing one erases what only it reads,
  // which would be the copy itself while the others still read the old output.
  std::vector<std::pair<ir::Node*, Perm>> readers;
  for (size_t i = 0; i < replacements.size(); ++i) {
    if (replacements[i] || IsIdentityPerm(last.out_perms[i])) continue;
    const std::vector<ir::Use> uses = old->output(i)->uses();
    for (const ir::Use& u : uses) {
      readers.emplace_back(u.node, ComposePerms(last.out_perms[i], *TransposePerm(u.node)));
      u.node->SetInput(0, copy->output(i));
    }
  }
  for (const auto& [reader, q] : readers) {
    if (IsIdentityPerm(q)) {
      rw.Bypass(reader);
    } else {
      reader->SetInts("perm", q);
    }
  }
  rw.EraseIfDead(old);
  return true;
}

// The most profitable chain of nodes `root` (perm `p`) moves through, starting at `reader` and
// following sole readers: its steps, which readers of its last outputs merge, and the change in
// the number of Transposes it brings (the root included, so -1 at best for a bare root). An
// empty chain when no prefix lowers the count; `why` says what stopped it.
struct Chain {
  std::vector<Step> steps;
  std::vector<bool> merge;
  int cost = 0;
};

Chain PlanChain(PassContext& ctx, ir::Node* root, ir::Node* reader, const Perm& p,
                std::string* why) {
  Chain best;
  std::vector<Step> steps;
  std::vector<bool> merge;
  int cost = -1;  // the root goes
  ir::Value* data = root->output(0);
  Perm perm = p;
  for (int depth = 0; depth < kMaxChain && reader; ++depth) {
    auto step = PlanStep(
        ctx, reader, [data](const ir::Value* v) { return v == data; }, perm, why);
    if (!step) break;
    cost += step->cost;
    const int total = cost + EndCost(*step, &merge);
    steps.push_back(std::move(*step));
    if (total < best.cost) {
      best.cost = total;
      best.steps = steps;
      best.merge = merge;
    }
    const Step& s = steps.back();
    if (s.out_perms.size() != 1 || IsIdentityPerm(s.out_perms[0])) break;
    data = reader->output(0);
    perm = s.out_perms[0];
    reader = SoleReader(data);
    *why = "no Transpose would disappear";
  }
  return best;
}

RewriteResult CheckRoot(const ir::Node* root, std::optional<Perm>* p) {
  *p = TransposePerm(root);
  if (!*p) return MatchFailure("perm unknown");
  if (IsIdentityPerm(**p)) return MatchFailure("identity perm (eliminate_nop removes it)");
  if (IsConstant(root->input(0))) return MatchFailure("constant input (merge_transposes folds it)");
  return true;
}

RewriteResult Push(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  std::optional<Perm> p;
  if (RewriteResult ok = CheckRoot(root, &p); !ok.applied()) return ok;
  std::string why = "the Transpose has several readers or is a graph output";
  ir::Node* reader = SoleReader(root->output(0));
  if (!reader) return MatchFailure(why);
  Chain chain = PlanChain(ctx, root, reader, *p, &why);
  if (chain.steps.empty()) return MatchFailure(why);
  return Apply(rw, root, chain.steps, chain.merge);
}

// Region push: the Transpose moves through every node that reads it, or reads what those nodes
// compute, as far as they commute with it (a decomposed LayerNorm reads its input twice, Gelu
// likewise). Nodes join in dependency order: one whose other inputs are computed from the
// Transpose waits for them. Readers outside the region get the layout back through one
// Transpose per value, or merge with it when they are Transposes. Applies when the count drops.
constexpr size_t kMaxRegion = 64;
constexpr int kMaxAncestors = 64;

using PermOf = std::unordered_map<const ir::Value*, Perm>;

// Whether `v` is computed from `root` or a value of the region; nullopt when the search of its
// ancestors runs out of budget. The search stops at the root's input: what computes it is
// upstream of the root (a residual branch forking from the same value is found quickly).
std::optional<bool> DependsOnRegion(const ir::Value* v, const ir::Node* root,
                                    const PermOf& region) {
  std::vector<const ir::Node*> stack;
  std::set<const ir::Node*> seen;
  if (v->producer() && v != root->input(0)) stack.push_back(v->producer());
  int budget = kMaxAncestors;
  while (!stack.empty()) {
    const ir::Node* n = stack.back();
    stack.pop_back();
    if (n == root) return true;
    if (!seen.insert(n).second) continue;
    if (--budget < 0) return std::nullopt;
    for (const ir::Value* in : n->inputs()) {
      if (!in || in == root->input(0)) continue;
      if (region.count(in)) return true;
      if (in->producer()) stack.push_back(in->producer());
    }
  }
  return false;
}

// The Transpose readers of `v` (perm `q`, not the root's output) that take the region's layout by
// composing perms, with the composed perm; every other reader outside the region needs the
// layout restored. Of the readers that cancel, one graph output at most (bypassing it renames the
// copy's value to the output's name).
std::vector<std::pair<const ir::Use*, Perm>> MergedReaders(const ir::Value* v, const Perm& q,
                                                           const std::set<const ir::Node*>& region,
                                                           bool is_root_output) {
  std::vector<std::pair<const ir::Use*, Perm>> merged;
  if (IsIdentityPerm(q)) return merged;
  bool output_taken = false;
  for (const ir::Use& u : v->uses()) {
    if (region.count(u.node) || u.index != 0 || !u.node->Is("Transpose")) continue;
    const auto r = TransposePerm(u.node);
    if (!r || r->size() != q.size()) continue;
    const Perm composed = ComposePerms(q, *r);
    if (IsIdentityPerm(composed) && u.node->output(0)->is_graph_output()) {
      // The root's input may be a graph input, which cannot become a graph output.
      if (output_taken || is_root_output) continue;
      output_taken = true;
    }
    merged.emplace_back(&u, composed);
  }
  return merged;
}

struct Region {
  PermOf perms;                          // old value -> perm (old = Transpose(new, perm))
  std::vector<const ir::Value*> values;  // in the order they joined
  std::vector<Step> steps;               // in dependency order
  std::set<const ir::Node*> nodes;
  int cost = -1;  // the root goes
};

// Plans `n` into the region when every input of it is ready; false to try again later.
enum class Join { kJoined, kWait, kRefused };

Join TryJoin(PassContext& ctx, const ir::Node* root, ir::Node* n, Region* region,
             std::string* why) {
  std::optional<Perm> perm;
  for (const ir::Value* in : n->inputs()) {
    if (!in) continue;
    if (auto it = region->perms.find(in); it != region->perms.end()) {
      if (perm && *perm != it->second) {
        *why = "inputs in two layouts";
        return Join::kRefused;
      }
      perm = it->second;
      continue;
    }
    const auto depends = DependsOnRegion(in, root, region->perms);
    if (!depends) {
      *why = "operand of unknown origin";
      return Join::kRefused;
    }
    if (*depends) return Join::kWait;
  }
  for (const ir::Value* o : n->outputs()) {
    if (o && o->is_graph_output()) {
      *why = "graph output";
      return Join::kRefused;
    }
  }
  if (region->steps.size() >= kMaxRegion || IsIdentityPerm(*perm)) return Join::kRefused;
  const PermOf& perms = region->perms;
  const Perm p = *perm;
  auto step = PlanStep(
      ctx, n, [&](const ir::Value* v) { return perms.count(v) && perms.at(v) == p; }, p, why);
  if (!step) return Join::kRefused;
  region->cost += step->cost;
  region->nodes.insert(n);
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    region->perms[n->output(i)] = step->out_perms[i];
    region->values.push_back(n->output(i));
  }
  region->steps.push_back(std::move(*step));
  return Join::kJoined;
}

// Grows the region from the root's output; fails on a reader inside a subgraph.
bool GrowRegion(PassContext& ctx, ir::Node* root, const Perm& p, Region* region, std::string* why) {
  region->perms[root->output(0)] = p;
  region->values.push_back(root->output(0));
  std::vector<ir::Node*> pending;
  std::set<const ir::Node*> refused;
  size_t expanded = 0;
  for (bool progress = true; progress;) {
    progress = false;
    for (; expanded < region->values.size(); ++expanded) {
      const ir::Value* v = region->values[expanded];
      if (IsIdentityPerm(region->perms[v])) continue;
      for (const ir::Use& u : v->uses()) {
        if (u.index < 0) {
          *why = "read inside a subgraph";
          return false;
        }
        ir::Node* n = u.node;
        if (region->nodes.count(n) || refused.count(n) || n->Is("Transpose") ||
            std::find(pending.begin(), pending.end(), n) != pending.end()) {
          continue;
        }
        pending.push_back(n);
      }
    }
    for (size_t k = 0; k < pending.size();) {
      const Join join = TryJoin(ctx, root, pending[k], region, why);
      if (join == Join::kWait) {
        ++k;
        continue;
      }
      if (join == Join::kRefused) refused.insert(pending[k]);
      progress |= join == Join::kJoined;
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(k));
    }
  }
  return true;
}

// Per value of the region: readers outside it that are Transposes merge (one fewer when the
// perms cancel), any other reader needs the layout back (one Transpose per value).
int BoundaryCost(const ir::Node* root, const Region& region) {
  int cost = 0;
  for (const ir::Value* v : region.values) {
    const Perm& q = region.perms.at(v);
    if (IsIdentityPerm(q)) continue;
    const auto merged = MergedReaders(v, q, region.nodes, v == root->output(0));
    size_t outside = 0;
    for (const ir::Use& u : v->uses()) outside += region.nodes.count(u.node) ? 0 : 1;
    for (const auto& m : merged) cost -= IsIdentityPerm(m.second) ? 1 : 0;
    cost += outside > merged.size() ? 1 : 0;
  }
  return cost;
}

RewriteResult PushRegion(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  std::optional<Perm> p;
  if (RewriteResult ok = CheckRoot(root, &p); !ok.applied()) return ok;
  if (root->output(0)->is_graph_output()) return MatchFailure("Transpose is a graph output");
  Region region;
  std::string why = "no node to move past";
  if (!GrowRegion(ctx, root, *p, &region, &why)) return MatchFailure(why);
  if (region.steps.size() < 2) return MatchFailure(why);  // the chain rules' case
  if (region.cost + BoundaryCost(root, region) >= 0) {
    return MatchFailure("no Transpose would disappear from the region");
  }
  // Nothing below can fail: every edit is a plain rewiring or an erasure of dead nodes.
  std::unordered_map<const ir::Value*, ir::Value*> moved{{root->output(0), root->input(0)}};
  rw.consumed()->push_back(root->name());
  for (const Step& step : region.steps) BuildCopy(rw, step, &moved);
  std::vector<std::pair<ir::Node*, Perm>> merged;
  for (const ir::Value* v : region.values) {
    const Perm& q = region.perms.at(v);
    ir::Value* now = moved.at(v);
    std::set<const ir::Node*> merging;
    for (const auto& [use, r] : MergedReaders(v, q, region.nodes, v == root->output(0))) {
      merged.emplace_back(use->node, r);
      merging.insert(use->node);
    }
    ir::Value* restored = nullptr;
    const std::vector<ir::Use> uses = v->uses();
    for (const ir::Use& u : uses) {
      if (region.nodes.count(u.node)) continue;
      if (merging.count(u.node)) {
        u.node->SetInput(0, now);
        continue;
      }
      if (!restored) {
        restored = now;
        if (!IsIdentityPerm(q)) {
          ir::Node* t = NewTranspose(rw, now, q);
          t->output(0)->type() = v->type();
          restored = t->output(0);
        }
      }
      u.node->SetInput(static_cast<size_t>(u.index), restored);
    }
  }
  for (const auto& [reader, q] : merged) {
    if (IsIdentityPerm(q)) {
      if (!rw.Bypass(reader)) return false;
    } else {
      reader->SetInts("perm", q);
    }
  }
  for (auto it = region.steps.rbegin(); it != region.steps.rend(); ++it) rw.Erase(it->node);
  rw.EraseIfDead(root);
  return true;
}

// Every node a chain reads or rewrites: its nodes, the producers of the operands it reads or
// absorbs, and the readers of its last outputs. Chains with disjoint footprints neither read
// nor rewrite each other's values, so their costs add up exactly and they apply one by one.
std::set<const ir::Node*> Footprint(const ir::Node* reader, const Chain& chain) {
  std::set<const ir::Node*> nodes{reader};
  for (const Step& step : chain.steps) {
    nodes.insert(step.node);
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      const ir::Value* in = step.node->input(i);
      if (step.inputs[i].kind != InputPlan::kData && in && in->producer()) {
        nodes.insert(in->producer());
      }
    }
  }
  if (!chain.steps.empty()) {
    for (const ir::Value* o : chain.steps.back().node->outputs()) {
      for (const ir::Use& u : o->uses()) nodes.insert(u.node);
    }
  }
  return nodes;
}

// A Transpose read by several nodes: each reader that profits gets a copy of the Transpose and
// pushes it down its own chain; the others keep the original. Applies when the copies cost less
// than the chains remove: copies + sum of chain costs < 0, every term counted exactly.
RewriteResult PushShared(PassContext& ctx, Rewriter& rw, ir::Node* root) {
  std::optional<Perm> p;
  if (RewriteResult ok = CheckRoot(root, &p); !ok.applied()) return ok;
  ir::Value* out = root->output(0);
  if (out->is_graph_output()) return MatchFailure("shared Transpose is a graph output");
  std::vector<ir::Node*> readers;
  for (const ir::Use& u : out->uses()) {
    if (u.index < 0) return MatchFailure("read inside a subgraph");
    if (std::find(readers.begin(), readers.end(), u.node) == readers.end()) {
      readers.push_back(u.node);
    }
  }
  if (readers.size() < 2) return false;  // the single-reader rule's case
  std::vector<Chain> chains;
  std::set<const ir::Node*> seen;
  int profitable = 0, total = 0;
  std::string why = "no reader's chain removes a Transpose";
  for (ir::Node* reader : readers) {
    std::string reason;
    chains.push_back(PlanChain(ctx, root, reader, *p, &reason));
    const std::set<const ir::Node*> footprint = Footprint(reader, chains.back());
    for (const ir::Node* n : footprint) {
      if (n == root || !seen.insert(n).second) {
        return MatchFailure("readers' chains meet");
      }
    }
    if (!chains.back().steps.empty()) {
      ++profitable;
      total += chains.back().cost;
    }
  }
  if (profitable == 0) return MatchFailure(why);
  // One copy per profitable reader, except that the last one takes the original when no other
  // reader keeps it.
  const bool original_kept = profitable < static_cast<int>(readers.size());
  total += original_kept ? profitable : profitable - 1;
  if (total >= 0) return MatchFailure("copies would cost more Transposes than the chains remove");
  int remaining = profitable;
  for (size_t i = 0; i < readers.size(); ++i) {
    if (chains[i].steps.empty()) continue;
    ir::Node* source = root;
    if (original_kept || --remaining > 0) {
      source = NewTranspose(rw, root->input(0), *p);
      source->output(0)->type() = out->type();
      for (size_t k = 0; k < readers[i]->inputs().size(); ++k) {
        if (readers[i]->input(k) == out) readers[i]->SetInput(k, source->output(0));
      }
    }
    if (!Apply(rw, source, chains[i].steps, chains[i].merge).applied()) return false;
  }
  return true;
}

}  // namespace

PushTransposes::PushTransposes()
    : RulePass({{"push_transpose", "Transpose", "", Push},
                {"push_shared_transpose", "Transpose", "", PushShared},
                {"push_transpose_region", "Transpose", "", PushRegion}}) {}

GRAPHOPT_REGISTER_PASS(PushTransposes, "push_transposes", kBasic, 16,
                       "push Transposes through elementwise ops, reductions, Concat/Split, Pad, "
                       "Slice, nearest Resize and MatMul by a matrix where they then merge or "
                       "cancel, copying a shared Transpose when that removes more than it adds");

}  // namespace graphopt
