#include "cli/fuzz/graph_generator.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>

#include "optimizer/ir/shape_inference.h"

namespace graphopt::fuzz {

namespace {

constexpr int64_t kOpset = 17;          // the highest opset every target profile allows
constexpr int64_t kMaxElements = 4096;  // keeps a graph's run in milliseconds

// A float value of the graph with its concrete shape. `batch` is the axis that carries the
// symbolic `batch` dim of the inputs (-1: none); with symbolic inputs no constant may depend on
// that axis's size, so the generator never reshapes, slices, concatenates or reduces over it.
struct Val {
  ir::Value* v = nullptr;
  Shape shape;
  int batch = -1;
  int64_t rank() const { return static_cast<int64_t>(shape.size()); }
};

class Generator {
 public:
  Generator(uint64_t seed, const GeneratorOptions& options) : rng_(seed), options_(options) {}

  GeneratedGraph Build() {
    GeneratedGraph out;
    model_ = std::make_unique<ir::Model>();
    model_->ir_version = 8;
    model_->opset_imports.push_back({"", kOpset});
    model_->producer_name = "graphopt-fuzz";
    model_->graph = std::make_unique<ir::Graph>();
    model_->graph->name = "fuzz";
    g_ = model_->graph.get();
    symbolic_ = Chance(options_.symbolic_share);
    batch_size_ = symbolic_ ? 2 : Pick<int64_t>({1, 2, 3});
    const int motifs = 1 + Uniform(0, options_.max_motifs - 1);
    for (int i = 0; i < motifs; ++i) RunMotif(&out.motifs);
    ChooseOutputs();
    out.model = std::move(model_);
    out.symbolic = symbolic_;
    return out;
  }

