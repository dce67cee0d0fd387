// com.microsoft Attention (packed QKV projection inside the op) and MultiHeadAttention (separate
// Q/K/V, optional bias), on one scaled-dot-product core computed in double:
//   out = softmax(scale * Q K^T + attention_bias + mask) V per batch and head.
// Supported masks: Attention's mask_index absent, key lengths (B), end/start (2B), 0/1 masks
// (B, T), (B, S, T) and (B, 1, M, M); MultiHeadAttention's key_padding_mask (B) or (B, T);
// unidirectional (causal). Past/present key-value caches as inputs are not supported.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/blas_util.h"
#include "backends/reference/kernels/contrib_util.h"

namespace graphopt::reference {
namespace {

// Token-major projections: q[b][s][n * qk_head + d], k likewise over T, v over T with v_head.
struct AttentionProblem {
  int64_t batch = 0, heads = 0, q_len = 0, kv_len = 0, qk_head = 0, v_head = 0;
  std::vector<double> q, k, v;
  // Additive term per (b, s, t), or empty: 0 for kept keys, mask_filter_value or -inf-like
  // lowest() for masked ones.
  std::vector<double> mask;
  const Tensor* attention_bias = nullptr;  // (B or 1, N or 1, S, T)
  double scale = 1.0;
};

// Softmax attention of every (batch, head, query); returns (B, S, N * v_head).
std::vector<double> ScaledDotProductAttention(const AttentionProblem& p) {
  const int64_t B = p.batch, N = p.heads, S = p.q_len, T = p.kv_len;
  const int64_t dq = p.qk_head, dv = p.v_head;
  std::vector<double> out(static_cast<size_t>(B * S * N * dv), 0.0);
  std::vector<double> scores(static_cast<size_t>(T));
  const Tensor* ab = p.attention_bias;
  const Tensor abf = ab ? AsComputeTensor(*ab) : Tensor();
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t n = 0; n < N; ++n) {
      for (int64_t s = 0; s < S; ++s) {
        const double* qrow = p.q.data() + (b * S + s) * N * dq + n * dq;
        double max = -std::numeric_limits<double>::infinity();
        for (int64_t t = 0; t < T; ++t) {
          const double* krow = p.k.data() + (b * T + t) * N * dq + n * dq;
          double dot = 0;
          for (int64_t d = 0; d < dq; ++d) dot += qrow[d] * krow[d];
          double score = dot * p.scale;
          if (ab) {
            const int64_t bb = ab->shape()[0] == 1 ? 0 : b;
            const int64_t nn = ab->shape()[1] == 1 ? 0 : n;
            score += abf.GetDouble(((bb * ab->shape()[1] + nn) * S + s) * T + t);
          }
          if (!p.mask.empty()) score += p.mask[static_cast<size_t>((b * S + s) * T + t)];
          scores[static_cast<size_t>(t)] = score;
          max = std::max(max, score);
        }
        double sum = 0;
        for (double& x : scores) sum += (x = std::exp(x - max));
        double* orow = out.data() + (b * S + s) * N * dv + n * dv;
        for (int64_t t = 0; t < T; ++t) {
          const double w = scores[static_cast<size_t>(t)] / sum;
          const double* vrow = p.v.data() + (b * T + t) * N * dv + n * dv;
          for (int64_t d = 0; d < dv; ++d) orow[d] += w * vrow[d];
        }
      }
    }
  }
  return out;
}

Tensor FromDoubles(const std::vector<double>& v, DataType type, const Shape& shape) {
  Tensor d = Tensor::FromVector<double>(DataType::kDouble, shape, v);
  if (type == DataType::kDouble) return d;
  Tensor f = d.CastTo(DataType::kFloat);
  return IsHalfLike(type) ? FromFloatTensor(f, type) : f;
}

// (B, T, N * d) token-major -> (B, N, T, d), the layout of present key/value caches.
std::vector<double> ToHeadMajor(const std::vector<double>& x, int64_t B, int64_t T, int64_t N,
                                int64_t d) {
  std::vector<double> y(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t n = 0; n < N; ++n)
        for (int64_t i = 0; i < d; ++i)
          y[static_cast<size_t>(((b * N + n) * T + t) * d + i)] =
              x[static_cast<size_t>((b * T + t) * N * d + n * d + i)];
  return y;
}

