// The recurrent layers RNN, GRU and LSTM: forward/reverse/bidirectional, sequence_lens,
// initial states, activation lists, clip, GRU's linear_before_reset, LSTM peepholes and
// input_forget, and the batch-major layout=1. Input projections for all steps are one GEMM.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/blas_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset
#include "backends/reference/kernels/float_compute.h"

namespace graphopt::reference {
namespace {

enum class CellKind { kRnn, kGru, kLstm };

int GateCount(CellKind kind) { return kind == CellKind::kRnn ? 1 : kind == CellKind::kGru ? 3 : 4; }

// One named activation with its alpha/beta, as listed in the `activations` attribute.
struct Activation {
  std::string name;  // lower case
  double alpha = 0;
  double beta = 0;

  double operator()(double x) const {
    if (name == "sigmoid") return 1.0 / (1.0 + std::exp(-x));
    if (name == "tanh") return std::tanh(x);
    if (name == "relu") return std::max(0.0, x);
    if (name == "affine") return alpha * x + beta;
    if (name == "leakyrelu") return x >= 0 ? x : alpha * x;
    if (name == "thresholdedrelu") return x > alpha ? x : 0.0;
    if (name == "scaledtanh") return alpha * std::tanh(beta * x);
    if (name == "hardsigmoid") return std::clamp(alpha * x + beta, 0.0, 1.0);
    if (name == "elu") return x >= 0 ? x : alpha * (std::exp(x) - 1);
    if (name == "softsign") return x / (1 + std::abs(x));
    return std::log1p(std::exp(x));  // softplus
  }
};

bool KnownActivation(const std::string& n) {
  static const char* kNames[] = {
      "sigmoid",    "tanh",        "relu", "affine",   "leakyrelu", "thresholdedrelu",
      "scaledtanh", "hardsigmoid", "elu",  "softsign", "softplus"};
  return std::find_if(std::begin(kNames), std::end(kNames),
                      [&](const char* k) { return n == k; }) != std::end(kNames);
}

// The activations per direction (`per_direction` each), defaults when the attribute is absent.
// alpha/beta lists are consumed in order by the activations that take them.
Status ReadActivations(const KernelContext& ctx, const std::vector<std::string>& defaults,
                       int64_t directions, std::vector<Activation>* out) {
  std::vector<std::string> names;
  if (const ir::Attribute* a = ctx.node().attr("activations")) names = a->strings;
  if (names.empty()) {
    for (int64_t d = 0; d < directions; ++d)
      names.insert(names.end(), defaults.begin(), defaults.end());
  }
  if (names.size() != defaults.size() * static_cast<size_t>(directions)) {
    return ctx.Fail("activations lists " + std::to_string(names.size()) + " functions, expected " +
                    std::to_string(defaults.size() * static_cast<size_t>(directions)));
  }
  const std::vector<float> alphas = ctx.node().GetFloats("activation_alpha");
  const std::vector<float> betas = ctx.node().GetFloats("activation_beta");
  size_t next_alpha = 0, next_beta = 0;
  for (std::string n : names) {
    std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return std::tolower(c); });
    if (!KnownActivation(n)) return ctx.Fail("unknown activation '" + n + "'");
    Activation act{n, 0, 0};
    const bool takes_alpha = n == "affine" || n == "leakyrelu" || n == "thresholdedrelu" ||
                             n == "scaledtanh" || n == "hardsigmoid" || n == "elu";
    const bool takes_beta = n == "affine" || n == "scaledtanh" || n == "hardsigmoid";
    double default_alpha = n == "leakyrelu" ? 0.01 : n == "hardsigmoid" ? 0.2 : 1.0;
    double default_beta = n == "hardsigmoid" ? 0.5 : 0.0;
    if (takes_alpha) act.alpha = next_alpha < alphas.size() ? alphas[next_alpha++] : default_alpha;
    if (takes_beta) act.beta = next_beta < betas.size() ? betas[next_beta++] : default_beta;
    out->push_back(act);
  }
  return Status::Ok();
}

// Copies a [a, b, rest] tensor to [b, a, rest] (layout=1 <-> layout=0 conversions).
template <typename T>
std::vector<T> SwapLeadingAxes(const T* src, int64_t a, int64_t b, int64_t rest) {
  std::vector<T> dst(static_cast<size_t>(a * b * rest));
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::copy(src + (i * b + j) * rest, src + (i * b + j + 1) * rest,
                dst.begin() + (j * a + i) * rest);
  return dst;
}