 private:
  // ---- randomness
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  float UniformF(float lo, float hi) { return std::uniform_real_distribution<float>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  T Pick(std::initializer_list<T> items) {
    return *(items.begin() + Uniform(0, static_cast<int>(items.size()) - 1));
  }

  // ---- building blocks
  bool Free(const Val& x, int64_t axis) const { return !symbolic_ || axis != x.batch; }

  ir::Value* Const(const Shape& shape, float lo, float hi) {
    std::vector<float> data(static_cast<size_t>(NumElements(shape)));
    for (float& f : data) f = UniformF(lo, hi);
    return g_->NewInitializer("c", Tensor::FromVector<float>(DataType::kFloat, shape, data));
  }
  // A constant away from zero (a divisor, a scale): |c| in [0.5, 2].
  ir::Value* NonZeroConst(const Shape& shape) {
    std::vector<float> data(static_cast<size_t>(NumElements(shape)));
    for (float& f : data) f = UniformF(0.5f, 2.0f) * (Chance(0.3) ? -1.f : 1.f);
    return g_->NewInitializer("c", Tensor::FromVector<float>(DataType::kFloat, shape, data));
  }
  ir::Value* Scalar(float v) {
    return g_->NewInitializer("s", Tensor::FromVector<float>(DataType::kFloat, {}, {v}));
  }
  ir::Value* Ints(const std::vector<int64_t>& v) {
    return g_->NewInitializer("i", Tensor::Int64s(v));
  }

  ir::Node* Node(const std::string& op, const std::vector<ir::Value*>& inputs, size_t outputs = 1) {
    return g_->AddNode(op, inputs, outputs, op);
  }
  Val Emit(const std::string& op, const std::vector<ir::Value*>& inputs, Shape shape, int batch,
           ir::Node** node = nullptr) {
    ir::Node* n = Node(op, inputs);
    if (node) *node = n;
    Val out{n->output(0), std::move(shape), batch};
    if (out.rank() > 0) pool_.push_back(out);  // scalars only ever end a chain
    return out;
  }
  Val Like(const Val& x, const std::string& op, const std::vector<ir::Value*>& inputs,
           ir::Node** node = nullptr) {
    return Emit(op, inputs, x.shape, x.batch, node);
  }

  Val NewInput(Shape shape) {
    ir::ValueType vt = ir::ValueType::FromShape(DataType::kFloat, shape);
    int batch = -1;
    if (!shape.empty()) {
      batch = 0;
      shape[0] = batch_size_;
      vt = ir::ValueType::FromShape(DataType::kFloat, shape);
      if (symbolic_) (*vt.shape)[0] = ir::Dim{-1, "batch"};
    }
    Val x{g_->AddInput("x" + std::to_string(g_->inputs().size()), vt), shape, batch};
    pool_.push_back(x);
    return x;
  }
  int64_t Dim() { return Pick<int64_t>({1, 2, 3, 4, 4, 5, 6, 8}); }
  Shape RandomShape(int rank) {
    Shape s{batch_size_};
    for (int i = 1; i < rank; ++i) s.push_back(Dim());
    return s;
  }

  // A value of the pool: mostly a recent one (chains), sometimes an older one (diamonds).
  Val Any() {
    if (pool_.empty() || Chance(0.08)) return NewInput(RandomShape(Uniform(2, 4)));
    const int n = static_cast<int>(pool_.size());
    return pool_[Chance(0.7) ? n - 1 - Uniform(0, std::min(2, n - 1)) : Uniform(0, n - 1)];
  }
  // A graph input shaped like `x` (x itself when it is one).
  Val Input(const Val& x) {
    if (!x.v->producer()) return x;
    for (const Val& v : pool_) {
      if (!v.v->producer() && v.rank() == x.rank()) return v;
    }
    return NewInput(x.rank() > 0 ? x.shape : RandomShape(2));
  }
  // A value of rank `rank` whose last axis is not the batch axis (an input when none).
  Val OfRank(int64_t rank, int64_t max_elements = kMaxElements) {
    std::vector<Val> fits;
    for (const Val& x : pool_) {
      if (x.rank() == rank && Free(x, rank - 1) && NumElements(x.shape) <= max_elements) {
        fits.push_back(x);
      }
    }
    if (fits.empty() || Chance(0.15)) return NewInput(RandomShape(static_cast<int>(rank)));
    return Chance(0.6) ? fits.back() : fits[Uniform(0, static_cast<int>(fits.size()) - 1)];
  }
  // A shape broadcasting to `x`: some axes 1, maybe fewer leading axes; the batch axis is 1.
  Shape BroadcastShape(const Val& x) {
    Shape s = x.shape;
    for (size_t i = 0; i < s.size(); ++i) {
      if (static_cast<int>(i) == x.batch || Chance(0.4)) s[i] = 1;
    }
    const int drop = Uniform(0, static_cast<int>(s.size()));
    s.erase(s.begin(), s.begin() + std::min<size_t>(drop, s.size()));
    return s;
  }
  // Another operand for `x` in a binary op: a pool value of the same shape, or a constant.
  ir::Value* Operand(const Val& x, bool nonzero = false) {
    if (!nonzero && Chance(0.4)) {
      for (auto it = pool_.rbegin(); it != pool_.rend(); ++it) {
        if (it->v != x.v && it->shape == x.shape && it->batch == x.batch) return it->v;
      }
    }
    Shape s = BroadcastShape(x);
    return nonzero ? NonZeroConst(s) : Const(s, -1.f, 1.f);
  }

  // True when a constant of shape `s` broadcasts to `x` (as 1 along a symbolic batch axis).
  bool Broadcasts(const Shape& s, const Val& x) const {
    if (s.size() > x.shape.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      const int64_t d = s[s.size() - 1 - i];
      const size_t axis = x.shape.size() - 1 - i;
      if (d != 1 && (d != x.shape[axis] || !Free(x, static_cast<int64_t>(axis)))) return false;
    }
    return true;
  }

  // ---- motifs
  void RunMotif(std::vector<std::string>* names) {
    using M = void (Generator::*)(std::vector<std::string>*);
    static const std::vector<std::pair<M, int>> kMotifs = {
        {&Generator::Unary, 3},     {&Generator::Binary, 4},      {&Generator::Folding, 2},
        {&Generator::Algebra, 2},   {&Generator::MatMulBlock, 4}, {&Generator::GemmBlock, 2},
        {&Generator::ConvBlock, 4}, {&Generator::Pool, 2},        {&Generator::GeluLike, 3},
        {&Generator::LayerNorm, 3}, {&Generator::Transposes, 3},  {&Generator::Reshapes, 3},
        {&Generator::ShapeMath, 2}, {&Generator::ConcatSplit, 3}, {&Generator::Reduce, 2},
        {&Generator::Softmax, 2},   {&Generator::Casts, 2},       {&Generator::Attention, 2},
        {&Generator::Nops, 2},      {&Generator::Diamond, 2},
    };
    int total = 0;
    for (const auto& m : kMotifs) total += m.second;
    int r = Uniform(0, total - 1);
    for (const auto& [fn, weight] : kMotifs) {
      if (r < weight) return (this->*fn)(names);
      r -= weight;
    }
  }

  void Unary(std::vector<std::string>* names) {
    Val x = Any();
    const std::string op = Pick<std::string>({"Relu", "Sigmoid", "Tanh", "Neg", "Abs", "Erf",
                                              "Softsign", "LeakyRelu", "Elu", "Floor", "Sin"});
    // A step function amplifies the rounding differences a rewrite may legitimately make into
    // whole units: it reads a graph input only, which no rewrite computes.
    if (op == "Floor") x = Input(x);
    ir::Node* n = nullptr;
    Like(x, op, {x.v}, &n);
    if (op == "LeakyRelu") n->SetFloat("alpha", UniformF(0.01f, 0.3f));
    names->push_back("unary_" + op);
  }

  void Binary(std::vector<std::string>* names) {
    Val x = Any();
    const std::string op = Pick<std::string>({"Add", "Sub", "Mul", "Div", "Max", "Min"});
    ir::Value* other = Operand(x, op == "Div");
    // The constant first sometimes: broadcasting and the commuted matchers both ways.
    const bool swap = op != "Div" && Chance(0.3);
    Like(x, op, swap ? std::vector<ir::Value*>{other, x.v} : std::vector<ir::Value*>{x.v, other});
    names->push_back("binary_" + op);
  }

  // Constant subexpressions: folded into initializers, also through Shape/Size.
  void Folding(std::vector<std::string>* names) {
    Val x = Any();
    Shape s = BroadcastShape(x);
    ir::Value* c =
        Node(Pick<std::string>({"Add", "Mul", "Sub"}), {Const(s, -1, 1), Const(s, -1, 1)})
            ->output(0);
    if (Chance(0.5)) c = Node("Exp", {c})->output(0);
    if (Chance(0.3)) c = Node("Transpose", {Const({3, 2}, -1, 1)})->output(0), s = {2, 3};
    if (Broadcasts(s, x)) {
      Like(x, "Add", {x.v, c});
    } else {
      ir::Node* mean = Node("ReduceMean", {c});
      mean->SetInt("keepdims", 0);
      Like(x, "Mul", {x.v, mean->output(0)});
    }
    names->push_back("folding");
  }

  // Identities simplify_algebra removes: x*1, x+0, x/c, Neg(Neg(x)), Sqrt(x*x+eps).
  void Algebra(std::vector<std::string>* names) {
    Val x = Any();
    switch (Uniform(0, 4)) {
      case 0:
        x = Like(x, "Mul", {x.v, Scalar(1.f)});
        break;
      case 1:
        x = Like(x, "Add", {Const(BroadcastShape(x), 0.f, 0.f), x.v});
        break;
      case 2:
        x = Like(x, "Div", {x.v, NonZeroConst(BroadcastShape(x))});
        break;
      case 3:
        x = Like(x, "Neg", {Like(x, "Neg", {x.v}).v});
        break;
      default: {
        Val sq = Like(x, "Mul", {x.v, x.v});
        x = Like(x, "Sqrt", {Like(x, "Add", {sq.v, Scalar(1e-3f)}).v});
      }
    }
    names->push_back("algebra");
  }

  ir::Value* Activation(const Val& x, std::string* name) {
    const std::string op =
        Pick<std::string>({"Relu", "Sigmoid", "Tanh", "LeakyRelu", "Clip", "HardSigmoid"});
    *name += "_" + op;
    ir::Node* n = nullptr;
    if (op == "Clip") {
      return Like(x, "Clip", {x.v, Scalar(UniformF(-1.f, 0.f)), Scalar(UniformF(0.2f, 6.f))}, &n).v;
    }
    Val y = Like(x, op, {x.v}, &n);
    if (op == "LeakyRelu") n->SetFloat("alpha", UniformF(0.01f, 0.3f));
    if (op == "HardSigmoid") n->SetFloat("alpha", UniformF(0.1f, 0.3f));
    return y.v;
  }

  // MatMul with a constant weight: + bias (Gemm when 2-D), + activation, a scalar scale or a
  // transposed weight (FusedMatMul), 2-D MatMul of a Transpose (Gemm transA/transB).
  void MatMulBlock(std::vector<std::string>* names) {
    const int64_t rank = Uniform(2, 4);
    Val x = OfRank(rank, 1024);
    const int64_t k = x.shape.back(), n = Dim() + 1;
    const float scale = 1.f / std::sqrt(static_cast<float>(k));
    std::string name = "matmul";
    ir::Value* w = Const({k, n}, -scale, scale);
    if (Chance(0.3))
      w = Node("Transpose", {Const({n, k}, -scale, scale)})->output(0), name += "_wT";
    Shape out_shape = x.shape;
    out_shape.back() = n;
    Val y = Emit("MatMul", {x.v, w}, out_shape, x.batch);
    if (Chance(0.3)) y = Like(y, "Mul", {y.v, Scalar(UniformF(0.2f, 2.f))}), name += "_scale";
    if (Chance(0.6)) {
      ir::Value* bias = Const(Chance(0.8) ? Shape{n} : Shape{1, n}, -1, 1);
      y = Like(
          y, "Add",
          Chance(0.7) ? std::vector<ir::Value*>{y.v, bias} : std::vector<ir::Value*>{bias, y.v});
      name += "_bias";
    }
    if (Chance(0.5)) Activation(y, &name);
    names->push_back(name);
  }

  // Gemm with attributes in the spec, + BatchNormalization or activation.
  void GemmBlock(std::vector<std::string>* names) {
    Val a = OfRank(2, 512);
    const bool trans_a = !symbolic_ && Chance(0.3);  // A is [K, M]: its first axis is no batch
    const int64_t m = trans_a ? a.shape[1] : a.shape[0], k = trans_a ? a.shape[0] : a.shape[1];
    const int64_t n = Dim() + 1;
    const bool trans_b = Chance(0.5);
    std::vector<ir::Value*> in = {a.v, Const(trans_b ? Shape{n, k} : Shape{k, n}, -0.5f, 0.5f)};
    if (Chance(0.7)) in.push_back(Const(Pick<int>({0, 1}) ? Shape{n} : Shape{1, n}, -1, 1));
    ir::Node* gemm = nullptr;
    Val y = Emit("Gemm", in, {m, n}, trans_a ? -1 : a.batch, &gemm);
    if (trans_a) gemm->SetInt("transA", 1);
    if (trans_b) gemm->SetInt("transB", 1);
    if (Chance(0.3)) gemm->SetFloat("alpha", UniformF(0.5f, 1.5f));
    if (Chance(0.3) && in.size() == 3) gemm->SetFloat("beta", UniformF(0.5f, 1.5f));
    std::string name = "gemm";
    if (Chance(0.4)) {
      y = BatchNorm(y), name += "_bn";
    }
    if (Chance(0.5)) Activation(y, &name);
    names->push_back(name);
  }

  Val BatchNorm(const Val& x) {
    const int64_t c = x.shape[1];
    ir::Node* bn = nullptr;
    Val y = Like(x, "BatchNormalization",
                 {x.v, Const({c}, 0.5f, 1.5f), Const({c}, -0.5f, 0.5f), Const({c}, -0.5f, 0.5f),
                  Const({c}, 0.5f, 2.f)},
                 &bn);
    if (Chance(0.5)) bn->SetFloat("epsilon", Pick<float>({1e-5f, 1e-3f}));
    return y;
  }

  Val Image() {
    for (auto it = pool_.rbegin(); it != pool_.rend(); ++it) {
      if (it->rank() == 4 && it->batch <= 0 && it->shape[2] >= 3 && it->shape[3] >= 3 &&
          NumElements(it->shape) <= 2048 && Chance(0.7)) {
        return *it;
      }
    }
    return NewInput({batch_size_, Pick<int64_t>({1, 3, 4, 8}), Pick<int64_t>({5, 6, 8}),
                     Pick<int64_t>({5, 7, 8})});
  }

  // Conv with random kernel, stride, pads, dilation and group; + BatchNorm, + per-channel
  // Mul/Add, + activation, + residual Add; a constant Pad before it.
  void ConvBlock(std::vector<std::string>* names) {
    Val x = Image();
    std::string name = "conv";
    const int64_t c = x.shape[1];
    if (Chance(0.25)) {
      const int64_t p = Uniform(1, 2);
      ir::Value* pads = Ints({0, 0, p, Uniform(0, 1), 0, 0, Uniform(0, 1), p});
      const std::vector<int64_t> pv = pads->initializer()->ToInt64Vector();
      Shape s = x.shape;
      s[2] += pv[2] + pv[6];
      s[3] += pv[3] + pv[7];
      x = Emit("Pad", {x.v, pads}, s, x.batch);
      name = "pad_" + name;
    }
    const int64_t group = (c % 2 == 0 && Chance(0.3)) ? (Chance(0.5) ? c : 2) : 1;
    const int64_t m = group * Pick<int64_t>({1, 2, 3, 4});
    const int64_t kh = Pick<int64_t>({1, 3}), kw = Chance(0.8) ? kh : Pick<int64_t>({1, 2, 3});
    const int64_t stride = Chance(0.7) ? 1 : 2, dilation = Chance(0.85) ? 1 : 2;
    const int64_t ph = Chance(0.6) ? (kh - 1) * dilation / 2 : 0,
                  pw = Chance(0.6) ? (kw - 1) * dilation / 2 : 0;
    const auto out_dim = [&](int64_t in, int64_t k, int64_t p) -> int64_t {
      const int64_t span = in + 2 * p - dilation * (k - 1) - 1;
      return span < 0 ? 0 : span / stride + 1;  // a window that does not fit: no Conv
    };
    const int64_t oh = out_dim(x.shape[2], kh, ph), ow = out_dim(x.shape[3], kw, pw);
    if (oh < 1 || ow < 1) return;
    const float scale = 1.f / std::sqrt(static_cast<float>(c / group * kh * kw));
    std::vector<ir::Value*> in = {x.v, Const({m, c / group, kh, kw}, -scale, scale)};
    if (Chance(0.6)) in.push_back(Const({m}, -0.5f, 0.5f));
    ir::Node* conv = nullptr;
    Val y = Emit("Conv", in, {x.shape[0], m, oh, ow}, x.batch, &conv);
    conv->SetInts("kernel_shape", {kh, kw});
    if (ph || pw || Chance(0.3)) conv->SetInts("pads", {ph, pw, ph, pw});
    if (stride != 1 || Chance(0.3)) conv->SetInts("strides", {stride, stride});
    if (dilation != 1) conv->SetInts("dilations", {dilation, dilation});
    if (group != 1) conv->SetInt("group", group);
    if (Chance(0.4)) y = BatchNorm(y), name += "_bn";
    if (Chance(0.25)) {
      y = Like(y, "Mul", {y.v, NonZeroConst({m, 1, 1})});
      y = Like(y, "Add", {y.v, Const({m, 1, 1}, -1, 1)});
      name += "_muladd";
    }
    if (Chance(0.3)) {
      ir::Value* residual = nullptr;
      for (const Val& r : pool_) {
        if (r.shape == y.shape && r.v != y.v && r.batch == y.batch) residual = r.v;
      }
      if (residual) y = Like(y, "Add", {y.v, residual}), name += "_residual";
    }
    if (Chance(0.6)) Activation(y, &name);
    names->push_back(name);
  }

  void Pool(std::vector<std::string>* names) {
    Val x = Image();
    const std::string op =
        Pick<std::string>({"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"});
    if (op.rfind("Global", 0) == 0) {
      Emit(op, {x.v}, {x.shape[0], x.shape[1], 1, 1}, x.batch);
    } else {
      const int64_t k = Pick<int64_t>({2, 3}), stride = Pick<int64_t>({1, 2});
      const int64_t p = k == 3 && Chance(0.5) ? 1 : 0;
      const int64_t oh = (x.shape[2] + 2 * p - k) / stride + 1,
                    ow = (x.shape[3] + 2 * p - k) / stride + 1;
      ir::Node* n = nullptr;
      Emit(op, {x.v}, {x.shape[0], x.shape[1], oh, ow}, x.batch, &n);
      n->SetInts("kernel_shape", {k, k});
      n->SetInts("strides", {stride, stride});
      if (p) n->SetInts("pads", {p, p, p, p});
      if (op == "AveragePool" && p && Chance(0.5)) n->SetInt("count_include_pad", 1);
    }
    names->push_back("pool_" + op);
  }

  // GELU (erf and tanh forms, operand orders varied), QuickGelu/SiLU, HardSwish, HardSigmoid.
  void GeluLike(std::vector<std::string>* names) {
    Val x = Any();
    if (Chance(0.4) && x.rank() > 0 && x.shape.back() > 1 &&
        Free(x, x.rank() - 1)) {  // bias before it: BiasGelu
      x = Like(x, "Add", {x.v, Const({x.shape.back()}, -1, 1)});
    }
    switch (Uniform(0, 4)) {
      case 0: {  // x * 0.5 * (1 + erf(x / sqrt(2)))
        Val d = Chance(0.5) ? Like(x, "Div", {x.v, Scalar(1.4142135f)})
                            : Like(x, "Mul", {x.v, Scalar(0.70710678f)});
        Val e = Like(x, "Erf", {d.v});
        Val one = Like(x, "Add",
                       Chance(0.5) ? std::vector<ir::Value*>{e.v, Scalar(1.f)}
                                   : std::vector<ir::Value*>{Scalar(1.f), e.v});
        if (Chance(0.5)) {
          Like(x, "Mul", {Like(x, "Mul", {x.v, one.v}).v, Scalar(0.5f)});
        } else {
          Like(x, "Mul", {Like(x, "Mul", {x.v, Scalar(0.5f)}).v, one.v});
        }
        names->push_back("gelu_erf");
        break;
      }
      case 1: {  // 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))
        Val cube = Like(x, "Pow", {x.v, Scalar(3.f)});
        Val inner = Like(x, "Add", {x.v, Like(x, "Mul", {cube.v, Scalar(0.044715f)}).v});
        Val t = Like(x, "Tanh", {Like(x, "Mul", {inner.v, Scalar(0.7978845608f)}).v});
        Val one = Like(x, "Add", {t.v, Scalar(1.f)});
        Like(x, "Mul", {Like(x, "Mul", {x.v, Scalar(0.5f)}).v, one.v});
        names->push_back("gelu_tanh");
        break;
      }
      case 2: {  // x * Sigmoid(alpha x)
        const float alpha = Chance(0.5) ? 1.f : 1.702f;
        Val s = Like(x, "Sigmoid", {alpha == 1.f ? x.v : Like(x, "Mul", {x.v, Scalar(alpha)}).v});
        Like(x, "Mul",
             Chance(0.5) ? std::vector<ir::Value*>{x.v, s.v} : std::vector<ir::Value*>{s.v, x.v});
        names->push_back("quick_gelu");
        break;
      }
      case 3: {  // x * Clip(x + 3, 0, 6) / 6
        Val c = Like(x, "Clip", {Like(x, "Add", {x.v, Scalar(3.f)}).v, Scalar(0.f), Scalar(6.f)});
        if (Chance(0.5)) {
          Like(x, "Div", {Like(x, "Mul", {x.v, c.v}).v, Scalar(6.f)});
        } else {
          Like(x, "Mul", {x.v, Like(x, "Div", {c.v, Scalar(6.f)}).v});
        }
        names->push_back("hard_swish");
        break;
      }
      default: {  // Clip(x / 6 + 0.5, 0, 1)
        Val a = Like(x, "Add", {Like(x, "Div", {x.v, Scalar(6.f)}).v, Scalar(0.5f)});
        Like(x, "Clip", {a.v, Scalar(0.f), Scalar(1.f)});
        names->push_back("hard_sigmoid");
      }
    }
  }

  // Decomposed LayerNorm over the last axis (ReduceMean/Sub/Pow/Sqrt/Div, gamma, beta), after a
  // residual Add (SkipLayerNorm) sometimes; RMS norm; LayerNormalization itself.
  void LayerNorm(std::vector<std::string>* names) {
    Val x = OfRank(Uniform(2, 3));
    if (x.shape.back() < 4) x = NewInput({batch_size_, Dim(), Pick<int64_t>({4, 8, 16})});
    const int64_t d = x.shape.back();
    std::string name = "layer_norm";
    if (Chance(0.4)) {
      x = Like(x, "Add", {x.v, Operand(x)}), name = "skip_" + name;
    }
    const float eps = Pick<float>({1e-5f, 1e-6f, 1e-12f});
    ir::Node* n = nullptr;
    const int choice = Uniform(0, 4);
    Val y;
    if (choice == 4) {
      y = Like(x, "LayerNormalization", {x.v, Const({d}, 0.5f, 1.5f), Const({d}, -0.5f, 0.5f)}, &n);
      n->SetFloat("epsilon", eps);
      name += "_op";
    } else {
      const bool rms = choice == 3;
      Val mean;
      Val centered = x;
      if (!rms) {
        mean = Emit("ReduceMean", {x.v}, x.shape, x.batch, &n);
        mean.shape.back() = 1;
        pool_.back().shape.back() = 1;
        n->SetInts("axes", {Chance(0.5) ? -1 : x.rank() - 1});
        centered = Like(x, "Sub", {x.v, mean.v});
      }
      Val sq = Chance(0.5) ? Like(x, "Pow", {centered.v, Scalar(2.f)})
                           : Like(x, "Mul", {centered.v, centered.v});
      Shape reduced = x.shape;
      reduced.back() = 1;
      Val var = Emit("ReduceMean", {sq.v}, reduced, x.batch, &n);
      n->SetInts("axes", {-1});
      Val sd =
          Emit("Sqrt", {Emit("Add", {var.v, Scalar(eps)}, reduced, x.batch).v}, reduced, x.batch);
      y = Chance(0.7)
              ? Like(x, "Div", {centered.v, sd.v})
              : Like(x, "Mul", {centered.v, Emit("Reciprocal", {sd.v}, reduced, x.batch).v});
      if (Chance(0.8)) y = Like(x, "Mul", {y.v, Const({d}, 0.5f, 1.5f)});
      if (!rms && Chance(0.7)) y = Like(x, "Add", {y.v, Const({d}, -0.5f, 0.5f)});
      if (rms) name = "rms_norm";
    }
    names->push_back(name);
  }

  std::vector<int64_t> Perm(int64_t rank) {
    std::vector<int64_t> p(static_cast<size_t>(rank));
    std::iota(p.begin(), p.end(), 0);
    std::shuffle(p.begin(), p.end(), rng_);
    return p;
  }
  Val Transpose(const Val& x, const std::vector<int64_t>& perm) {
    Shape s;
    int batch = -1;
    for (size_t i = 0; i < perm.size(); ++i) {
      s.push_back(x.shape[static_cast<size_t>(perm[i])]);
      if (perm[i] == x.batch) batch = static_cast<int>(i);
    }
    ir::Node* n = nullptr;
    Val y = Emit("Transpose", {x.v}, s, batch, &n);
    n->SetInts("perm", perm);
    return y;
  }

  // Transpose pairs (inverse or not), and Transposes around ops they commute with.
  void Transposes(std::vector<std::string>* names) {
    Val x = Any();
    if (x.rank() < 2) return;
    std::vector<int64_t> perm = Perm(x.rank());
    Val t = Transpose(x, perm);
    std::string name = "transpose";
    if (Chance(0.6)) {
      const std::string op =
          Pick<std::string>({"Relu", "Add", "Mul", "ReduceSum", "Sigmoid", "Swish"});
      if (op == "Swish") {  // reads the Transpose twice: push_transposes' region rule
        t = Like(t, "Mul", {t.v, Like(t, "Sigmoid", {t.v}).v});
      } else if (op == "Add" || op == "Mul") {
        t = Like(t, op, {t.v, Operand(t)});
      } else if (op == "ReduceSum" && t.rank() > 2 && Free(t, t.rank() - 1)) {
        Shape s = t.shape;
        s.back() = 1;
        t = Emit("ReduceSum", {t.v, Ints({-1})}, s, t.batch);
      } else {
        t = Like(t, op == "ReduceSum" ? "Relu" : op, {t.v});
      }
      name += "_through";
    }
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i)
      inverse[static_cast<size_t>(perm[i])] = static_cast<int64_t>(i);
    Transpose(t, Chance(0.6) ? inverse : Perm(t.rank()));
    names->push_back(name);
  }

