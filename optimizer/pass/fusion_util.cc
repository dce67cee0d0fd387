#include "optimizer/pass/fusion_util.h"

#include <cmath>
#include <limits>

#include "optimizer/pass/pattern.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

bool IsFoldableFloatType(DataType type) {
  return type == DataType::kFloat || type == DataType::kDouble || type == DataType::kFloat16 ||
         type == DataType::kBfloat16;
}

namespace {

template <typename T>
void ScaleInto(const T* in, T* out, size_t outer, size_t inner, bool by_outer,
               const std::vector<double>& scale) {
  for (size_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < inner; ++k) {
      const size_t i = o * inner + k;
      out[i] = static_cast<T>(static_cast<double>(in[i]) * scale[by_outer ? o : k]);
    }
  }
}

// `w` viewed as [outer, inner] with each element multiplied by scale[o] (by_outer) or
// scale[k]; computed in double, rounded once into w's dtype. Writes straight into the new
// tensor: weights can be tens of MiB and every extra buffer costs page faults.
Tensor ScaledCopy(const Tensor& w, size_t outer, size_t inner, bool by_outer,
                  const std::vector<double>& scale) {
  if (w.dtype() == DataType::kFloat || w.dtype() == DataType::kDouble) {
    Tensor out(w.dtype(), w.shape());
    if (w.dtype() == DataType::kFloat) {
      ScaleInto(w.data<float>(), out.mutable_data<float>(), outer, inner, by_outer, scale);
    } else {
      ScaleInto(w.data<double>(), out.mutable_data<double>(), outer, inner, by_outer, scale);
    }
    return out;
  }
  std::vector<double> values = ToDoubles(w);
  for (size_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < inner; ++k) values[o * inner + k] *= scale[by_outer ? o : k];
  }
  return MakeFloatTensor(w.dtype(), w.shape(), values);
}

}  // namespace

std::optional<std::vector<double>> ConstantFloats(const ir::Value* v) {
  const Tensor* t = ConstantValue(v);
  if (!t || !IsFoldableFloatType(t->dtype())) return std::nullopt;
  return ToDoubles(*t);
}

Tensor MakeFloatTensor(DataType dtype, Shape shape, const std::vector<double>& values) {
  if (dtype == DataType::kFloat) {
    std::vector<float> narrow(values.begin(), values.end());
    return Tensor::FromVector<float>(dtype, std::move(shape), narrow);
  }
  Tensor wide = Tensor::FromVector<double>(DataType::kDouble, std::move(shape), values);
  return dtype == DataType::kDouble ? wide : wide.CastTo(dtype);
}

ChannelAffine ChannelAffine::Scale(std::vector<double> s) {
  ChannelAffine a;
  a.shift.assign(s.size(), 0.0);
  a.scale = std::move(s);
  return a;
}

ChannelAffine ChannelAffine::Shift(std::vector<double> s) {
  ChannelAffine a;
  a.scale.assign(s.size(), 1.0);
  a.shift = std::move(s);
  return a;
}

bool ChannelAffine::finite() const {
  for (double x : scale) {
    if (!std::isfinite(x)) return false;
  }
  for (double x : shift) {
    if (!std::isfinite(x)) return false;
  }
  return true;
}

std::optional<ChannelAffine> InferenceBatchNormAffine(const ir::Node* bn) {
  if (!bn->Is("BatchNormalization") || bn->inputs().size() < 5) return std::nullopt;
  // training_mode (opset 14+) normalizes by batch statistics; spatial=0 (before opset 9)
  // has per-activation parameters; is_test=0 (before opset 7) is training too. The default
  // of is_test is 0, but those opsets predate every exporter still in use, so only an
  // explicit 0 refuses.
  if (bn->GetInt("training_mode", 0) != 0 || bn->GetInt("spatial", 1) == 0) return std::nullopt;
  if (bn->HasAttr("is_test") && bn->GetInt("is_test", 0) == 0) return std::nullopt;
  // Running-statistics outputs would need values of their own.
  for (size_t i = 1; i < bn->outputs().size(); ++i) {
    const ir::Value* out = bn->output(i);
    if (out && (!out->uses().empty() || out->is_graph_output())) return std::nullopt;
  }
  auto gamma = ConstantFloats(bn->input(1));
  auto beta = ConstantFloats(bn->input(2));
  auto mean = ConstantFloats(bn->input(3));
  auto var = ConstantFloats(bn->input(4));
  if (!gamma || !beta || !mean || !var || gamma->empty()) return std::nullopt;
  const size_t channels = gamma->size();
  if (beta->size() != channels || mean->size() != channels || var->size() != channels) {
    return std::nullopt;
  }
  // The attribute is a float; the kernels widen that float, so we do too.
  const double epsilon = static_cast<double>(bn->GetFloat("epsilon", 1e-5f));
  ChannelAffine affine;
  affine.scale.resize(channels);
  affine.shift.resize(channels);
  for (size_t c = 0; c < channels; ++c) {
    const double denominator = (*var)[c] + epsilon;
    if (!(denominator > 0)) return std::nullopt;  // the original yields NaN/inf: keep it
    affine.scale[c] = (*gamma)[c] / std::sqrt(denominator);
    affine.shift[c] = (*beta)[c] - (*mean)[c] * affine.scale[c];
  }
  if (!affine.finite()) return std::nullopt;
  return affine;
}