// Shapes, attributes and inputs of one RNN/GRU/LSTM node, checked. Dims are in ONNX's names:
// dirs (1 or 2), seq, batch, input and hidden sizes, gh = gates * hidden.
struct RecurrentSpec {
  CellKind kind = CellKind::kRnn;
  int64_t layout = 0;
  bool reverse = false;  // direction "reverse" (bidirectional: direction 1 only)
  int64_t dirs = 1, seq = 0, batch = 0, input = 0, hidden = 0, gh = 0;
  const Tensor *x = nullptr, *w = nullptr, *r = nullptr, *bias = nullptr;
  const Tensor *init_h = nullptr, *init_c = nullptr, *peep = nullptr;
  std::vector<int64_t> lens;  // per batch row
  Shape state_shape;
  std::vector<Activation> acts;  // acts_per_direction per direction
  size_t acts_per_direction = 1;
  double clip = 0;
  bool linear_before_reset = false;
  bool input_forget = false;

  double Clipped(double v) const { return clip > 0 ? std::clamp(v, -clip, clip) : v; }
  bool Reverse(int64_t d) const { return reverse || d == 1; }
};

// X, W, R and B: ranks, direction and the dims they imply.
Status ReadRecurrentShapes(const KernelContext& ctx, const FloatInputs& in, RecurrentSpec* s) {
  const ir::Node& node = ctx.node();
  s->x = in[0];
  s->w = in[1];
  s->r = in[2];
  if (!s->x || !s->w || !s->r) return ctx.Fail("inputs X, W and R are required");
  const Tensor &x = *s->x, &w = *s->w, &r = *s->r;
  if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) {
    return ctx.Fail("X, W and R must be rank 3, got " + ShapeToString(x.shape()) + ", " +
                    ShapeToString(w.shape()) + ", " + ShapeToString(r.shape()));
  }
  s->layout = node.GetInt("layout", 0);
  const std::string direction = node.GetString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    return ctx.Fail("unknown direction '" + direction + "'");
  }
  s->reverse = direction == "reverse";
  s->dirs = direction == "bidirectional" ? 2 : 1;
  s->seq = s->layout ? x.shape()[1] : x.shape()[0];
  s->batch = s->layout ? x.shape()[0] : x.shape()[1];
  s->input = x.shape()[2];
  s->hidden = node.GetInt("hidden_size", r.shape()[2]);
  s->gh = GateCount(s->kind) * s->hidden;
  if (w.shape() != Shape{s->dirs, s->gh, s->input} ||
      r.shape() != Shape{s->dirs, s->gh, s->hidden}) {
    return ctx.Fail("W " + ShapeToString(w.shape()) + " / R " + ShapeToString(r.shape()) +
                    " do not fit " + std::to_string(s->dirs) + " directions, hidden " +
                    std::to_string(s->hidden) + ", input " + std::to_string(s->input));
  }
  s->bias = in[3];
  if (s->bias && s->bias->shape() != Shape{s->dirs, 2 * s->gh}) {
    return ctx.Fail("B has wrong shape");
  }
  return Status::Ok();
}

// sequence_lens, initial states, peepholes, activations and the cell attributes.
Status ReadRecurrentOptions(const KernelContext& ctx, const FloatInputs& in, RecurrentSpec* s) {
  const ir::Node& node = ctx.node();
  s->lens.assign(static_cast<size_t>(s->batch), s->seq);
  if (const Tensor* sl = in[4]) {
    s->lens = sl->ToInt64Vector();
    if (static_cast<int64_t>(s->lens.size()) != s->batch) {
      return ctx.Fail("sequence_lens has wrong size");
    }
    for (int64_t l : s->lens) {
      if (l < 0 || l > s->seq)
        return ctx.Fail("sequence_lens value " + std::to_string(l) + " out of range");
    }
  }
  s->state_shape =
      s->layout ? Shape{s->batch, s->dirs, s->hidden} : Shape{s->dirs, s->batch, s->hidden};
  const bool lstm = s->kind == CellKind::kLstm;
  s->init_h = in[5];
  s->init_c = lstm ? in[6] : nullptr;
  s->peep = lstm ? in[7] : nullptr;
  if (s->init_h && s->init_h->shape() != s->state_shape) {
    return ctx.Fail("initial_h has wrong shape");
  }
  if (s->init_c && s->init_c->shape() != s->state_shape) {
    return ctx.Fail("initial_c has wrong shape");
  }
  if (s->peep && s->peep->shape() != Shape{s->dirs, 3 * s->hidden}) {
    return ctx.Fail("P has wrong shape");
  }
  const std::vector<std::string> defaults =
      s->kind == CellKind::kRnn   ? std::vector<std::string>{"Tanh"}
      : s->kind == CellKind::kGru ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                  : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  s->acts_per_direction = defaults.size();
  RETURN_IF_ERROR(ReadActivations(ctx, defaults, s->dirs, &s->acts));
  const float clip_attr = node.GetFloat("clip", 0.0f);
  s->clip = clip_attr > 0 ? clip_attr : 0.0;
  s->linear_before_reset = node.GetInt("linear_before_reset", 0) != 0;
  s->input_forget = node.GetInt("input_forget", 0) != 0;
  return Status::Ok();
}