  // Reshape chains, Flatten, Squeeze/Unsqueeze pairs; the batch axis stays first (target 0).
  void Reshapes(std::vector<std::string>* names) {
    Val x = Any();
    if (x.batch > 0) return;
    switch (Uniform(0, 2)) {
      case 0: {
        // Merge or split the dims after the first, keep the first with 0 (or its size).
        const int64_t rest = NumElements(x.shape) / (x.shape.empty() ? 1 : x.shape[0]);
        Shape target{x.shape.empty() ? 1 : x.shape[0]};
        if (rest % 2 == 0 && Chance(0.5)) {
          target.push_back(2), target.push_back(rest / 2);
        } else {
          target.push_back(rest);
        }
        std::vector<int64_t> spec = target;
        if (x.batch == 0 && (symbolic_ || Chance(0.5))) spec[0] = 0;
        if (Chance(0.3)) spec.back() = -1;
        Val y = Emit("Reshape", {x.v, Ints(spec)}, target, x.batch);
        if (Chance(0.5))
          Emit("Reshape", {y.v, Ints(x.batch == 0 ? With0(x.shape) : x.shape)}, x.shape, x.batch);
        names->push_back("reshape");
        break;
      }
      case 1: {
        if (x.rank() < 1) return;
        const int64_t axis = Uniform(1, static_cast<int>(x.rank()));
        Shape s = x.shape;
        s.insert(s.begin() + axis, 1);
        Val u = Emit("Unsqueeze", {x.v, Ints({axis})}, s, x.batch);
        if (Chance(0.7)) Emit("Squeeze", {u.v, Ints({axis})}, x.shape, x.batch);
        names->push_back("unsqueeze_squeeze");
        break;
      }
      default: {
        if (x.rank() < 2) return;
        const int64_t axis = Uniform(1, static_cast<int>(x.rank()) - 1);
        const int64_t inner = std::accumulate(x.shape.begin() + axis, x.shape.end(), int64_t{1},
                                              std::multiplies<int64_t>());
        ir::Node* n = nullptr;
        Emit("Flatten", {x.v}, {NumElements(x.shape) / inner, inner},
             x.batch == 0 && axis == 1 ? 0 : -1, &n);
        n->SetInt("axis", axis);
        // A symbolic batch merged with other axes has no constant size: drop the value.
        if (symbolic_ && x.batch == 0 && axis != 1) pool_.pop_back();
        names->push_back("flatten");
      }
    }
  }
  static std::vector<int64_t> With0(Shape s) {
    if (!s.empty()) s[0] = 0;
    return s;
  }

