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

template <typename T>
Status RunRecurrent(KernelContext& ctx, const FloatInputs& in, CellKind kind) {
  const ir::Node& node = ctx.node();
  const Tensor* x = in[0];
  const Tensor* w = in[1];
  const Tensor* r = in[2];
  if (!x || !w || !r) return ctx.Fail("inputs X, W and R are required");
  if (x->rank() != 3 || w->rank() != 3 || r->rank() != 3) {
    return ctx.Fail("X, W and R must be rank 3, got " + ShapeToString(x->shape()) + ", " +
                    ShapeToString(w->shape()) + ", " + ShapeToString(r->shape()));
  }
  const int64_t layout = node.GetInt("layout", 0);
  const std::string direction = node.GetString("direction", "forward");
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional") {
    return ctx.Fail("unknown direction '" + direction + "'");
  }
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const int64_t gates = GateCount(kind);
  const int64_t seq = layout ? x->shape()[1] : x->shape()[0];
  const int64_t batch = layout ? x->shape()[0] : x->shape()[1];
  const int64_t input = x->shape()[2];
  const int64_t hidden = node.GetInt("hidden_size", r->shape()[2]);
  const int64_t gh = gates * hidden;
  if (w->shape() != Shape{dirs, gh, input} || r->shape() != Shape{dirs, gh, hidden}) {
    return ctx.Fail("W " + ShapeToString(w->shape()) + " / R " + ShapeToString(r->shape()) +
                    " do not fit " + std::to_string(dirs) + " directions, hidden " +
                    std::to_string(hidden) + ", input " + std::to_string(input));
  }
  const Tensor* bias = in[3];
  if (bias && bias->shape() != Shape{dirs, 2 * gh}) return ctx.Fail("B has wrong shape");
  std::vector<int64_t> lens(static_cast<size_t>(batch), seq);
  if (const Tensor* sl = in[4]) {
    lens = sl->ToInt64Vector();
    if (static_cast<int64_t>(lens.size()) != batch) return ctx.Fail("sequence_lens has wrong size");
    for (int64_t l : lens) {
      if (l < 0 || l > seq)
        return ctx.Fail("sequence_lens value " + std::to_string(l) + " out of range");
    }
  }
  const Shape state_shape = layout ? Shape{batch, dirs, hidden} : Shape{dirs, batch, hidden};
  const Tensor* init_h = in[5];
  const Tensor* init_c = kind == CellKind::kLstm ? in[6] : nullptr;
  const Tensor* peep = kind == CellKind::kLstm ? in[7] : nullptr;
  if (init_h && init_h->shape() != state_shape) return ctx.Fail("initial_h has wrong shape");
  if (init_c && init_c->shape() != state_shape) return ctx.Fail("initial_c has wrong shape");
  if (peep && peep->shape() != Shape{dirs, 3 * hidden}) return ctx.Fail("P has wrong shape");
  std::vector<std::string> defaults = kind == CellKind::kRnn ? std::vector<std::string>{"Tanh"}
                                      : kind == CellKind::kGru
                                          ? std::vector<std::string>{"Sigmoid", "Tanh"}
                                          : std::vector<std::string>{"Sigmoid", "Tanh", "Tanh"};
  std::vector<Activation> acts;
  Status st = ReadActivations(ctx, defaults, dirs, &acts);
  if (!st.ok()) return st;
  const float clip_attr = node.GetFloat("clip", 0.0f);
  const double clip = clip_attr > 0 ? clip_attr : 0.0;
  const bool linear_before_reset = node.GetInt("linear_before_reset", 0) != 0;
  const bool input_forget = node.GetInt("input_forget", 0) != 0;

  // Work in [seq, batch, ...] order.
  std::vector<T> xs = layout ? SwapLeadingAxes(x->data<T>(), batch, seq, input)
                             : std::vector<T>(x->data<T>(), x->data<T>() + x->size());
  std::vector<T> hs0, cs0;
  if (init_h)
    hs0 = layout ? SwapLeadingAxes(init_h->data<T>(), batch, dirs, hidden)
                 : std::vector<T>(init_h->data<T>(), init_h->data<T>() + init_h->size());
  if (init_c)
    cs0 = layout ? SwapLeadingAxes(init_c->data<T>(), batch, dirs, hidden)
                 : std::vector<T>(init_c->data<T>(), init_c->data<T>() + init_c->size());

  std::vector<T> y(static_cast<size_t>(seq * dirs * batch * hidden), T(0));
  std::vector<T> y_h(static_cast<size_t>(dirs * batch * hidden), T(0));
  std::vector<T> y_c(static_cast<size_t>(dirs * batch * hidden), T(0));
  std::vector<T> xw(static_cast<size_t>(seq * batch * gh));
  std::vector<T> hr(static_cast<size_t>(batch * gh));
  std::vector<T> rh(static_cast<size_t>(batch * hidden));   // GRU: r .* H
  std::vector<T> hrh(static_cast<size_t>(batch * hidden));  // GRU: (r .* H) Rh^T
  auto clipped = [&](double v) { return clip > 0 ? std::clamp(v, -clip, clip) : v; };

  for (int64_t d = 0; d < dirs; ++d) {
    const bool reverse = direction == "reverse" || d == 1;
    const T* wd = w->data<T>() + d * gh * input;
    const T* rd = r->data<T>() + d * gh * hidden;
    std::vector<double> wb(static_cast<size_t>(gh), 0.0), rb(static_cast<size_t>(gh), 0.0);
    if (bias) {
      for (int64_t i = 0; i < gh; ++i) {
        wb[static_cast<size_t>(i)] = static_cast<double>(bias->data<T>()[d * 2 * gh + i]);
        rb[static_cast<size_t>(i)] = static_cast<double>(bias->data<T>()[d * 2 * gh + gh + i]);
      }
    }
    std::vector<double> p(static_cast<size_t>(3 * hidden), 0.0);
    if (peep) {
      for (int64_t i = 0; i < 3 * hidden; ++i) {
        p[static_cast<size_t>(i)] = static_cast<double>(peep->data<T>()[d * 3 * hidden + i]);
      }
    }
    const Activation* f = &acts[static_cast<size_t>(d) * defaults.size()];
    // X W^T for every step at once.
    Gemm(false, true, seq * batch, gh, input, T(1), xs.data(), input, wd, input, T(0), xw.data(),
         gh);
    std::vector<T> h(static_cast<size_t>(batch * hidden), T(0)), c(h);
    if (init_h)
      std::copy(hs0.begin() + d * batch * hidden, hs0.begin() + (d + 1) * batch * hidden,
                h.begin());
    if (init_c)
      std::copy(cs0.begin() + d * batch * hidden, cs0.begin() + (d + 1) * batch * hidden,
                c.begin());
    for (int64_t s = 0; s < seq; ++s) {
      Gemm(false, true, batch, gh, hidden, T(1), h.data(), hidden, rd, hidden, T(0), hr.data(), gh);
      if (kind == CellKind::kGru && !linear_before_reset) {
        // (r .* H) Rh^T needs r first.
        for (int64_t b = 0; b < batch; ++b) {
          if (s >= lens[static_cast<size_t>(b)]) continue;
          const int64_t t = reverse ? lens[static_cast<size_t>(b)] - 1 - s : s;
          const T* g = xw.data() + (t * batch + b) * gh;
          for (int64_t j = 0; j < hidden; ++j) {
            const size_t rj = static_cast<size_t>(hidden + j);
            const double rv =
                f[0](clipped(static_cast<double>(g[rj]) + wb[rj] +
                             static_cast<double>(hr[static_cast<size_t>(b * gh) + rj]) + rb[rj]));
            rh[static_cast<size_t>(b * hidden + j)] =
                static_cast<T>(rv * static_cast<double>(h[static_cast<size_t>(b * hidden + j)]));
          }
        }
        Gemm(false, true, batch, hidden, hidden, T(1), rh.data(), hidden, rd + 2 * hidden * hidden,
             hidden, T(0), hrh.data(), hidden);
      }
      for (int64_t b = 0; b < batch; ++b) {
        if (s >= lens[static_cast<size_t>(b)]) continue;
        const int64_t t = reverse ? lens[static_cast<size_t>(b)] - 1 - s : s;
        const T* g = xw.data() + (t * batch + b) * gh;
        const T* hrow = hr.data() + b * gh;
        auto pre = [&](int64_t gate, int64_t j) {
          const size_t k = static_cast<size_t>(gate * hidden + j);
          return static_cast<double>(g[k]) + wb[k] + static_cast<double>(hrow[k]) + rb[k];
        };
        T* hb = h.data() + b * hidden;
        T* cb = c.data() + b * hidden;
        for (int64_t j = 0; j < hidden; ++j) {
          const double hprev = static_cast<double>(hb[j]);
          double hnew;
          if (kind == CellKind::kRnn) {
            hnew = f[0](clipped(pre(0, j)));
          } else if (kind == CellKind::kGru) {
            const double z = f[0](clipped(pre(0, j)));
            double hpre;
            const size_t hk = static_cast<size_t>(2 * hidden + j);
            if (linear_before_reset) {
              const double rv = f[0](clipped(pre(1, j)));
              hpre = static_cast<double>(g[hk]) + wb[hk] +
                     rv * (static_cast<double>(hrow[hk]) + rb[hk]);
            } else {
              hpre = static_cast<double>(g[hk]) + wb[hk] +
                     static_cast<double>(hrh[static_cast<size_t>(b * hidden + j)]) + rb[hk];
            }
            const double hh = f[1](clipped(hpre));
            hnew = (1 - z) * hh + z * hprev;
          } else {
            const double cprev = static_cast<double>(cb[j]);
            const size_t jj = static_cast<size_t>(j);
            const double i_gate = f[0](clipped(pre(0, j) + p[jj] * cprev));
            const double f_gate =
                input_forget
                    ? 1 - i_gate
                    : f[0](clipped(pre(2, j) + p[static_cast<size_t>(2 * hidden) + jj] * cprev));
            const double c_tilde = f[1](clipped(pre(3, j)));
            const double cnew = f_gate * cprev + i_gate * c_tilde;
            const double o_gate =
                f[0](clipped(pre(1, j) + p[static_cast<size_t>(hidden) + jj] * cnew));
            hnew = o_gate * f[2](cnew);
            cb[j] = static_cast<T>(cnew);
          }
          hb[j] = static_cast<T>(hnew);
          y[static_cast<size_t>(((t * dirs + d) * batch + b) * hidden + j)] = hb[j];
        }
      }
    }
    std::copy(h.begin(), h.end(), y_h.begin() + d * batch * hidden);
    std::copy(c.begin(), c.end(), y_c.begin() + d * batch * hidden);
  }
  const DataType type = FloatTypeOf<T>();
  if (ctx.output_requested(0)) {
    if (layout) {
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
    return Tensor::FromVector<T>(type, state_shape,
                                 layout ? SwapLeadingAxes(v.data(), dirs, batch, hidden) : v);
  };
  if (ctx.output_requested(1)) ctx.SetOutput(1, state_out(y_h));
  if (kind == CellKind::kLstm && ctx.output_requested(2)) ctx.SetOutput(2, state_out(y_c));
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