// One direction's weights, biases (widened to double), peepholes and activations.
template <typename T>
struct DirectionWeights {
  const T* w = nullptr;  // [gh, input]
  const T* r = nullptr;  // [gh, hidden]
  std::vector<double> wb, rb, p;
  const Activation* f = nullptr;
};

template <typename T>
DirectionWeights<T> LoadDirection(const RecurrentSpec& s, int64_t d) {
  const int64_t gh = s.gh, hidden = s.hidden;
  DirectionWeights<T> dw;
  dw.w = s.w->data<T>() + d * gh * s.input;
  dw.r = s.r->data<T>() + d * gh * hidden;
  dw.wb.assign(static_cast<size_t>(gh), 0.0);
  dw.rb.assign(static_cast<size_t>(gh), 0.0);
  if (s.bias) {
    const T* b = s.bias->data<T>() + d * 2 * gh;
    for (int64_t i = 0; i < gh; ++i) {
      dw.wb[static_cast<size_t>(i)] = static_cast<double>(b[i]);
      dw.rb[static_cast<size_t>(i)] = static_cast<double>(b[gh + i]);
    }
  }
  dw.p.assign(static_cast<size_t>(3 * hidden), 0.0);
  if (s.peep) {
    for (int64_t i = 0; i < 3 * hidden; ++i) {
      dw.p[static_cast<size_t>(i)] = static_cast<double>(s.peep->data<T>()[d * 3 * hidden + i]);
    }
  }
  dw.f = &s.acts[static_cast<size_t>(d) * s.acts_per_direction];
  return dw;
}

// One batch row at one step: its input projection `g` (X W^T) and recurrent projection `hrow`
// (H R^T), each [gh].
template <typename T>
struct GateRow {
  const T* g;
  const T* hrow;
  const DirectionWeights<T>& dw;
  int64_t hidden;

  double Pre(int64_t gate, int64_t j) const {
    const size_t k = static_cast<size_t>(gate * hidden + j);
    return static_cast<double>(g[k]) + dw.wb[k] + static_cast<double>(hrow[k]) + dw.rb[k];
  }
};

// GRU without linear_before_reset: (r .* H) Rh^T for every row active at `step`, which needs
// the reset gate r before the row's update.
template <typename T>
void GruResetProjection(const RecurrentSpec& s, const DirectionWeights<T>& dw, bool reverse,
                        int64_t step, const std::vector<T>& xw, const std::vector<T>& hr,
                        const std::vector<T>& h, std::vector<T>* rh, std::vector<T>* hrh) {
  const int64_t hidden = s.hidden, gh = s.gh;
  for (int64_t b = 0; b < s.batch; ++b) {
    const int64_t len = s.lens[static_cast<size_t>(b)];
    if (step >= len) continue;
    const int64_t t = reverse ? len - 1 - step : step;
    const T* g = xw.data() + (t * s.batch + b) * gh;
    for (int64_t j = 0; j < hidden; ++j) {
      const size_t rj = static_cast<size_t>(hidden + j);
      const double rv =
          dw.f[0](s.Clipped(static_cast<double>(g[rj]) + dw.wb[rj] +
                            static_cast<double>(hr[static_cast<size_t>(b * gh) + rj]) + dw.rb[rj]));
      (*rh)[static_cast<size_t>(b * hidden + j)] =
          static_cast<T>(rv * static_cast<double>(h[static_cast<size_t>(b * hidden + j)]));
    }
  }
  Gemm(false, true, s.batch, hidden, hidden, T(1), rh->data(), hidden, dw.r + 2 * hidden * hidden,
       hidden, T(0), hrh->data(), hidden);
}