  // Shape arithmetic: Reshape to Concat(Shape(x)[:-2], Shape(x)[-2] * Shape(x)[-1]).
  void ShapeMath(std::vector<std::string>* names) {
    Val x = Any();
    if (x.rank() < 3 || x.batch >= x.rank() - 2) return;
    ir::Value* shape = Node("Shape", {x.v})->output(0);
    ir::Value* head = Node("Slice", {shape, Ints({0}), Ints({x.rank() - 2}), Ints({0})})->output(0);
    ir::Value* a = Node("Gather", {shape, Ints({x.rank() - 2})})->output(0);
    ir::Value* b = Node("Gather", {shape, Ints({x.rank() - 1})})->output(0);
    ir::Value* prod = Node("Mul", {a, b})->output(0);
    ir::Node* concat = Node("Concat", {head, prod});
    concat->SetInt("axis", 0);
    Shape s(x.shape.begin(), x.shape.end() - 2);
    s.push_back(x.shape[x.shape.size() - 2] * x.shape.back());
    Emit("Reshape", {x.v, concat->output(0)}, s, x.batch);
    names->push_back("shape_math");
  }

  void ConcatSplit(std::vector<std::string>* names) {
    Val x = Any();
    if (x.rank() < 1) return;
    int64_t axis = Uniform(0, static_cast<int>(x.rank()) - 1);
    if (!Free(x, axis)) axis = x.rank() - 1;
    if (!Free(x, axis)) return;
    const int64_t neg = Chance(0.3) ? axis - x.rank() : axis;
    switch (Uniform(0, 2)) {
      case 0: {
        Shape other = x.shape;
        other[axis] = Dim();
        // A constant's size along a symbolic batch axis would be one sample's: not then.
        const bool constant_ok = !symbolic_ || x.batch < 0;
        ir::Value* o = constant_ok && Chance(0.5) ? Const(other, -1, 1) : nullptr;
        if (!o) {  // a second pool value of a matching shape, or the value itself (twice)
          other = x.shape;
          o = x.v;
        }
        Shape s = x.shape;
        s[axis] += other[axis];
        ir::Node* n = nullptr;
        Emit("Concat", {x.v, o}, s, x.batch, &n);
        n->SetInt("axis", neg);
        names->push_back("concat");
        break;
      }
      case 1: {
        if (x.shape[axis] < 2) return;
        const int64_t first = Uniform(1, static_cast<int>(x.shape[axis]) - 1);
        ir::Node* n = g_->AddNode("Split", {x.v, Ints({first, x.shape[axis] - first})}, 2, "Split");
        n->SetInt("axis", neg);
        for (int i = 0; i < 2; ++i) {
          Shape s = x.shape;
          s[axis] = i == 0 ? first : x.shape[axis] - first;
          pool_.push_back(Val{n->output(i), s, x.batch});
        }
        if (Chance(0.5)) {  // and back: Concat(Split(x)) is x
          ir::Node* c = Node("Concat", {n->output(0), n->output(1)});
          c->SetInt("axis", neg);
          pool_.push_back(Val{c->output(0), x.shape, x.batch});
        }
        names->push_back("split");
        break;
      }
      default: {
        if (x.shape[axis] < 2) return;
        const int64_t start = Uniform(0, static_cast<int>(x.shape[axis]) - 2);
        const int64_t end = Chance(0.3) ? int64_t{1} << 40 : Uniform(start + 1, x.shape[axis]);
        const int64_t step = Chance(0.7) ? 1 : 2;
        Shape s = x.shape;
        s[axis] = (std::min(end, x.shape[axis]) - start + step - 1) / step;
        Emit("Slice", {x.v, Ints({start}), Ints({end}), Ints({neg}), Ints({step})}, s, x.batch);
        names->push_back("slice");
      }
    }
  }

