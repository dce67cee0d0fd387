// ONNX Runtime's normalization fusions: the default-domain LayerNormalization it registers for
// opsets 1-16 and SimplifiedLayerNormalization (RMSNorm), and the com.microsoft
// SkipLayerNormalization, SkipSimplifiedLayerNormalization and EmbedLayerNormalization.
// Statistics accumulate in double; mean / inv_std_var outputs are float32 (ONNX Runtime's U type).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/contrib_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset

namespace graphopt::reference {
namespace {

// Normalizes `rows` rows of `width` values in place (as doubles): subtracts the mean unless
// `simplified` (RMSNorm), divides by sqrt(variance + epsilon), then scales by gamma and adds
// beta (either may be empty). Returns each row's mean and 1/std.
void NormalizeRows(std::vector<double>& v, int64_t rows, int64_t width, double epsilon,
                   bool simplified, const std::vector<double>& gamma,
                   const std::vector<double>& beta, std::vector<float>* means,
                   std::vector<float>* inv_stds) {
  for (int64_t r = 0; r < rows; ++r) {
    double* p = v.data() + r * width;
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < width; ++i) sum += p[i];
    const double mean = width ? sum / static_cast<double>(width) : 0.0;
    const double center = simplified ? 0.0 : mean;
    for (int64_t i = 0; i < width; ++i) sq += (p[i] - center) * (p[i] - center);
    const double inv_std =
        1.0 / std::sqrt((width ? sq / static_cast<double>(width) : 0.0) + epsilon);
    for (int64_t i = 0; i < width; ++i) {
      const size_t k = static_cast<size_t>(i);
      double y = (p[i] - center) * inv_std;
      if (!gamma.empty()) y *= gamma[k];
      if (!beta.empty()) y += beta[k];
      p[i] = y;
    }
    means->push_back(static_cast<float>(mean));
    inv_stds->push_back(static_cast<float>(inv_std));
  }
}

// Doubles back into a tensor of `type` (float16/bfloat16 through float32).
Tensor FromDoubles(const std::vector<double>& v, DataType type, const Shape& shape) {
  Tensor d = Tensor::FromVector<double>(DataType::kDouble, shape, v);
  if (type == DataType::kDouble) return d;
  Tensor f = d.CastTo(DataType::kFloat);
  return IsHalfLike(type) ? FromFloatTensor(f, type) : f;
}

// A 1-D per-channel parameter of `width` values, or empty when the input is omitted.
Result<std::vector<double>> ChannelParam(const KernelContext& ctx, size_t i, const char* name,
                                         int64_t width, bool required) {
  const Tensor* t = ctx.input(i);
  if (!t) {
    if (required) return ctx.Fail(std::string(name) + " is required");
    return std::vector<double>();
  }
  if (t->size() != width) {
    return ctx.Fail(std::string(name) + " has " + std::to_string(t->size()) +
                    " values for hidden size " + std::to_string(width));
  }
  return ToDoubles(*t);
}

// ONNX Runtime's LayerNormalization for opsets 1-16 has the signature and semantics of the
// standard opset-17 operator, so it runs that kernel.
Status LegacyLayerNormalizationKernel(KernelContext& ctx) {
  const KernelDef* def = KernelRegistry::Get().Find("", "LayerNormalization", kComposeOpset);
  if (!def) return ctx.Unsupported("no LayerNormalization-17 kernel");
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) inputs.push_back(ctx.input(i));
  KernelContext inner(ctx.node(), kComposeOpset, inputs, nullptr);
  RETURN_IF_ERROR(def->fn(inner));
  for (size_t i = 0; i < ctx.num_outputs(); ++i) {
    if (inner.outputs()[i].defined()) ctx.SetOutput(i, std::move(inner.outputs()[i]));
  }
  return Status::Ok();
}