// Adds the causal mask: query s (the last S of T positions) sees keys t <= s + T - S.
void AddCausalMask(AttentionProblem& p) {
  const int64_t B = p.batch, S = p.q_len, T = p.kv_len;
  if (p.mask.empty()) p.mask.assign(static_cast<size_t>(B * S * T), 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t t = s + T - S + 1; t < T; ++t)
        p.mask[static_cast<size_t>((b * S + s) * T + t)] = std::numeric_limits<double>::lowest();
}

// Turns an int32 mask input into the additive per-(b, s, t) mask. `allow_3d_4d` for Attention's
// mask_index; MultiHeadAttention's key_padding_mask is (B) or (B, T).
Status BuildMask(const KernelContext& ctx, const Tensor& m, bool allow_3d_4d, double filter,
                 AttentionProblem& p) {
  const int64_t B = p.batch, S = p.q_len, T = p.kv_len;
  if (m.dtype() != DataType::kInt32) return ctx.Fail("mask must be int32");
  const std::vector<int64_t> mv = m.ToInt64Vector();
  p.mask.assign(static_cast<size_t>(B * S * T), 0.0);
  auto set = [&](auto keep) {
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < S; ++s)
        for (int64_t t = 0; t < T; ++t)
          if (!keep(b, s, t)) p.mask[static_cast<size_t>((b * S + s) * T + t)] = filter;
  };
  const Shape& ms = m.shape();
  if (ms.size() == 1 && ms[0] == B) {
    set([&](int64_t b, int64_t, int64_t t) { return t < mv[static_cast<size_t>(b)]; });
  } else if (allow_3d_4d && ms.size() == 1 && ms[0] == 2 * B) {
    set([&](int64_t b, int64_t, int64_t t) {
      return t < mv[static_cast<size_t>(b)] && t >= mv[static_cast<size_t>(B + b)];
    });
  } else if (ms == Shape{B, T}) {
    set([&](int64_t b, int64_t, int64_t t) { return mv[static_cast<size_t>(b * T + t)] > 0; });
  } else if (allow_3d_4d && ms == Shape{B, S, T}) {
    set([&](int64_t b, int64_t s, int64_t t) {
      return mv[static_cast<size_t>((b * S + s) * T + t)] > 0;
    });
  } else if (allow_3d_4d && ms.size() == 4 && ms[0] == B && ms[1] == 1 && ms[2] >= S &&
             ms[3] >= T) {
    const int64_t M = ms[3];
    set([&](int64_t b, int64_t s, int64_t t) {
      return mv[static_cast<size_t>((b * ms[2] + s) * M + t)] > 0;
    });
  } else {
    return ctx.Unsupported("mask of shape " + ShapeToString(ms) + " for batch " +
                           std::to_string(B) + ", sequence " + std::to_string(S) + ", total " +
                           std::to_string(T));
  }
  return Status::Ok();
}

Status CheckAttentionBias(const KernelContext& ctx, const Tensor* ab, const AttentionProblem& p) {
  if (!ab) return Status::Ok();
  const Shape& s = ab->shape();
  if (s.size() != 4 || (s[0] != 1 && s[0] != p.batch) || (s[1] != 1 && s[1] != p.heads) ||
      s[2] != p.q_len || s[3] != p.kv_len) {
    return ctx.Fail("attention_bias " + ShapeToString(s) + " must be (B or 1, N or 1, S, T)");
  }
  return Status::Ok();
}