// GRU: the new hidden value j of one row; `hrh` is the row's (r .* H) Rh^T (used without
// linear_before_reset).
template <typename T>
double GruCell(const RecurrentSpec& s, const GateRow<T>& row, const T* hrh, int64_t j,
               double hprev) {
  const Activation* f = row.dw.f;
  const double z = f[0](s.Clipped(row.Pre(0, j)));
  const size_t hk = static_cast<size_t>(2 * s.hidden + j);
  const double base = static_cast<double>(row.g[hk]) + row.dw.wb[hk];
  double hpre;
  if (s.linear_before_reset) {
    const double rv = f[0](s.Clipped(row.Pre(1, j)));
    hpre = base + rv * (static_cast<double>(row.hrow[hk]) + row.dw.rb[hk]);
  } else {
    hpre = base + static_cast<double>(hrh[j]) + row.dw.rb[hk];
  }
  const double hh = f[1](s.Clipped(hpre));
  return (1 - z) * hh + z * hprev;
}

// LSTM: the new hidden value j of one row; updates its cell state c[j].
template <typename T>
double LstmCell(const RecurrentSpec& s, const GateRow<T>& row, int64_t j, T* c) {
  const Activation* f = row.dw.f;
  const std::vector<double>& p = row.dw.p;
  const size_t jj = static_cast<size_t>(j), hidden = static_cast<size_t>(s.hidden);
  const double cprev = static_cast<double>(c[j]);
  const double i_gate = f[0](s.Clipped(row.Pre(0, j) + p[jj] * cprev));
  const double f_gate =
      s.input_forget ? 1 - i_gate : f[0](s.Clipped(row.Pre(2, j) + p[2 * hidden + jj] * cprev));
  const double c_tilde = f[1](s.Clipped(row.Pre(3, j)));
  const double cnew = f_gate * cprev + i_gate * c_tilde;
  const double o_gate = f[0](s.Clipped(row.Pre(1, j) + p[hidden + jj] * cnew));
  c[j] = static_cast<T>(cnew);
  return o_gate * f[2](cnew);
}

// Runs direction d over the sequence (xs in [seq, batch, input] order, initial states in
// [dirs, batch, hidden]); writes its slice of Y ([seq, dirs, batch, hidden]), Y_h and Y_c.
template <typename T>
void RunDirection(const RecurrentSpec& s, int64_t d, const std::vector<T>& xs,
                  const std::vector<T>& hs0, const std::vector<T>& cs0, std::vector<T>* y,
                  std::vector<T>* y_h, std::vector<T>* y_c) {
  const int64_t batch = s.batch, hidden = s.hidden, gh = s.gh;
  const bool reverse = s.Reverse(d);
  const DirectionWeights<T> dw = LoadDirection<T>(s, d);
  std::vector<T> xw(static_cast<size_t>(s.seq * batch * gh));
  std::vector<T> hr(static_cast<size_t>(batch * gh));
  std::vector<T> rh(static_cast<size_t>(batch * hidden));   // GRU: r .* H
  std::vector<T> hrh(static_cast<size_t>(batch * hidden));  // GRU: (r .* H) Rh^T
  // X W^T for every step at once.
  Gemm(false, true, s.seq * batch, gh, s.input, T(1), xs.data(), s.input, dw.w, s.input, T(0),
       xw.data(), gh);
  std::vector<T> h(static_cast<size_t>(batch * hidden), T(0)), c(h);
  if (s.init_h)
    std::copy(hs0.begin() + d * batch * hidden, hs0.begin() + (d + 1) * batch * hidden, h.begin());
  if (s.init_c)
    std::copy(cs0.begin() + d * batch * hidden, cs0.begin() + (d + 1) * batch * hidden, c.begin());
  for (int64_t step = 0; step < s.seq; ++step) {
    Gemm(false, true, batch, gh, hidden, T(1), h.data(), hidden, dw.r, hidden, T(0), hr.data(), gh);
    if (s.kind == CellKind::kGru && !s.linear_before_reset) {
      GruResetProjection(s, dw, reverse, step, xw, hr, h, &rh, &hrh);
    }
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t len = s.lens[static_cast<size_t>(b)];
      if (step >= len) continue;
      const int64_t t = reverse ? len - 1 - step : step;
      const GateRow<T> row{xw.data() + (t * batch + b) * gh, hr.data() + b * gh, dw, hidden};
      T* hb = h.data() + b * hidden;
      T* cb = c.data() + b * hidden;
      for (int64_t j = 0; j < hidden; ++j) {
        const double hprev = static_cast<double>(hb[j]);
        const double hnew = s.kind == CellKind::kRnn ? dw.f[0](s.Clipped(row.Pre(0, j)))
                            : s.kind == CellKind::kGru
                                ? GruCell(s, row, hrh.data() + b * hidden, j, hprev)
                                : LstmCell(s, row, j, cb);
        hb[j] = static_cast<T>(hnew);
        (*y)[static_cast<size_t>(((t * s.dirs + d) * batch + b) * hidden + j)] = hb[j];
      }
    }
  }
  std::copy(h.begin(), h.end(), y_h->begin() + d * batch * hidden);
  std::copy(c.begin(), c.end(), y_c->begin() + d * batch * hidden);
}