  void Reduce(std::vector<std::string>* names) {
    Val x = Any();
    if (x.rank() < 2) return;
    const std::string op = Pick<std::string>(
        {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceL2", "ReduceSumSquare"});
    std::vector<int64_t> axes;
    for (int64_t a = 0; a < x.rank(); ++a) {
      if (Free(x, a) && a != x.batch && Chance(0.5)) axes.push_back(a);
    }
    if (axes.empty()) axes.push_back(x.rank() - 1);
    if (!Free(x, axes[0])) return;
    const bool keep = Chance(0.6);
    Shape s;
    int batch = -1;
    for (int64_t a = 0; a < x.rank(); ++a) {
      const bool reduced = std::find(axes.begin(), axes.end(), a) != axes.end();
      if (a == x.batch) batch = static_cast<int>(s.size());
      if (!reduced)
        s.push_back(x.shape[a]);
      else if (keep)
        s.push_back(1);
    }
    ir::Node* n = nullptr;
    if (op == "ReduceSum") {
      Emit(op, {x.v, Ints(axes)}, s, batch, &n);
    } else {
      Emit(op, {x.v}, s, batch, &n);
      n->SetInts("axes", axes);
    }
    if (!keep) n->SetInt("keepdims", 0);
    names->push_back("reduce_" + op);
  }

  void Softmax(std::vector<std::string>* names) {
    Val x = Any();
    if (x.rank() < 1) return;
    const int64_t axis = Chance(0.6) ? -1 : Uniform(0, static_cast<int>(x.rank()) - 1);
    if (!Free(x, axis < 0 ? x.rank() - 1 : axis) && symbolic_) return;
    ir::Node* n = nullptr;
    Like(x, Chance(0.8) ? "Softmax" : "LogSoftmax", {x.v}, &n);
    if (axis != -1 || Chance(0.5)) n->SetInt("axis", axis);
    names->push_back("softmax");
  }

  // Cast chains: lossless (float -> double -> float) and lossy (float -> int32 -> float).
  void Casts(std::vector<std::string>* names) {
    Val x = Any();
    const DataType mid =
        Pick<DataType>({DataType::kDouble, DataType::kInt32, DataType::kFloat, DataType::kInt64});
    // Truncation to integers is a step function: see Floor in Unary.
    if (mid == DataType::kInt32 || mid == DataType::kInt64) x = Input(x);
    ir::Node* a = nullptr;
    Val m = Like(x, "Cast", {Like(x, "Mul", {x.v, Scalar(3.f)}).v}, &a);
    a->SetInt("to", static_cast<int64_t>(mid));
    pool_.pop_back();  // not a float value
    ir::Node* b = nullptr;
    Like(x, "Cast", {m.v}, &b);
    b->SetInt("to", static_cast<int64_t>(DataType::kFloat));
    names->push_back("cast_chain");
  }

  // Q/K/V projections, head split, scaled scores, optional mask, Softmax, context, output
  // projection: the shape fuse_attention looks for.
  void Attention(std::vector<std::string>* names) {
    const int64_t heads = Pick<int64_t>({1, 2, 4}), head_size = Pick<int64_t>({2, 4});
    const int64_t d = heads * head_size, s = Pick<int64_t>({3, 4, 6});
    Val x;
    for (const Val& v : pool_) {
      if (v.rank() == 3 && v.batch == 0 && v.shape[2] == d) x = v;
    }
    if (!x.v) x = NewInput({batch_size_, s, d});
    const int64_t seq = x.shape[1], b = x.shape[0];
    const float scale = 1.f / std::sqrt(static_cast<float>(d));
    auto project = [&](const char* what) {
      Val p = Emit("MatMul", {x.v, Const({d, d}, -scale, scale)}, {b, seq, d}, 0);
      p = Like(p, "Add", {p.v, Const({d}, -0.2f, 0.2f)});
      Val r = Emit("Reshape", {p.v, Ints({0, 0, heads, head_size})}, {b, seq, heads, head_size}, 0);
      return Transpose(r, std::string(what) == "k" ? std::vector<int64_t>{0, 2, 3, 1}
                                                   : std::vector<int64_t>{0, 2, 1, 3});
    };
    Val q = project("q"), k = project("k"), v = project("v");
    Val scores = Emit("MatMul", {q.v, k.v}, {b, heads, seq, seq}, 0);
    const float factor = 1.f / std::sqrt(static_cast<float>(head_size));
    scores = Chance(0.5) ? Like(scores, "Mul", {scores.v, Scalar(factor)})
                         : Like(scores, "Div", {scores.v, Scalar(1.f / factor)});
    if (Chance(0.3)) scores = Like(scores, "Add", {scores.v, Const({seq, seq}, -1, 0)});
    ir::Node* sm = nullptr;
    Val probs = Like(scores, "Softmax", {scores.v}, &sm);
    sm->SetInt("axis", -1);
    Val ctx = Emit("MatMul", {probs.v, v.v}, {b, heads, seq, head_size}, 0);
    Val t = Transpose(ctx, {0, 2, 1, 3});
    Val merged = Emit("Reshape", {t.v, Ints({0, 0, d})}, {b, seq, d}, 0);
    Val out = Emit("MatMul", {merged.v, Const({d, d}, -scale, scale)}, {b, seq, d}, 0);
    Like(out, "Add", {out.v, Const({d}, -0.2f, 0.2f)});
    names->push_back("attention");
  }

  // No-ops the basic level removes: Identity, Dropout, identity Transpose/Slice/Expand/Pad.
  void Nops(std::vector<std::string>* names) {
    Val x = Any();
    switch (Uniform(0, 4)) {
      case 0:
        Like(x, "Identity", {x.v});
        break;
      case 1:
        Like(x, "Dropout", {x.v});
        break;
      case 2: {
        std::vector<int64_t> id(static_cast<size_t>(x.rank()));
        std::iota(id.begin(), id.end(), 0);
        if (x.rank() > 0) Transpose(x, id);
        break;
      }
      case 3:
        Like(x, "Expand",
             {x.v, Ints(Shape(static_cast<size_t>(Uniform(0, static_cast<int>(x.rank()))), 1))});
        break;
      default:
        Like(x, "Pad", {x.v, Ints(Shape(static_cast<size_t>(2 * x.rank()), 0))});
    }
    names->push_back("nop");
  }

  // Two branches from one value that meet again (also the same node twice: CSE).
  void Diamond(std::vector<std::string>* names) {
    Val x = Any();
    const std::string op = Pick<std::string>({"Relu", "Sigmoid", "Tanh", "Abs"});
    Val a = Like(x, op, {x.v});
    Val b = Chance(0.5) ? Like(x, op, {x.v}) : Like(x, "Neg", {x.v});
    Like(x, Pick<std::string>({"Add", "Mul", "Sub"}), {a.v, b.v});
    names->push_back("diamond");
  }

  // The last value, and up to two others no node reads.
  void ChooseOutputs() {
    std::vector<ir::Value*> outputs;
    for (auto it = pool_.rbegin(); it != pool_.rend(); ++it) {
      ir::Value* v = it->v;
      if (!v->producer()) continue;
      if (std::find(outputs.begin(), outputs.end(), v) != outputs.end()) continue;
      if (outputs.empty() || (v->uses().empty() && outputs.size() < 3 && Chance(0.7))) {
        outputs.push_back(v);
      }
    }
    for (ir::Value* v : outputs) g_->AddOutput(v);
  }

  std::mt19937_64 rng_;
  GeneratorOptions options_;
  std::unique_ptr<ir::Model> model_;
  ir::Graph* g_ = nullptr;
  bool symbolic_ = false;
  int64_t batch_size_ = 1;
  std::vector<Val> pool_;
};

}  // namespace

GeneratedGraph GenerateGraph(uint64_t seed, const GeneratorOptions& options) {
  std::mt19937_64 attempts(seed);
  for (int i = 0;; ++i) {
    GeneratedGraph graph = Generator(i == 0 ? seed : attempts(), options).Build();
    if (graph.model->graph->outputs().empty()) continue;
    // The generator's shape bookkeeping against ONNX's rules: a candidate that fails is a
    // generator mistake, never a graph to optimize.
    if ((ir::InferShapes(*graph.model).ok() && ir::CheckModel(*graph.model).ok()) || i >= 20) {
      return graph;
    }
  }
}

}  // namespace graphopt::fuzz
