#include "optimizer/ir/symbolic_shape_inference.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace graphopt::ir {

namespace {

using Dims = std::vector<SymbolicDim>;
constexpr int64_t kMaxContents = 64;  // longer integer tensors are not shapes

bool IsIntType(DataType t) { return t == DataType::kInt64 || t == DataType::kInt32; }

// Contents of a small constant integer tensor (row-major, any rank: exporters build pads as
// (n, 2) tables and reverse or transpose them).
std::optional<Dims> TensorContents(const Tensor& t) {
  if (!IsIntType(t.dtype()) || t.size() > kMaxContents) return std::nullopt;
  Dims out;
  for (int64_t v : t.ToInt64Vector()) out.emplace_back(v);
  return out;
}

// The dims of a shape when every one is a number.
std::optional<std::vector<int64_t>> ConstantDims(const std::optional<SymbolicShape>& s) {
  if (!s) return std::nullopt;
  std::vector<int64_t> out;
  for (const SymbolicDim& d : *s) {
    if (!d.is_constant() || d.constant() < 0) return std::nullopt;
    out.push_back(d.constant());
  }
  return out;
}

int64_t Product(const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

// A Slice start or end on a dim of size d, clamped as ONNX does: both to [0, d] going forward;
// going backward the start to [0, d-1] and the end to [-1, d-1].
int64_t ClampSliceIndex(int64_t v, int64_t d, int64_t step, bool is_start) {
  if (d == 0) return 0;  // nothing to take either way
  if (v < 0) v += d;
  if (step > 0) return std::clamp<int64_t>(v, 0, d);
  return std::clamp<int64_t>(v, is_start ? 0 : -1, d - 1);
}

// Whether two dims are equal, when that is decided: equal expressions are; two that differ by a
// non-zero number are not, and a symbol (a size, never negative) is not a negative number.
std::optional<bool> KnownEqual(const SymbolicDim& a, const SymbolicDim& b) {
  if (a == b) return true;
  if ((a - b).is_constant()) return false;
  if (a.is_symbol() && b.is_constant() && b.constant() < 0) return false;
  if (b.is_symbol() && a.is_constant() && a.constant() < 0) return false;
  return std::nullopt;
}

// Row-major strides of a shape.
std::vector<int64_t> Strides(const std::vector<int64_t>& dims) {
  std::vector<int64_t> out(dims.size(), 1);
  for (size_t i = dims.size(); i-- > 1;) out[i - 1] = out[i] * dims[i];
  return out;
}

// Contents of a tensor of shape `dims` gathered at the chosen indices per axis (the
// cartesian product, row-major): slices and transposes of small integer tables.
Dims Pick(const Dims& in, const std::vector<int64_t>& dims,
          const std::vector<std::vector<int64_t>>& picks, const std::vector<int64_t>& axis_order) {
  const std::vector<int64_t> strides = Strides(dims);
  size_t total = 1;
  for (int64_t axis : axis_order) total *= picks[static_cast<size_t>(axis)].size();
  Dims out;
  for (size_t flat = 0; flat < total; ++flat) {
    size_t rest = flat;
    int64_t offset = 0;
    for (size_t k = axis_order.size(); k-- > 0;) {
      const auto axis = static_cast<size_t>(axis_order[k]);
      const std::vector<int64_t>& p = picks[axis];
      offset += p[rest % p.size()] * strides[axis];
      rest /= p.size();
    }
    out.push_back(in[static_cast<size_t>(offset)]);
  }
  return out;
}

const Tensor* ConstantNodeTensor(const Node* n) {
  if (!n->Is("Constant")) return nullptr;
  const Attribute* a = n->attr("value");
  return a && a->type == AttrType::kTensor ? &a->t : nullptr;
}

// One propagation: per value, what is known; fresh symbols named after the model's last one.
class Propagation {
 public:
  explicit Propagation(Model& model) : model_(model) { FindFreshCounter(); }

  void Run(std::unordered_map<const Value*, SymbolicShapes::Info>* info) {
    info_ = info;
    Graph& g = *model_.graph;
    for (Value* v : g.inputs()) Seed(v);
    for (Value* v : g.initializers()) Seed(v);
    for (Node* n : g.nodes()) Visit(n);
  }

  std::string Fresh() { return "unk__" + std::to_string(next_fresh_++); }

 private:
  void FindFreshCounter() {
    std::function<void(const Graph&)> scan = [&](const Graph& g) {
      auto look = [&](const Value* v) {
        if (!v || !v->type().shape) return;
        for (const Dim& d : *v->type().shape) {
          if (d.param.rfind("unk__", 0) != 0) continue;
          try {
            next_fresh_ = std::max<int64_t>(next_fresh_, std::stoll(d.param.substr(5)) + 1);
          } catch (...) {
          }
        }
      };
      for (Value* v : g.inputs()) look(v);
      for (Value* v : g.outputs()) look(v);
      for (Node* n : g.nodes()) {
        for (Value* v : n->outputs()) look(v);
      }
    };
    scan(*model_.graph);
  }

  SymbolicShapes::Info& At(const Value* v) { return (*info_)[v]; }

  // The shape a value's declared type states, naming unnamed unknown dims (in the type too).
  std::optional<SymbolicShape> FromType(Value* v) {
    auto& shape = v->type().shape;
    if (!v->type().is_tensor() || !shape) return std::nullopt;
    SymbolicShape out;
    for (Dim& d : *shape) {
      if (!d.known() && d.param.empty()) d.param = Fresh();
      out.push_back(*SymbolicDim::FromDim(d));
    }
    return out;
  }

  void Seed(Value* v) {
    SymbolicShapes::Info& i = At(v);
    if (const Tensor* t = v->initializer(); t && !v->is_graph_input()) {
      i.shape = SymbolicShape(t->shape().begin(), t->shape().end());
      i.contents = TensorContents(*t);
      return;
    }
    i.shape = FromType(v);
  }

  std::optional<SymbolicShape> Shape(const Value* v) {
    if (!v) return std::nullopt;
    auto it = info_->find(v);
    return it == info_->end() ? std::nullopt : it->second.shape;
  }
  std::optional<Dims> Contents(const Value* v) {
    if (!v) return std::nullopt;
    auto it = info_->find(v);
    return it == info_->end() ? std::nullopt : it->second.contents;
  }
  // Constant integers (contents that are all numbers).
  std::optional<std::vector<int64_t>> Ints(const Value* v) {
    auto c = Contents(v);
    if (!c) return std::nullopt;
    std::vector<int64_t> out;
    for (const SymbolicDim& d : *c) {
      if (!d.is_constant()) return std::nullopt;
      out.push_back(d.constant());
    }
    return out;
  }

  // Two broadcast dims: equal ones, a 1 against anything, a number against a symbol (the
  // symbol must equal it); two different symbols give a fresh one.
  SymbolicDim Broadcast(const SymbolicDim& a, const SymbolicDim& b) {
    if (a == b) return a;
    if (a.is_constant() && a.constant() == 1) return b;
    if (b.is_constant() && b.constant() == 1) return a;
    if (a.is_constant()) return a;
    if (b.is_constant()) return b;
    const std::string fresh = Fresh();
    minted_.insert(fresh);
    return SymbolicDim::Symbol(fresh);
  }
  std::optional<SymbolicShape> BroadcastShapes(const std::vector<std::optional<SymbolicShape>>& s) {
    size_t rank = 0;
    for (const auto& x : s) {
      if (!x) return std::nullopt;
      rank = std::max(rank, x->size());
    }
    SymbolicShape out(rank, SymbolicDim(1));
    for (const auto& x : s) {
      const size_t off = rank - x->size();
      for (size_t i = 0; i < x->size(); ++i) out[off + i] = Broadcast(out[off + i], (*x)[i]);
    }
    return out;
  }

  static int64_t Axis(int64_t axis, size_t rank) {
    return axis < 0 ? axis + static_cast<int64_t>(rank) : axis;
  }

  // Axes from an attribute (older opsets) or the constant input `index`.
  std::optional<std::vector<int64_t>> AxesOf(const Node* n, size_t index) {
    if (n->HasAttr("axes")) return n->GetInts("axes");
    if (n->input(index)) return Ints(n->input(index));
    return std::vector<int64_t>{};
  }

  using Result = std::vector<SymbolicShapes::Info>;

  // Elements of an elementwise result over small integer tensors: arithmetic on dims, and the
  // comparisons and Where that exporters use to pick between a shape and a default
  // (Where(Equal(shape, -1), 1, shape) as Expand's target).
  std::optional<Dims> ElementwiseContents(const Node* n,
                                          const std::optional<SymbolicShape>& out_shape) {
    const std::string& op = n->op_type();
    const size_t arity = op == "Where" ? 3 : 2;
    if (n->inputs().size() != arity || !out_shape) return std::nullopt;
    auto len = NumElements(*out_shape).AsConstant();
    if (!len || *len > kMaxContents) return std::nullopt;
    std::vector<Dims> ins;
    for (size_t k = 0; k < arity; ++k) {
      auto c = Contents(n->input(k));
      // Each operand is either the result's size (same layout, by broadcasting) or one element.
      if (!c || (static_cast<int64_t>(c->size()) != *len && c->size() != 1)) return std::nullopt;
      ins.push_back(std::move(*c));
    }
    auto at = [&](size_t k, int64_t i) -> const SymbolicDim& {
      return ins[k][ins[k].size() == 1 ? 0 : static_cast<size_t>(i)];
    };
    Dims out;
    for (int64_t i = 0; i < *len; ++i) {
      const SymbolicDim& x = at(0, i);
      const SymbolicDim& y = at(1, i);
      if (op == "Add") {
        out.push_back(x + y);
      } else if (op == "Sub") {
        out.push_back(x - y);
      } else if (op == "Mul") {
        out.push_back(x * y);
      } else if ((op == "Div" || op == "Mod") && y.is_constant() && y.constant() == 0) {
        return std::nullopt;
      } else if ((op == "Div" || op == "Mod") && x.is_constant() && y.is_constant()) {
        // Numbers follow ONNX exactly: Div truncates, Mod takes the divisor's sign unless fmod.
        const int64_t u = x.constant(), v = y.constant();
        if (op == "Div" || n->GetInt("fmod", 0) != 0) {
          out.emplace_back(op == "Div" ? u / v : u % v);
        } else {
          out.emplace_back(((u % v) + v) % v);
        }
      } else if (op == "Div") {
        out.push_back(x.FloorDiv(y));  // sizes are not negative: floor and truncation agree
      } else if (op == "Mod") {
        out.push_back(x.Mod(y));
      } else if (op == "Equal") {
        auto equal = KnownEqual(x, y);
        if (!equal) return std::nullopt;
        out.emplace_back(*equal ? 1 : 0);
      } else if (op == "Where") {
        if (!x.is_constant()) return std::nullopt;
        out.push_back(x.constant() != 0 ? y : at(2, i));
      } else if (op == "Max" || op == "Min" || op == "Less" || op == "Greater" ||
                 op == "LessOrEqual" || op == "GreaterOrEqual") {
        if (!x.is_constant() || !y.is_constant()) return std::nullopt;
        const int64_t u = x.constant(), v = y.constant();
        if (op == "Max") out.emplace_back(std::max(u, v));
        if (op == "Min") out.emplace_back(std::min(u, v));
        if (op == "Less") out.emplace_back(u < v ? 1 : 0);
        if (op == "Greater") out.emplace_back(u > v ? 1 : 0);
        if (op == "LessOrEqual") out.emplace_back(u <= v ? 1 : 0);
        if (op == "GreaterOrEqual") out.emplace_back(u >= v ? 1 : 0);
      } else {
        return std::nullopt;
      }
    }
    return out;
  }

  // Elements a Slice keeps of a small integer tensor of known dims (any step, any axes).
  std::optional<Dims> SliceContents(const Node* n, const SymbolicShape& shape, const Dims& starts,
                                    const Dims& ends, const std::vector<int64_t>& axes,
                                    const std::vector<int64_t>& steps) {
    auto c = Contents(n->input(0));
    if (!c) return std::nullopt;
    // A vector's length is its element count even where its shape says it symbolically.
    auto dims = shape.size() == 1 ? std::vector<int64_t>{static_cast<int64_t>(c->size())}
                                  : ConstantDims(shape);
    if (!dims || Product(*dims) != static_cast<int64_t>(c->size())) return std::nullopt;
    std::vector<std::vector<int64_t>> picks(dims->size());
    std::vector<bool> sliced(dims->size(), false);
    for (size_t k = 0; k < axes.size(); ++k) {
      const int64_t axis = Axis(axes[k], dims->size());
      if (axis < 0 || axis >= static_cast<int64_t>(dims->size()) || sliced[size_t(axis)]) {
        return std::nullopt;
      }
      if (!starts[k].is_constant() || !ends[k].is_constant() || steps[k] == 0) return std::nullopt;
      sliced[size_t(axis)] = true;
      const int64_t d = (*dims)[size_t(axis)], step = steps[k];
      const int64_t begin = ClampSliceIndex(starts[k].constant(), d, step, true);
      const int64_t end = ClampSliceIndex(ends[k].constant(), d, step, false);
      for (int64_t i = begin; step > 0 ? i < end : i > end; i += step) {
        picks[size_t(axis)].push_back(i);
      }
    }
    std::vector<int64_t> order;
    for (size_t i = 0; i < dims->size(); ++i) {
      if (!sliced[i]) {
        for (int64_t j = 0; j < (*dims)[i]; ++j) picks[i].push_back(j);
      }
      order.push_back(static_cast<int64_t>(i));
    }
    return Pick(*c, *dims, picks, order);
  }

  Result Infer(const Node* n);
  void Visit(Node* n);
  void Merge(Value* v, SymbolicShapes::Info ours);

  Model& model_;
  std::unordered_map<const Value*, SymbolicShapes::Info>* info_ = nullptr;
  int64_t next_fresh_ = 0;
  std::set<std::string> minted_;  // fresh symbols of this run, weaker than ONNX's names
};

bool IsUnaryElementwise(const std::string& op) {
  static const std::set<std::string> ops = {"Identity",
                                            "Relu",
                                            "Sigmoid",
                                            "Tanh",
                                            "Erf",
                                            "Sqrt",
                                            "Exp",
                                            "Log",
                                            "Neg",
                                            "Abs",
                                            "Reciprocal",
                                            "Floor",
                                            "Ceil",
                                            "Round",
                                            "Sign",
                                            "Sin",
                                            "Cos",
                                            "Not",
                                            "IsNaN",
                                            "IsInf",
                                            "Softmax",
                                            "LogSoftmax",
                                            "Dropout",
                                            "Clip",
                                            "LeakyRelu",
                                            "HardSigmoid",
                                            "HardSwish",
                                            "Elu",
                                            "Selu",
                                            "Softplus",
                                            "Softsign",
                                            "Mish",
                                            "Gelu",
                                            "Celu",
                                            "ThresholdedRelu",
                                            "LayerNormalization",
                                            "BatchNormalization",
                                            "InstanceNormalization",
                                            "Cast",
                                            "CastLike",
                                            "Trilu",
                                            "CumSum",
                                            "LpNormalization",
                                            "PRelu",
                                            "Hardmax",
                                            "QuickGelu",
                                            "FastGelu",
                                            "BiasGelu",
                                            "SkipLayerNormalization",
                                            "SimplifiedLayerNormalization",
                                            "SkipSimplifiedLayerNormalization",
                                            "GroupNorm",
                                            "BiasAdd"};
  return ops.count(op) > 0;
}

bool IsBinaryElementwise(const std::string& op) {
  static const std::set<std::string> ops = {"Add",
                                            "Sub",
                                            "Mul",
                                            "Div",
                                            "Pow",
                                            "Mod",
                                            "Max",
                                            "Min",
                                            "Equal",
                                            "Less",
                                            "Greater",
                                            "LessOrEqual",
                                            "GreaterOrEqual",
                                            "And",
                                            "Or",
                                            "Xor",
                                            "Sum",
                                            "Mean",
                                            "BitShift",
                                            "Where"};
  return ops.count(op) > 0;
}

// Output spatial size of a convolution or pooling window.
SymbolicDim WindowOutput(const SymbolicDim& in, int64_t kernel, int64_t stride, int64_t dilation,
                         int64_t pad_total, const std::string& auto_pad, bool ceil_mode) {
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") return in.CeilDiv(stride);
  const int64_t effective = dilation * (kernel - 1) + 1;
  if (auto_pad == "VALID") return (in - SymbolicDim(effective - stride)).CeilDiv(stride);
  const SymbolicDim span = in + SymbolicDim(pad_total - effective);
  return (ceil_mode ? span.CeilDiv(stride) : span.FloorDiv(stride)) + SymbolicDim(1);
}

Propagation::Result Propagation::Infer(const Node* n) {
  const std::string& op = n->op_type();
  const bool onnx = n->is_onnx_domain();
  const bool ms = n->domain() == "com.microsoft";
  auto in = [&](size_t i) { return Shape(n->input(i)); };
  Result r(n->outputs().size());
  if (r.empty()) return r;
  if (!onnx && !ms) return {};

  if (op == "Constant" && onnx) {
    if (const Tensor* t = ConstantNodeTensor(n)) {
      r[0].shape = SymbolicShape(t->shape().begin(), t->shape().end());
      r[0].contents = TensorContents(*t);
    } else if (n->HasAttr("value_ints")) {
      const auto v = n->GetInts("value_ints");
      r[0].shape = SymbolicShape{SymbolicDim(static_cast<int64_t>(v.size()))};
      r[0].contents = Dims(v.begin(), v.end());
    } else if (n->HasAttr("value_int")) {
      r[0].shape = SymbolicShape{};
      r[0].contents = Dims{SymbolicDim(n->GetInt("value_int", 0))};
    }
    return r;
  }
  if (IsUnaryElementwise(op)) {
    r[0].shape = in(0);
    if (op == "Identity" || (op == "Cast" && IsIntType(DataType(n->GetInt("to", 0))))) {
      r[0].contents = Contents(n->input(0));
    }
    if (op == "SkipLayerNormalization" || op == "SkipSimplifiedLayerNormalization") {
      if (r.size() > 3) r[3].shape = in(0);
    }
    return r;
  }
  if (IsBinaryElementwise(op)) {
    std::vector<std::optional<SymbolicShape>> shapes;
    for (size_t i = 0; i < n->inputs().size(); ++i) shapes.push_back(in(i));
    r[0].shape = BroadcastShapes(shapes);
    r[0].contents = ElementwiseContents(n, r[0].shape);
    return r;
  }
  if (op == "Shape") {
    auto s = in(0);
    if (!s) return r;
    const auto rank = static_cast<int64_t>(s->size());
    int64_t start = n->GetInt("start", 0), end = n->GetInt("end", rank);
    start = std::clamp<int64_t>(Axis(start, s->size()), 0, rank);
    end = std::clamp<int64_t>(Axis(end, s->size()), start, rank);
    r[0].contents = Dims(s->begin() + start, s->begin() + end);
    r[0].shape = SymbolicShape{SymbolicDim(end - start)};
    return r;
  }
  if (op == "Size") {
    auto s = in(0);
    r[0].shape = SymbolicShape{};
    if (s) r[0].contents = Dims{NumElements(*s)};
    return r;
  }
  if (op == "Gather" && onnx) {
    auto data = in(0), idx = in(1);
    if (!data || !idx) return r;
    const int64_t axis = Axis(n->GetInt("axis", 0), data->size());
    if (axis < 0 || axis >= static_cast<int64_t>(data->size())) return r;
    SymbolicShape out(data->begin(), data->begin() + axis);
    out.insert(out.end(), idx->begin(), idx->end());
    out.insert(out.end(), data->begin() + axis + 1, data->end());
    r[0].shape = out;
    auto c = Contents(n->input(0));
    auto indices = Ints(n->input(1));
    if (c && indices && data->size() == 1) {
      Dims picked;
      for (int64_t i : *indices) {
        if (i < 0) i += static_cast<int64_t>(c->size());
        if (i < 0 || i >= static_cast<int64_t>(c->size())) return r;
        picked.push_back((*c)[static_cast<size_t>(i)]);
      }
      r[0].contents = picked;
    }
    return r;
  }
  if (op == "Unsqueeze") {
    auto s = in(0);
    auto axes = AxesOf(n, 1);
    if (!s || !axes) return r;
    const size_t rank = s->size() + axes->size();
    std::vector<bool> inserted(rank, false);
    for (int64_t a : *axes) {
      a = Axis(a, rank);
      if (a < 0 || a >= static_cast<int64_t>(rank)) return r;
      inserted[static_cast<size_t>(a)] = true;
    }
    SymbolicShape out;
    size_t j = 0;
    for (size_t i = 0; i < rank; ++i) out.push_back(inserted[i] ? SymbolicDim(1) : (*s)[j++]);
    r[0].shape = out;
    r[0].contents = Contents(n->input(0));  // row-major order is unchanged
    return r;
  }
  if (op == "Squeeze") {
    auto s = in(0);
    auto axes = AxesOf(n, 1);
    if (!s || !axes) return r;
    std::vector<bool> removed(s->size(), false);
    if (axes->empty()) {
      for (size_t i = 0; i < s->size(); ++i) {
        if (!(*s)[i].is_constant()) return r;  // a symbol might be 1
        removed[i] = (*s)[i].constant() == 1;
      }
    }
    for (int64_t a : *axes) {
      a = Axis(a, s->size());
      if (a < 0 || a >= static_cast<int64_t>(s->size())) return r;
      removed[static_cast<size_t>(a)] = true;
    }
    SymbolicShape out;
    for (size_t i = 0; i < s->size(); ++i) {
      if (!removed[i]) out.push_back((*s)[i]);
    }
    r[0].shape = out;
    r[0].contents = Contents(n->input(0));
    return r;
  }
  if (op == "Concat") {
    auto first = in(0);
    if (!first) return r;
    const int64_t axis = Axis(n->GetInt("axis", 0), first->size());
    if (axis < 0 || axis >= static_cast<int64_t>(first->size())) return r;
    SymbolicShape out = *first;
    out[static_cast<size_t>(axis)] = SymbolicDim(0);
    Dims contents;
    bool all_contents = true;
    std::vector<Dims> parts;
    std::vector<int64_t> chunks;  // elements per outer index, per input
    int64_t outer = 1;            // elements of the dims before the axis
    for (const Value* v : n->inputs()) {
      auto s = Shape(v);
      if (!s || s->size() != first->size()) return r;
      for (size_t i = 0; i < s->size(); ++i) {
        if (static_cast<int64_t>(i) == axis) {
          out[i] = out[i] + (*s)[i];
        } else if ((*s)[i].is_constant()) {
          out[i] = (*s)[i];  // numbers are the most specific
        }
      }
      auto c = Contents(v);
      auto dims = s->size() == 1 && c ? std::vector<int64_t>{static_cast<int64_t>(c->size())}
                                      : ConstantDims(s);
      if (c && dims && Product(*dims) == static_cast<int64_t>(c->size())) {
        parts.push_back(*c);
        chunks.push_back(Product(std::vector<int64_t>(dims->begin() + axis, dims->end())));
        outer = Product(std::vector<int64_t>(dims->begin(), dims->begin() + axis));
      } else {
        all_contents = false;
      }
    }
    r[0].shape = out;
    if (all_contents && !parts.empty()) {
      // Interleave the inputs' chunks per index of the dims before the axis.
      for (int64_t o = 0; o < outer; ++o) {
        for (size_t k = 0; k < parts.size(); ++k) {
          auto begin = parts[k].begin() + o * chunks[k];
          contents.insert(contents.end(), begin, begin + chunks[k]);
        }
      }
      r[0].contents = contents;
    }
    return r;
  }
  if (op == "Reshape") {
    auto s = in(0);
    auto target = Contents(n->input(1));
    auto target_shape = in(1);
    if (!target) {
      // Unknown target values of a known count: fresh symbols of that rank.
      if (target_shape && target_shape->size() == 1 && (*target_shape)[0].is_constant()) {
        SymbolicShape out;
        for (int64_t i = 0; i < (*target_shape)[0].constant(); ++i) {
          out.push_back(SymbolicDim::Symbol(Fresh()));
          minted_.insert(out.back().ToString());
        }
        r[0].shape = out;
      }
      return r;
    }
    const bool allow_zero = n->GetInt("allowzero", 0) != 0;
    SymbolicShape out;
    int64_t infer_at = -1;
    SymbolicDim known(1);
    for (size_t i = 0; i < target->size(); ++i) {
      const SymbolicDim& d = (*target)[i];
      if (d.is_constant() && d.constant() == -1) {
        if (infer_at >= 0) return r;
        infer_at = static_cast<int64_t>(i);
        out.push_back(SymbolicDim(1));
        continue;
      }
      if (d.is_constant() && d.constant() == 0 && !allow_zero) {
        if (!s || i >= s->size()) return r;
        out.push_back((*s)[i]);
      } else {
        out.push_back(d);
      }
      known = known * out.back();
    }
    if (infer_at >= 0) {
      if (!s) return r;
      const SymbolicDim total = NumElements(*s);
      if (!total.DividesBy(known) && !known.is_constant()) return r;
      out[static_cast<size_t>(infer_at)] = total.FloorDiv(known);
    }
    r[0].shape = out;
    r[0].contents = Contents(n->input(0));
    return r;
  }
  if (op == "Transpose") {
    auto s = in(0);
    if (!s) return r;
    std::vector<int64_t> perm = n->GetInts("perm");
    if (perm.empty()) {
      for (int64_t i = static_cast<int64_t>(s->size()) - 1; i >= 0; --i) perm.push_back(i);
    }
    if (perm.size() != s->size()) return r;
    SymbolicShape out;
    for (int64_t p : perm) {
      if (p < 0 || p >= static_cast<int64_t>(s->size())) return r;
      out.push_back((*s)[static_cast<size_t>(p)]);
    }
    r[0].shape = out;
    auto c = Contents(n->input(0));
    auto dims = ConstantDims(s);
    if (c && dims && Product(*dims) == static_cast<int64_t>(c->size())) {
      std::vector<std::vector<int64_t>> all(dims->size());
      for (size_t i = 0; i < dims->size(); ++i) {
        for (int64_t j = 0; j < (*dims)[i]; ++j) all[i].push_back(j);
      }
      r[0].contents = Pick(*c, *dims, all, perm);
    }
    return r;
  }
  if (op == "MatMul" || op == "FusedMatMul") {
    auto a = in(0), b = in(1);
    if (!a || !b || a->empty() || b->empty()) return r;
    SymbolicShape x = *a, y = *b;
    const bool a_vec = x.size() == 1, b_vec = y.size() == 1;
    if (a_vec) x.insert(x.begin(), SymbolicDim(1));
    if (b_vec) y.push_back(SymbolicDim(1));
    if (op == "FusedMatMul") {
      if (n->GetInt("transA", 0)) std::swap(x[x.size() - 1], x[x.size() - 2]);
      if (n->GetInt("transB", 0)) std::swap(y[y.size() - 1], y[y.size() - 2]);
    }
    auto batch = BroadcastShapes(
        {SymbolicShape(x.begin(), x.end() - 2), SymbolicShape(y.begin(), y.end() - 2)});
    SymbolicShape out = *batch;
    if (!a_vec) out.push_back(x[x.size() - 2]);
    if (!b_vec) out.push_back(y.back());
    r[0].shape = out;
    return r;
  }
  if (op == "Gemm" || op == "FusedGemm") {
    auto a = in(0), b = in(1);
    if (!a || !b || a->size() != 2 || b->size() != 2) return r;
    r[0].shape =
        SymbolicShape{(*a)[n->GetInt("transA", 0) ? 1 : 0], (*b)[n->GetInt("transB", 0) ? 0 : 1]};
    return r;
  }
  if (op == "Split") {
    auto s = in(0);
    if (!s) return r;
    const int64_t axis = Axis(n->GetInt("axis", 0), s->size());
    if (axis < 0 || axis >= static_cast<int64_t>(s->size())) return r;
    std::optional<std::vector<int64_t>> sizes;
    if (n->HasAttr("split"))
      sizes = n->GetInts("split");
    else if (n->input(1))
      sizes = Ints(n->input(1));
    const SymbolicDim& whole = (*s)[static_cast<size_t>(axis)];
    for (size_t k = 0; k < r.size(); ++k) {
      SymbolicShape out = *s;
      if (sizes) {
        if (sizes->size() != r.size()) return r;
        out[static_cast<size_t>(axis)] = SymbolicDim((*sizes)[k]);
      } else {
        const auto parts = static_cast<int64_t>(r.size());
        if (!whole.DividesBy(SymbolicDim(parts))) return r;
        out[static_cast<size_t>(axis)] = whole.FloorDiv(SymbolicDim(parts));
      }
      r[k].shape = out;
    }
    return r;
  }
  if (op == "Slice") {
    auto s = in(0);
    if (!s) return r;
    auto starts = Contents(n->input(1));
    auto ends = Contents(n->input(2));
    std::optional<std::vector<int64_t>> axes, steps;
    if (n->input(3)) {
      axes = Ints(n->input(3));
    } else {
      axes = std::vector<int64_t>();
      for (size_t i = 0; starts && i < starts->size(); ++i)
        axes->push_back(static_cast<int64_t>(i));
    }
    if (n->input(4)) {
      steps = Ints(n->input(4));
    } else if (axes) {
      steps = std::vector<int64_t>(axes->size(), 1);
    }
    if (!starts || !ends || !axes || !steps || starts->size() != axes->size() ||
        ends->size() != axes->size() || steps->size() != axes->size()) {
      return r;
    }
    SymbolicShape out = *s;
    for (size_t k = 0; k < axes->size(); ++k) {
      const int64_t axis = Axis((*axes)[k], s->size());
      if (axis < 0 || axis >= static_cast<int64_t>(s->size())) return r;
      const SymbolicDim& dim = (*s)[static_cast<size_t>(axis)];
      const int64_t step = (*steps)[k];
      SymbolicDim start = (*starts)[k], end = (*ends)[k];
      if (step == 0) return r;
      if (dim.is_constant() && start.is_constant() && end.is_constant()) {
        const int64_t d = dim.constant();
        const int64_t b = ClampSliceIndex(start.constant(), d, step, true);
        const int64_t e = ClampSliceIndex(end.constant(), d, step, false);
        const int64_t len = step > 0 ? std::max<int64_t>(0, (e - b + step - 1) / step)
                                     : std::max<int64_t>(0, (b - e - step - 1) / -step);
        out[static_cast<size_t>(axis)] = SymbolicDim(len);
        continue;
      }
      if (step != 1) return r;
      // A window of fixed bounds on a symbolic dim may be clipped by it: unknown.
      if (start.is_constant() && end.is_constant() && start.constant() >= 0 &&
          end.constant() >= 0 && end.constant() < std::numeric_limits<int32_t>::max()) {
        return r;
      }
      // Symbolic bounds: assume they lie inside the dim (as exporters write them).
      const int64_t huge = std::numeric_limits<int32_t>::max();
      if (start.is_constant() && start.constant() < 0) start = dim + start;
      if (end.is_constant() && end.constant() >= huge) end = dim;
      if (end.is_constant() && end.constant() < 0) end = dim + end;
      if (!start.is_constant() && !end.is_constant() && start.Symbols().empty()) return r;
      out[static_cast<size_t>(axis)] = end - start;
    }
    r[0].shape = out;
    r[0].contents = SliceContents(n, *s, *starts, *ends, *axes, *steps);
    return r;
  }
  if (op == "Expand") {
    auto s = in(0);
    auto target = Contents(n->input(1));
    if (!s || !target) return r;
    r[0].shape = BroadcastShapes({s, SymbolicShape(target->begin(), target->end())});
    return r;
  }
  if (op == "ConstantOfShape") {
    auto target = Contents(n->input(0));
    if (!target) return r;
    r[0].shape = SymbolicShape(target->begin(), target->end());
    // An integer fill of a small known shape (the zero pads exporters append) is contents too.
    const Attribute* value = n->attr("value");
    auto dims = ConstantDims(r[0].shape);
    if (value && value->type == AttrType::kTensor && IsIntType(value->t.dtype()) &&
        value->t.size() == 1 && dims && Product(*dims) <= kMaxContents) {
      r[0].contents = Dims(static_cast<size_t>(Product(*dims)), value->t.ToInt64Vector()[0]);
    }
    return r;
  }
  if (op == "ScatterND" || op == "ScatterElements" || op == "Scatter") {
    r[0].shape = in(0);
    return r;
  }
  if (op == "Range") {
    auto start = Contents(n->input(0)), limit = Contents(n->input(1));
    auto delta = Ints(n->input(2));
    if (!start || !limit || !delta || start->size() != 1 || limit->size() != 1 ||
        delta->size() != 1 || (*delta)[0] <= 0) {
      return r;
    }
    r[0].shape = SymbolicShape{((*limit)[0] - (*start)[0]).CeilDiv(SymbolicDim((*delta)[0]))};
    return r;
  }
  if (op == "Flatten") {
    auto s = in(0);
    if (!s) return r;
    const int64_t axis = Axis(n->GetInt("axis", 1), s->size());
    if (axis < 0 || axis > static_cast<int64_t>(s->size())) return r;
    r[0].shape = SymbolicShape{NumElements(SymbolicShape(s->begin(), s->begin() + axis)),
                               NumElements(SymbolicShape(s->begin() + axis, s->end()))};
    return r;
  }
  if (op.rfind("Reduce", 0) == 0 || op == "ArgMax" || op == "ArgMin") {
    auto s = in(0);
    if (!s) return r;
    std::optional<std::vector<int64_t>> axes;
    if (op == "ArgMax" || op == "ArgMin") {
      axes = std::vector<int64_t>{n->GetInt("axis", 0)};
    } else {
      axes = AxesOf(n, 1);
    }
    if (!axes) return r;
    const bool keep = n->GetInt("keepdims", 1) != 0;
    std::vector<bool> reduced(s->size(), axes->empty() && !n->GetInt("noop_with_empty_axes", 0));
    for (int64_t a : *axes) {
      a = Axis(a, s->size());
      if (a < 0 || a >= static_cast<int64_t>(s->size())) return r;
      reduced[static_cast<size_t>(a)] = true;
    }
    SymbolicShape out;
    for (size_t i = 0; i < s->size(); ++i) {
      if (!reduced[i])
        out.push_back((*s)[i]);
      else if (keep)
        out.push_back(SymbolicDim(1));
    }
    r[0].shape = out;
    return r;
  }
  if (op == "Conv" || op == "FusedConv" || op == "MaxPool" || op == "AveragePool" ||
      op == "LpPool") {
    auto s = in(0);
    if (!s || s->size() < 3) return r;
    const size_t spatial = s->size() - 2;
    std::vector<int64_t> kernel = n->GetInts("kernel_shape");
    SymbolicDim channels = (*s)[1];
    if (op == "Conv" || op == "FusedConv") {
      auto w = in(1);
      if (!w || w->size() != s->size()) return r;
      channels = (*w)[0];
      if (kernel.empty()) {
        for (size_t i = 2; i < w->size(); ++i) {
          if (!(*w)[i].is_constant()) return r;
          kernel.push_back((*w)[i].constant());
        }
      }
    }
    if (kernel.size() != spatial) return r;
    const auto strides = n->GetInts("strides", std::vector<int64_t>(spatial, 1));
    const auto dilations = n->GetInts("dilations", std::vector<int64_t>(spatial, 1));
    const auto pads = n->GetInts("pads", std::vector<int64_t>(2 * spatial, 0));
    if (strides.size() != spatial || dilations.size() != spatial || pads.size() != 2 * spatial) {
      return r;
    }
    const std::string auto_pad = n->GetString("auto_pad", "NOTSET");
    SymbolicShape out{(*s)[0], channels};
    for (size_t i = 0; i < spatial; ++i) {
      out.push_back(WindowOutput((*s)[2 + i], kernel[i], strides[i], dilations[i],
                                 pads[i] + pads[i + spatial], auto_pad,
                                 n->GetInt("ceil_mode", 0) != 0));
    }
    r[0].shape = out;
    if (op == "MaxPool" && r.size() > 1) r[1].shape = out;
    return r;
  }
  if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
    auto s = in(0);
    if (!s || s->size() < 2) return r;
    SymbolicShape out{(*s)[0], (*s)[1]};
    out.resize(s->size(), SymbolicDim(1));
    r[0].shape = out;
    return r;
  }
  if (op == "Tile") {
    auto s = in(0);
    auto repeats = Contents(n->input(1));
    if (!s || !repeats || repeats->size() != s->size()) return r;
    SymbolicShape out;
    for (size_t i = 0; i < s->size(); ++i) out.push_back((*s)[i] * (*repeats)[i]);
    r[0].shape = out;
    return r;
  }
  if (op == "Pad") {
    auto s = in(0);
    std::optional<std::vector<int64_t>> pads;
    if (n->HasAttr("pads"))
      pads = n->GetInts("pads");
    else if (n->input(1))
      pads = Ints(n->input(1));
    if (!s || !pads || n->input(3) || pads->size() != 2 * s->size()) return r;
    SymbolicShape out;
    for (size_t i = 0; i < s->size(); ++i) {
      out.push_back((*s)[i] + SymbolicDim((*pads)[i] + (*pads)[i + s->size()]));
    }
    r[0].shape = out;
    return r;
  }
  if (ms && op == "Attention") {
    auto s = in(0), bias = in(2);
    if (!s || s->size() != 3 || !bias || bias->size() != 1 || n->HasAttr("qkv_hidden_sizes")) {
      return r;
    }
    r[0].shape = SymbolicShape{(*s)[0], (*s)[1], (*bias)[0].FloorDiv(SymbolicDim(3))};
    return r;
  }
  if (ms && op == "EmbedLayerNormalization") {
    auto ids = in(0), word = in(2);
    if (!ids || ids->size() != 2 || !word || word->size() != 2) return r;
    r[0].shape = SymbolicShape{(*ids)[0], (*ids)[1], (*word)[1]};
    if (r.size() > 1) r[1].shape = SymbolicShape{(*ids)[0]};
    if (r.size() > 2) r[2].shape = r[0].shape;
    return r;
  }
  return {};
}

void Propagation::Merge(Value* v, SymbolicShapes::Info ours) {
  ValueType& type = v->type();
  if (!type.is_tensor()) return;
  SymbolicShapes::Info& info = At(v);
  info.contents = std::move(ours.contents);
  auto& declared = type.shape;
  if (!ours.shape || (declared && declared->size() != ours.shape->size())) {
    // Nothing better than the declared type (or a disagreement on rank: keep ONNX's).
    info.shape = FromType(v);
    return;
  }
  if (type.elem_type == DataType::kUndefined) {
    // No element type to go with it: the shape only flows on to the readers.
    info.shape = ours.shape;
    return;
  }
  if (!declared) declared = std::vector<Dim>(ours.shape->size());
  SymbolicShape merged;
  for (size_t i = 0; i < ours.shape->size(); ++i) {
    Dim& d = (*declared)[i];
    const SymbolicDim& o = (*ours.shape)[i];
    bool ours_minted = false;
    for (const std::string& s : o.Symbols()) ours_minted = ours_minted || minted_.count(s) > 0;
    if (d.known() || (!d.param.empty() && ours_minted)) {
      merged.push_back(*SymbolicDim::FromDim(d));
      continue;
    }
    d = o.ToDim();
    merged.push_back(o);
  }
  info.shape = merged;
}

void Propagation::Visit(Node* n) {
  Result r = Infer(n);
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    Value* v = n->output(i);
    if (!v) continue;
    Merge(v, i < r.size() ? r[i] : SymbolicShapes::Info{});
  }
}

}  // namespace