Status AttentionKernel(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* input = ctx.input(0);
  const Tensor* weights = ctx.input(1);
  if (!input || !weights) return ctx.Fail("inputs input and weights are required");
  if (!IsFloatingPoint(input->dtype())) return ctx.Unsupported("non-float input");
  if (ctx.input(4) || ctx.input(6)) return ctx.Unsupported("past state input");
  if (node.GetInt("do_rotary", 0) != 0) return ctx.Unsupported("do_rotary");
  if (node.GetInt("past_present_share_buffer", 0) != 0) {
    return ctx.Unsupported("past_present_share_buffer");
  }
  const int64_t heads = node.GetInt("num_heads", 0);
  if (heads <= 0) return ctx.Fail("num_heads must be positive");
  if (input->rank() != 3 || weights->rank() != 2 || weights->shape()[0] != input->shape()[2]) {
    return ctx.Fail("input (B, S, D) and weights (D, H) do not fit: " +
                    ShapeToString(input->shape()) + ", " + ShapeToString(weights->shape()));
  }
  const int64_t B = input->shape()[0], S = input->shape()[1], D = input->shape()[2];
  const int64_t total = weights->shape()[1];
  std::vector<int64_t> sizes = node.GetInts("qkv_hidden_sizes");
  if (sizes.empty()) sizes.assign(3, total / 3);
  if (sizes.size() != 3 || sizes[0] + sizes[1] + sizes[2] != total || sizes[0] != sizes[1] ||
      sizes[0] % heads || sizes[2] % heads) {
    return ctx.Fail("qkv_hidden_sizes do not split weights' " + std::to_string(total) +
                    " columns over " + std::to_string(heads) + " heads");
  }
  const Tensor* bias = ctx.input(2);
  if (bias && bias->size() != total) return ctx.Fail("bias must have one value per weight column");
  // qkv = input @ weights + bias, (B*S, total).
  const std::vector<double> x = ToDoubles(*input), w = ToDoubles(*weights);
  std::vector<double> qkv(static_cast<size_t>(B * S * total), 0.0);
  Gemm(false, false, B * S, total, D, 1.0, x.data(), D, w.data(), total, 0.0, qkv.data(), total);
  if (bias) {
    const std::vector<double> bv = ToDoubles(*bias);
    for (size_t i = 0; i < qkv.size(); ++i) qkv[i] += bv[i % static_cast<size_t>(total)];
  }
  AttentionProblem p;
  p.batch = B;
  p.heads = heads;
  p.q_len = p.kv_len = S;
  p.qk_head = sizes[0] / heads;
  p.v_head = sizes[2] / heads;
  auto slice = [&](int64_t offset, int64_t width) {
    std::vector<double> out(static_cast<size_t>(B * S * width));
    for (int64_t r = 0; r < B * S; ++r)
      for (int64_t c = 0; c < width; ++c)
        out[static_cast<size_t>(r * width + c)] = qkv[static_cast<size_t>(r * total + offset + c)];
    return out;
  };
  p.q = slice(0, sizes[0]);
  p.k = slice(sizes[0], sizes[1]);
  p.v = slice(sizes[0] + sizes[1], sizes[2]);
  p.scale = node.HasAttr("scale") ? node.GetFloat("scale", 1.0f)
                                  : 1.0 / std::sqrt(static_cast<double>(p.qk_head));
  const double filter = node.GetFloat("mask_filter_value", -10000.0f);
  if (const Tensor* m = ctx.input(3)) RETURN_IF_ERROR(BuildMask(ctx, *m, true, filter, p));
  if (node.GetInt("unidirectional", 0) != 0) AddCausalMask(p);
  p.attention_bias = ctx.input(5);
  RETURN_IF_ERROR(CheckAttentionBias(ctx, p.attention_bias, p));
  ctx.SetOutput(0, FromDoubles(ScaledDotProductAttention(p), input->dtype(), {B, S, sizes[2]}));
  if (ctx.output_requested(1)) {
    if (sizes[1] != sizes[2]) return ctx.Unsupported("present with different K and V sizes");
    std::vector<double> present = ToHeadMajor(p.k, B, S, heads, p.qk_head);
    const std::vector<double> pv = ToHeadMajor(p.v, B, S, heads, p.v_head);
    present.insert(present.end(), pv.begin(), pv.end());
    ctx.SetOutput(1, FromDoubles(present, input->dtype(), {2, B, heads, S, p.qk_head}));
  }
  return Status::Ok();
}