std::optional<std::vector<double>> PerChannelConstant(const ir::Value* v, int64_t rank,
                                                      int64_t channels) {
  const Tensor* t = ConstantValue(v);
  if (!t || !IsFoldableFloatType(t->dtype()) || t->rank() > rank || t->size() < 1) {
    return std::nullopt;
  }
  bool per_channel = false;
  for (int64_t i = 0; i < t->rank(); ++i) {
    const int64_t axis = i + rank - t->rank();  // right-aligned broadcasting
    const int64_t d = t->shape()[static_cast<size_t>(i)];
    if (axis == 1 && d == channels) {
      per_channel = true;
    } else if (d != 1) {
      return std::nullopt;  // varies along another axis, or grows the result
    }
  }
  std::vector<double> values(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    values[static_cast<size_t>(c)] = t->GetDouble(per_channel ? c : 0);
  }
  for (double x : values) {
    // inf*0 inside the Conv differs from the original's inf*sum.
    if (!std::isfinite(x)) return std::nullopt;
  }
  return values;
}

std::optional<FoldableConv> MatchFoldableConv(const ir::Value* conv_output) {
  if (!conv_output) return std::nullopt;
  ir::Node* conv = conv_output->producer();
  if (!conv || !conv->Is("Conv") || conv_output->producer_index() != 0) return std::nullopt;
  if (!HasSingleUse(conv_output)) return std::nullopt;
  FoldableConv fc;
  fc.conv = conv;
  fc.weight = ConstantValue(conv->input(1));
  if (!fc.weight || !IsFoldableFloatType(fc.weight->dtype()) || fc.weight->rank() < 3 ||
      fc.weight->shape()[0] < 1) {
    return std::nullopt;
  }
  if (const ir::Value* b = conv->input(2)) {
    auto bias = ConstantFloats(b);
    if (!bias || static_cast<int64_t>(bias->size()) != fc.out_channels()) return std::nullopt;
    fc.bias = std::move(*bias);
  }
  return fc;
}

namespace {

void SetOrAddInput(ir::Node* n, size_t index, ir::Value* v) {
  while (n->inputs().size() < index) n->AddInput(nullptr);
  if (n->inputs().size() == index) {
    n->AddInput(v);
  } else {
    n->SetInput(index, v);
  }
}

bool AllZero(const std::vector<double>& v) {
  for (double x : v) {
    if (x != 0) return false;
  }
  return true;
}

}  // namespace

void FoldAffineIntoConv(ir::Graph& g, const FoldableConv& fc, const ChannelAffine& affine) {
  // Weight layout [M, C/group, k...]: output channel m owns one contiguous block, whatever the
  // group count, so scaling per output channel is exact for grouped convolutions too.
  const Tensor& w = *fc.weight;
  const int64_t m_count = fc.out_channels();
  Tensor folded = ScaledCopy(w, static_cast<size_t>(m_count),
                             static_cast<size_t>(w.size() / m_count), true, affine.scale);
  ir::Node* conv = fc.conv;
  const std::string hint = conv->input(1)->name();
  conv->SetInput(1, g.NewInitializer(hint, std::move(folded)));
  if (fc.bias.empty() && AllZero(affine.shift)) return;
  std::vector<double> bias(static_cast<size_t>(m_count));
  for (size_t m = 0; m < bias.size(); ++m) {
    const double b = fc.bias.empty() ? 0.0 : fc.bias[m];
    bias[m] = b * affine.scale[m] + affine.shift[m];
  }
  const std::string bias_hint = conv->input(2) ? conv->input(2)->name() : hint + "_bias";
  SetOrAddInput(conv, 2, g.NewInitializer(bias_hint, MakeFloatTensor(w.dtype(), {m_count}, bias)));
}