// SimplifiedLayerNormalization (default domain in ONNX Runtime): Y = X / RMS(X) * scale over
// the axes from `axis`; optional output 1 is inv_std_var with the normalized axes set to 1.
Status SimplifiedLayerNormalizationKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* x, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* scale, RequiredInput(ctx, 1));
  if (!IsFloatingPoint(x->dtype())) return UnsupportedType(ctx, x->dtype());
  int64_t axis = ctx.node().GetInt("axis", -1);
  if (x->rank() == 0 || !NormalizeAxis(axis, x->rank())) return ctx.Fail("axis out of range");
  const int64_t width = NumElements(Shape(x->shape().begin() + axis, x->shape().end()));
  const int64_t rows = width ? x->size() / width : 0;
  if (scale->size() != width) {
    return ctx.Fail("scale " + ShapeToString(scale->shape()) +
                    " does not match the normalized size " + std::to_string(width));
  }
  std::vector<double> v = ToDoubles(*x);
  std::vector<float> means, inv_stds;
  NormalizeRows(v, rows, width, ctx.node().GetFloat("epsilon", 1e-5f), /*simplified=*/true,
                ToDoubles(*scale), {}, &means, &inv_stds);
  ctx.SetOutput(0, FromDoubles(v, x->dtype(), x->shape()));
  if (ctx.output_requested(1)) {
    Shape stat = x->shape();
    for (size_t i = static_cast<size_t>(axis); i < stat.size(); ++i) stat[i] = 1;
    ctx.SetOutput(1, Tensor::FromVector<float>(DataType::kFloat, stat, inv_stds));
  }
  return Status::Ok();
}

// SkipLayerNormalization / SkipSimplifiedLayerNormalization: normalizes input + skip (+ bias)
// over the last axis. skip may be (B, S, H), (1, S, H) or (S, H) against input (B, S, H).
// Outputs: output, mean, inv_std_var (float, last axis 1) and input_skip_bias_sum.
Status SkipNormalization(KernelContext& ctx, bool simplified) {
  ASSIGN_OR_RETURN(const Tensor* input, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* skip, RequiredInput(ctx, 1));
  if (!IsFloatingPoint(input->dtype())) return UnsupportedType(ctx, input->dtype());
  if (input->rank() < 2 || skip->dtype() != input->dtype()) {
    return ctx.Fail("input must have rank >= 2 and skip its type; got " +
                    ShapeToString(input->shape()) + " and " + ShapeToString(skip->shape()));
  }
  const int64_t width = input->shape().back();
  const int64_t rows = width ? input->size() / width : 0;
  // skip is (B, S, H) like input, or (1, S, H) / (S, H): then it repeats over the batch.
  const Shape& is = input->shape();
  const Shape& ss = skip->shape();
  const bool same = ss == is;
  const bool batch_one =
      ss.size() == is.size() && ss[0] == 1 && std::equal(ss.begin() + 1, ss.end(), is.begin() + 1);
  const bool no_batch =
      ss.size() + 1 == is.size() && std::equal(ss.begin(), ss.end(), is.begin() + 1);
  if (!same && !batch_one && !no_batch) {
    return ctx.Fail("skip " + ShapeToString(ss) + " does not fit input " + ShapeToString(is));
  }
  const size_t beta_index = simplified ? 99 : 3;  // SkipSimplified has no beta input
  const size_t bias_index = simplified ? 3 : 4;
  ASSIGN_OR_RETURN(std::vector<double> gamma, ChannelParam(ctx, 2, "gamma", width, true));
  ASSIGN_OR_RETURN(std::vector<double> beta, ChannelParam(ctx, beta_index, "beta", width, false));
  ASSIGN_OR_RETURN(std::vector<double> bias, ChannelParam(ctx, bias_index, "bias", width, false));
  std::vector<double> v = ToDoubles(*input);
  const std::vector<double> s = ToDoubles(*skip);
  for (size_t i = 0; i < v.size(); ++i) {
    v[i] += s[i % s.size()] + (bias.empty() ? 0.0 : bias[i % static_cast<size_t>(width)]);
  }
  if (ctx.output_requested(3)) ctx.SetOutput(3, FromDoubles(v, input->dtype(), input->shape()));
  std::vector<float> means, inv_stds;
  const double epsilon = ctx.node().GetFloat("epsilon", 1e-12f);
  NormalizeRows(v, rows, width, epsilon, simplified, gamma, beta, &means, &inv_stds);
  ctx.SetOutput(0, FromDoubles(v, input->dtype(), input->shape()));
  Shape stat = input->shape();
  stat.back() = 1;
  if (ctx.output_requested(1))
    ctx.SetOutput(1, Tensor::FromVector<float>(DataType::kFloat, stat, means));
  if (ctx.output_requested(2)) {
    ctx.SetOutput(2, Tensor::FromVector<float>(DataType::kFloat, stat, inv_stds));
  }
  return Status::Ok();
}