Status MultiHeadAttentionKernel(KernelContext& ctx) {
  const ir::Node& node = ctx.node();
  const Tensor* query = ctx.input(0);
  const Tensor* key = ctx.input(1);
  const Tensor* value = ctx.input(2);
  if (!query) return ctx.Fail("query is required");
  if (!key || !value) return ctx.Unsupported("packed QKV/KV inputs (key and value absent)");
  for (size_t i = 6; i < ctx.num_inputs(); ++i) {
    if (ctx.input(i)) return ctx.Unsupported("past key/value or cache inputs");
  }
  if (ctx.output_requested(3)) return ctx.Unsupported("the qk output");
  if (!IsFloatingPoint(query->dtype())) return ctx.Unsupported("non-float query");
  const int64_t heads = node.GetInt("num_heads", 0);
  if (heads <= 0) return ctx.Fail("num_heads must be positive");
  if (query->rank() != 3 || key->rank() != 3 || value->rank() != 3 ||
      key->shape()[0] != query->shape()[0] || value->shape()[0] != query->shape()[0] ||
      key->shape()[1] != value->shape()[1] || key->shape()[2] != query->shape()[2]) {
    return ctx.Unsupported("query/key/value other than (B, S, H), (B, L, H), (B, L, Hv): " +
                           ShapeToString(query->shape()) + ", " + ShapeToString(key->shape()) +
                           ", " + ShapeToString(value->shape()));
  }
  const int64_t B = query->shape()[0], S = query->shape()[1], H = query->shape()[2];
  const int64_t L = key->shape()[1], Hv = value->shape()[2];
  if (H % heads || Hv % heads) return ctx.Fail("hidden sizes are not divisible by num_heads");
  AttentionProblem p;
  p.batch = B;
  p.heads = heads;
  p.q_len = S;
  p.kv_len = L;
  p.qk_head = H / heads;
  p.v_head = Hv / heads;
  p.q = ToDoubles(*query);
  p.k = ToDoubles(*key);
  p.v = ToDoubles(*value);
  if (const Tensor* bias = ctx.input(3)) {
    if (bias->size() != 2 * H + Hv) return ctx.Fail("bias must have H + H + Hv values");
    const std::vector<double> bv = ToDoubles(*bias);
    auto add = [&](std::vector<double>& x, int64_t offset, int64_t width) {
      for (size_t i = 0; i < x.size(); ++i)
        x[i] += bv[static_cast<size_t>(offset) + i % static_cast<size_t>(width)];
    };
    add(p.q, 0, H);
    add(p.k, H, H);
    add(p.v, 2 * H, Hv);
  }
  p.scale = node.HasAttr("scale") && node.GetFloat("scale", 0.0f) != 0.0f
                ? node.GetFloat("scale", 1.0f)
                : 1.0 / std::sqrt(static_cast<double>(p.qk_head));
  const double filter = node.GetFloat("mask_filter_value", -10000.0f);
  if (const Tensor* m = ctx.input(4)) RETURN_IF_ERROR(BuildMask(ctx, *m, false, filter, p));
  if (node.GetInt("unidirectional", 0) != 0) AddCausalMask(p);
  p.attention_bias = ctx.input(5);
  RETURN_IF_ERROR(CheckAttentionBias(ctx, p.attention_bias, p));
  ctx.SetOutput(0, FromDoubles(ScaledDotProductAttention(p), query->dtype(), {B, S, Hv}));
  if (ctx.output_requested(1)) {
    ctx.SetOutput(1, FromDoubles(ToHeadMajor(p.k, B, L, heads, p.qk_head), query->dtype(),
                                 {B, heads, L, p.qk_head}));
  }
  if (ctx.output_requested(2)) {
    ctx.SetOutput(2, FromDoubles(ToHeadMajor(p.v, B, L, heads, p.v_head), query->dtype(),
                                 {B, heads, L, p.v_head}));
  }
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("com.microsoft", "Attention", 1, 1, AttentionKernel);
REGISTER_KERNEL("com.microsoft", "MultiHeadAttention", 1, 1, MultiHeadAttentionKernel);

}  // namespace graphopt::reference