std::optional<FoldableGemm> MatchFoldableGemm(const ir::Value* gemm_output) {
  if (!gemm_output) return std::nullopt;
  ir::Node* gemm = gemm_output->producer();
  if (!gemm || !gemm->Is("Gemm") || !HasSingleUse(gemm_output)) return std::nullopt;
  FoldableGemm fg;
  fg.gemm = gemm;
  fg.b = ConstantValue(gemm->input(1));
  if (!fg.b || !IsFoldableFloatType(fg.b->dtype()) || fg.b->rank() != 2) return std::nullopt;
  fg.n = fg.b->shape()[gemm->GetInt("transB", 0) != 0 ? 0 : 1];
  if (fg.n < 1) return std::nullopt;
  if (const ir::Value* c = gemm->input(2)) {
    fg.c = ConstantValue(c);
    if (!fg.c || !IsFoldableFloatType(fg.c->dtype()) || fg.c->rank() > 2) return std::nullopt;
    if (fg.c->rank() >= 1) {
      const int64_t last = fg.c->shape().back();
      if (last != 1 && last != fg.n) return std::nullopt;
    }
  }
  return fg;
}

void FoldAffineIntoGemm(ir::Graph& g, const FoldableGemm& fg, const ChannelAffine& affine) {
  ir::Node* gemm = fg.gemm;
  const Tensor& b = *fg.b;
  const bool trans_b = gemm->GetInt("transB", 0) != 0;
  const int64_t rows = b.shape()[0], cols = b.shape()[1];
  // Output column n is op(B)'s column n: B's column n, or its row n when transposed.
  Tensor folded =
      ScaledCopy(b, static_cast<size_t>(rows), static_cast<size_t>(cols), trans_b, affine.scale);
  const std::string hint = gemm->input(1)->name();
  gemm->SetInput(1, g.NewInitializer(hint, std::move(folded)));

  // C' = scale * beta * C + shift, materialized as [N] or, when C varies by row, [Mc, N].
  const double beta = fg.c ? static_cast<double>(gemm->GetFloat("beta", 1.0f)) : 0.0;
  const int64_t c_rows = fg.c && fg.c->rank() == 2 ? fg.c->shape()[0] : 1;
  const bool c_full_cols = fg.c && fg.c->rank() >= 1 && fg.c->shape().back() == fg.n;
  std::vector<double> c_new(static_cast<size_t>(c_rows * fg.n));
  for (int64_t r = 0; r < c_rows; ++r) {
    for (int64_t n = 0; n < fg.n; ++n) {
      double c = 0;
      if (fg.c) c = fg.c->GetDouble(c_full_cols ? r * fg.n + n : r);
      c_new[static_cast<size_t>(r * fg.n + n)] =
          affine.scale[static_cast<size_t>(n)] * beta * c + affine.shift[static_cast<size_t>(n)];
    }
  }
  Shape c_shape = fg.c && fg.c->rank() == 2 ? Shape{c_rows, fg.n} : Shape{fg.n};
  const std::string c_hint = gemm->input(2) ? gemm->input(2)->name() : hint + "_bias";
  SetOrAddInput(gemm, 2, g.NewInitializer(c_hint, MakeFloatTensor(b.dtype(), c_shape, c_new)));
  gemm->SetFloat("beta", 1.0f);
}

bool AbsorbConsumer(Rewriter& rw, ir::Node* consumer, ir::Value* replacement) {
  ir::Value* out = consumer->output(0);
  if (!replacement->type().has_type()) replacement->type() = out->type();
  return rw.ReplaceNode(consumer, {replacement});
}

std::optional<std::vector<float>> FusedActivationParams(const ir::Node* act, int64_t opset) {
  const std::string& op = act->op_type();
  if (op == "Relu" || op == "Sigmoid" || op == "Tanh" || op == "HardSwish") {
    return std::vector<float>{};
  }
  if (op == "LeakyRelu") return std::vector<float>{act->GetFloat("alpha", 0.01f)};
  if (op == "HardSigmoid") {
    return std::vector<float>{act->GetFloat("alpha", 0.2f), act->GetFloat("beta", 0.5f)};
  }
  if (op == "Clip") {
    auto bounds = pattern::ClipBounds(act, opset);
    if (!bounds) return std::nullopt;
    // Both bounds are passed; an absent one is the float range's end.
    const double lowest = std::numeric_limits<float>::lowest();
    const double highest = std::numeric_limits<float>::max();
    return std::vector<float>{static_cast<float>(std::max(bounds->first, lowest)),
                              static_cast<float>(std::min(bounds->second, highest))};
  }
  return std::nullopt;
}

}  // namespace graphopt