// Y in the node's layout, Y_h and Y_c (LSTM) where requested.
template <typename T>
void SetRecurrentOutputs(KernelContext& ctx, const RecurrentSpec& s, const std::vector<T>& y,
                         const std::vector<T>& y_h, const std::vector<T>& y_c) {
  const DataType type = FloatTypeOf<T>();
  const int64_t seq = s.seq, dirs = s.dirs, batch = s.batch, hidden = s.hidden;
  if (ctx.output_requested(0)) {
    if (s.layout) {
      // [seq, dirs, batch, H] -> [batch, seq, dirs, H]
      std::vector<T> out(y.size());
      for (int64_t t = 0; t < seq; ++t)
        for (int64_t d = 0; d < dirs; ++d)
          for (int64_t b = 0; b < batch; ++b)
            std::copy(y.begin() + ((t * dirs + d) * batch + b) * hidden,
                      y.begin() + ((t * dirs + d) * batch + b + 1) * hidden,
                      out.begin() + ((b * seq + t) * dirs + d) * hidden);
      ctx.SetOutput(0, Tensor::FromVector<T>(type, {batch, seq, dirs, hidden}, out));
    } else {
      ctx.SetOutput(0, Tensor::FromVector<T>(type, {seq, dirs, batch, hidden}, y));
    }
  }
  auto state_out = [&](const std::vector<T>& v) {
    return Tensor::FromVector<T>(type, s.state_shape,
                                 s.layout ? SwapLeadingAxes(v.data(), dirs, batch, hidden) : v);
  };
  if (ctx.output_requested(1)) ctx.SetOutput(1, state_out(y_h));
  if (s.kind == CellKind::kLstm && ctx.output_requested(2)) ctx.SetOutput(2, state_out(y_c));
}

// A [a, b, rest] input as [b, a, rest] when the node is batch-major (layout=1), else copied.
template <typename T>
std::vector<T> InSequenceMajor(const Tensor* t, bool layout, int64_t a, int64_t b, int64_t rest) {
  if (!t) return {};
  return layout ? SwapLeadingAxes(t->data<T>(), a, b, rest)
                : std::vector<T>(t->data<T>(), t->data<T>() + t->size());
}

template <typename T>
Status RunRecurrent(KernelContext& ctx, const FloatInputs& in, CellKind kind) {
  RecurrentSpec s;
  s.kind = kind;
  RETURN_IF_ERROR(ReadRecurrentShapes(ctx, in, &s));
  RETURN_IF_ERROR(ReadRecurrentOptions(ctx, in, &s));
  // Work in [seq, batch, ...] order.
  const std::vector<T> xs = InSequenceMajor<T>(s.x, s.layout, s.batch, s.seq, s.input);
  const std::vector<T> hs0 = InSequenceMajor<T>(s.init_h, s.layout, s.batch, s.dirs, s.hidden);
  const std::vector<T> cs0 = InSequenceMajor<T>(s.init_c, s.layout, s.batch, s.dirs, s.hidden);
  const size_t state_size = static_cast<size_t>(s.dirs * s.batch * s.hidden);
  std::vector<T> y(static_cast<size_t>(s.seq) * state_size, T(0));
  std::vector<T> y_h(state_size, T(0)), y_c(state_size, T(0));
  for (int64_t d = 0; d < s.dirs; ++d) RunDirection<T>(s, d, xs, hs0, cs0, &y, &y_h, &y_c);
  SetRecurrentOutputs<T>(ctx, s, y, y_h, y_c);
  return Status::Ok();
}

Status RnnKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) {
    return RunRecurrent<decltype(tag)>(ctx, in, CellKind::kRnn);
  });
}
Status GruKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) {
    return RunRecurrent<decltype(tag)>(ctx, in, CellKind::kGru);
  });
}
Status LstmKernel(KernelContext& ctx) {
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) {
    return RunRecurrent<decltype(tag)>(ctx, in, CellKind::kLstm);
  });
}

}  // namespace

REGISTER_KERNEL("", "RNN", 1, kLatestOpset, RnnKernel);
REGISTER_KERNEL("", "GRU", 1, kLatestOpset, GruKernel);
REGISTER_KERNEL("", "LSTM", 1, kLatestOpset, LstmKernel);

}  // namespace graphopt::reference