SymbolicShapes::SymbolicShapes(Model& model) {
  if (!model.graph) return;
  Propagation p(model);
  p.Run(&info_);
}

std::optional<SymbolicShape> SymbolicShapes::shape(const Value* v) const {
  auto it = info_.find(v);
  return it == info_.end() ? std::nullopt : it->second.shape;
}

std::optional<std::vector<SymbolicDim>> SymbolicShapes::contents(const Value* v) const {
  auto it = info_.find(v);
  return it == info_.end() ? std::nullopt : it->second.contents;
}

void InferSymbolicShapes(Model& model) { SymbolicShapes shapes(model); }

void NameUnknownInputDims(Model& model) {
  if (!model.graph) return;
  Propagation p(model);
  for (Value* v : model.graph->inputs()) {
    if (v->has_initializer() || !v->type().shape) continue;
    for (Dim& d : *v->type().shape) {
      if (!d.known() && d.param.empty()) d.param = p.Fresh();
    }
  }
}

std::set<std::string> InputSymbols(const Graph& graph) {
  std::set<std::string> out;
  for (const Value* v : graph.inputs()) {
    if (v->has_initializer() || !v->type().shape) continue;
    for (const Dim& d : *v->type().shape) {
      if (d.known() || d.param.empty()) continue;
      for (const std::string& s : SymbolicDim::Parse(d.param).Symbols()) out.insert(s);
    }
  }
  return out;
}

}  // namespace graphopt::ir