Status SkipLayerNormalizationKernel(KernelContext& ctx) { return SkipNormalization(ctx, false); }
Status SkipSimplifiedLayerNormalizationKernel(KernelContext& ctx) {
  return SkipNormalization(ctx, true);
}

// An int32 [B, S] id input as int64s, checked for shape.
Result<std::vector<int64_t>> IdInput(const KernelContext& ctx, size_t i, const char* name,
                                     const Shape& shape) {
  const Tensor* t = ctx.input(i);
  if (t->dtype() != DataType::kInt32) return ctx.Fail(std::string(name) + " must be int32");
  if (t->shape() != shape) {
    return ctx.Fail(std::string(name) + " " + ShapeToString(t->shape()) + " must have shape " +
                    ShapeToString(shape));
  }
  return t->ToInt64Vector();
}

// EmbedLayerNormalization: LayerNorm(word[input_ids] + position[position_ids or s] +
// segment[segment_ids]) * gamma + beta; mask_index = number of ones per mask row (zeros without
// a mask); embedding_sum = the sum before normalization.
Status EmbedLayerNormalizationKernel(KernelContext& ctx) {
  ASSIGN_OR_RETURN(const Tensor* ids, RequiredInput(ctx, 0));
  ASSIGN_OR_RETURN(const Tensor* word, RequiredInput(ctx, 2));
  ASSIGN_OR_RETURN(const Tensor* position, RequiredInput(ctx, 3));
  if (ids->rank() != 2) return ctx.Fail("input_ids must be (batch, sequence)");
  if (word->rank() != 2 || position->rank() != 2 || position->shape()[1] != word->shape()[1]) {
    return ctx.Fail("word and position embeddings must be (rows, hidden) with one hidden size");
  }
  if (!IsFloatingPoint(word->dtype())) return UnsupportedType(ctx, word->dtype());
  const Shape bs = ids->shape();
  const int64_t batch = bs[0], seq = bs[1], hidden = word->shape()[1];
  ASSIGN_OR_RETURN(std::vector<int64_t> id_values, IdInput(ctx, 0, "input_ids", bs));
  std::vector<int64_t> segment_ids;
  const Tensor* segment = ctx.input(4);
  if (ctx.input(1) || segment) {
    if (!ctx.input(1) || !segment) return ctx.Fail("segment_ids and segment_embedding go together");
    ASSIGN_OR_RETURN(segment_ids, IdInput(ctx, 1, "segment_ids", bs));
    if (segment->rank() != 2 || segment->shape()[1] != hidden) {
      return ctx.Fail("segment_embedding must be (rows, hidden)");
    }
  }
  // position_ids: (B, S) or (1, S); absent means 0..S-1 for every row.
  std::vector<int64_t> position_ids;
  if (const Tensor* p = ctx.input(8)) {
    if (p->dtype() != DataType::kInt32 || p->rank() != 2 || p->shape()[1] != seq ||
        (p->shape()[0] != batch && p->shape()[0] != 1)) {
      return ctx.Fail("position_ids must be int32 (batch or 1, sequence)");
    }
    position_ids = p->ToInt64Vector();
  }
  ASSIGN_OR_RETURN(std::vector<double> gamma, ChannelParam(ctx, 5, "gamma", hidden, true));
  ASSIGN_OR_RETURN(std::vector<double> beta, ChannelParam(ctx, 6, "beta", hidden, true));
  const std::vector<double> w = ToDoubles(*word);
  const std::vector<double> pe = ToDoubles(*position);
  const std::vector<double> se =
      segment ? ToDoubles(*segment) : std::vector<double>();
  std::vector<double> v(static_cast<size_t>(batch * seq * hidden));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t s = 0; s < seq; ++s) {
      const size_t token = static_cast<size_t>(b * seq + s);
      const int64_t wid = id_values[token];
      int64_t pid = s;
      if (!position_ids.empty()) {
        const bool shared = position_ids.size() == static_cast<size_t>(seq);  // (1, S)
        pid = position_ids[shared ? static_cast<size_t>(s) : token];
      }
      const int64_t sid = segment_ids.empty() ? 0 : segment_ids[token];
      if (wid < 0 || wid >= word->shape()[0] || pid < 0 || pid >= position->shape()[0] ||
          (segment && (sid < 0 || sid >= segment->shape()[0]))) {
        return ctx.Fail("an id at (" + std::to_string(b) + ", " + std::to_string(s) +
                        ") is out of its embedding's range");
      }
      double* out = v.data() + token * static_cast<size_t>(hidden);
      for (int64_t h = 0; h < hidden; ++h) {
        out[h] = w[static_cast<size_t>(wid * hidden + h)] +
                 pe[static_cast<size_t>(pid * hidden + h)] +
                 (segment ? se[static_cast<size_t>(sid * hidden + h)] : 0.0);
      }
    }
  }
  const Shape out_shape = {batch, seq, hidden};
  if (ctx.output_requested(2)) ctx.SetOutput(2, FromDoubles(v, word->dtype(), out_shape));
  std::vector<float> means, inv_stds;
  NormalizeRows(v, batch * seq, hidden, ctx.node().GetFloat("epsilon", 1e-12f), false, gamma, beta,
                &means, &inv_stds);
  ctx.SetOutput(0, FromDoubles(v, word->dtype(), out_shape));
  if (ctx.output_requested(1)) {
    std::vector<int32_t> mask_index(static_cast<size_t>(batch), 0);
    if (const Tensor* mask = ctx.input(7)) {
      if (mask->shape() != bs) return ctx.Fail("mask must have input_ids' shape");
      for (int64_t b = 0; b < batch; ++b) {
        for (int64_t s = 0; s < seq; ++s)
          mask_index[static_cast<size_t>(b)] += mask->GetInt64(b * seq + s) == 1;
      }
    }
    ctx.SetOutput(1, Tensor::FromVector<int32_t>(DataType::kInt32, {batch}, mask_index));
  }
  return Status::Ok();
}

}  // namespace

REGISTER_KERNEL("", "LayerNormalization", 1, 16, LegacyLayerNormalizationKernel);
REGISTER_KERNEL("", "SimplifiedLayerNormalization", 1, kLatestOpset,
                SimplifiedLayerNormalizationKernel);
REGISTER_KERNEL("com.microsoft", "SkipLayerNormalization", 1, 1, SkipLayerNormalizationKernel);
REGISTER_KERNEL("com.microsoft", "SkipSimplifiedLayerNormalization", 1, 1,
                SkipSimplifiedLayerNormalizationKernel);
REGISTER_KERNEL("com.microsoft", "EmbedLayerNormalization", 1, 1, EmbedLayerNormalizationKernel);

}  // namespace graphopt::reference
