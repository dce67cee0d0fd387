// Gemm, MatMul (N-D batch broadcasting), MatMulInteger, QLinearMatMul and Einsum. Float math
// goes through BLAS; integer products use the plain loop of blas_util.h.
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "backends/reference/kernel.h"
#include "backends/reference/kernel_util.h"
#include "backends/reference/kernels/blas_util.h"
#include "backends/reference/kernels/elementwise_util.h"  // kLatestOpset
#include "backends/reference/kernels/float_compute.h"
#include "backends/reference/kernels/quantize_util.h"

namespace graphopt::reference {
namespace {

// Calls body(T{}) for the element types Gemm/MatMul accept besides float/double/half.
template <typename Body>
bool DispatchIntegerMatMul(DataType type, Body&& body) {
  switch (type) {
    case DataType::kInt32:
      body(int32_t{});
      return true;
    case DataType::kInt64:
      body(int64_t{});
      return true;
    case DataType::kUint32:
      body(uint32_t{});
      return true;
    case DataType::kUint64:
      body(uint64_t{});
      return true;
    default:
      return false;
  }
}

template <typename T>
Status GemmTyped(KernelContext& ctx, const Tensor& a, const Tensor& b, const Tensor* c) {
  const ir::Node& node = ctx.node();
  const bool trans_a = node.GetInt("transA", 0) != 0;
  const bool trans_b = node.GetInt("transB", 0) != 0;
  const T alpha = static_cast<T>(node.GetFloat("alpha", 1.0f));
  const T beta = static_cast<T>(node.GetFloat("beta", 1.0f));
  if (a.rank() != 2 || b.rank() != 2) {
    return ctx.Fail("A " + ShapeToString(a.shape()) + " and B " + ShapeToString(b.shape()) +
                    " must be matrices");
  }
  if (b.dtype() != a.dtype() || (c && c->dtype() != a.dtype())) {
    return ctx.Fail("A, B and C must share one element type");
  }
  const int64_t m = trans_a ? a.shape()[1] : a.shape()[0];
  const int64_t k = trans_a ? a.shape()[0] : a.shape()[1];
  const int64_t kb = trans_b ? b.shape()[1] : b.shape()[0];
  const int64_t n = trans_b ? b.shape()[0] : b.shape()[1];
  if (k != kb) {
    return ctx.Fail("inner dims differ: A " + ShapeToString(a.shape()) + " B " +
                    ShapeToString(b.shape()) + " (transA=" + std::to_string(trans_a) +
                    ", transB=" + std::to_string(trans_b) + ")");
  }
  Tensor y(a.dtype(), {m, n});
  T* yp = y.mutable_data<T>();
  T beta_used = T(0);
  if (c && beta != T(0)) {
    Shape out;
    if (!BroadcastShapes({c->shape(), {m, n}}, &out) || out != Shape{m, n}) {
      return ctx.Fail("C " + ShapeToString(c->shape()) + " does not broadcast to [" +
                      std::to_string(m) + "," + std::to_string(n) + "]");
    }
    const std::vector<int64_t> index = BroadcastIndex(c->shape(), {m, n});
    const T* cp = c->data<T>();
    for (size_t i = 0; i < index.size(); ++i) yp[i] = cp[index[i]];
    beta_used = beta;
  }
  Gemm(trans_a, trans_b, m, n, k, alpha, a.data<T>(), a.shape()[1], b.data<T>(), b.shape()[1],
       beta_used, yp, n);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

Status GemmKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (!a || !b) return ctx.Fail("inputs A and B are required");
  Status status;
  if (DispatchIntegerMatMul(a->dtype(), [&](auto tag) {
        status = GemmTyped<decltype(tag)>(ctx, *a, *b, ctx.input(2));
      })) {
    return status;
  }
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    return GemmTyped<decltype(tag)>(ctx, *in[0], *in[1], in[2]);
  });
}

// numpy.matmul of a [..., M, K] and b [..., K, N] (1-D operands promoted and the added axis
// dropped again), computed in T into a tensor of `out_type`.
template <typename T>
Result<Tensor> BatchedMatMul(const KernelContext& ctx, const Tensor& a, const Tensor& b,
                             DataType out_type) {
  if (a.rank() == 0 || b.rank() == 0) return ctx.Fail("MatMul operands must not be scalars");
  Shape as = a.shape(), bs = b.shape();
  const bool a_vector = as.size() == 1, b_vector = bs.size() == 1;
  if (a_vector) as.insert(as.begin(), 1);
  if (b_vector) bs.push_back(1);
  const int64_t m = as[as.size() - 2], k = as.back();
  const int64_t kb = bs[bs.size() - 2], n = bs.back();
  if (k != kb) {
    return ctx.Fail("inner dims differ: " + ShapeToString(a.shape()) + " x " +
                    ShapeToString(b.shape()));
  }
  const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
  Shape batch;
  if (!BroadcastShapes({a_batch, b_batch}, &batch)) {
    return ctx.Fail("batch dims of " + ShapeToString(a.shape()) + " and " +
                    ShapeToString(b.shape()) + " do not broadcast");
  }
  Shape y_shape = batch;
  if (!a_vector) y_shape.push_back(m);
  if (!b_vector) y_shape.push_back(n);
  Tensor y(out_type, y_shape);
  T* yp = y.mutable_data<T>();
  const T* ap = a.data<T>();
  const T* bp = b.data<T>();
  const int64_t batches = NumElements(batch);
  if (NumElements(b_batch) == 1 && a_batch == batch) {
    // b is one matrix shared by every batch: fold the batch into the rows of one GEMM.
    Gemm(false, false, batches * m, n, k, T(1), ap, k, bp, n, T(0), yp, n);
  } else {
    const std::vector<int64_t> a_index = BroadcastIndex(a_batch, batch);
    const std::vector<int64_t> b_index = BroadcastIndex(b_batch, batch);
    for (int64_t i = 0; i < batches; ++i) {
      Gemm(false, false, m, n, k, T(1), ap + a_index[static_cast<size_t>(i)] * m * k, k,
           bp + b_index[static_cast<size_t>(i)] * k * n, n, T(0), yp + i * m * n, n);
    }
  }
  return y;
}

Status MatMulKernel(KernelContext& ctx) {
  const Tensor* a = ctx.input(0);
  const Tensor* b = ctx.input(1);
  if (!a || !b) return ctx.Fail("inputs A and B are required");
  if (a->dtype() != b->dtype()) return ctx.Fail("A and B element types differ");
  Result<Tensor> y = Status::Ok();
  if (DispatchIntegerMatMul(a->dtype(), [&](auto tag) {
        y = BatchedMatMul<decltype(tag)>(ctx, *a, *b, a->dtype());
      })) {
    if (!y.ok()) return y.status();
    ctx.SetOutput(0, std::move(y.value()));
    return Status::Ok();
  }
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& in) -> Status {
    using T = decltype(tag);
    Result<Tensor> r = BatchedMatMul<T>(ctx, *in[0], *in[1], FloatTypeOf<T>());
    if (!r.ok()) return r.status();
    ctx.SetOutput(0, std::move(r.value()));
    return Status::Ok();
  });
}

// `t` minus its zero point as int64: a scalar zero point, or one per row (`per_row`, for A:
// index M) or per column (for B: index N) of the trailing matrix.
Result<Tensor> ShiftedToInt64(const KernelContext& ctx, const Tensor& t, const Tensor* zero_point,
                              bool per_row) {
  Tensor out = t.CastTo(DataType::kInt64);
  if (!zero_point || zero_point->size() == 0) return out;
  int64_t* p = out.mutable_data<int64_t>();
  const int64_t n = out.size();
  const std::vector<int64_t> z = zero_point->CastTo(DataType::kInt64).ToInt64Vector();
  if (z.size() == 1) {
    for (int64_t i = 0; i < n; ++i) p[i] -= z[0];
    return out;
  }
  const Shape& s = t.shape();
  const int64_t cols = s.empty() ? 1 : s.back();
  const int64_t rows = s.size() < 2 ? 1 : s[s.size() - 2];
  const int64_t dim = per_row ? rows : cols;
  if (static_cast<int64_t>(z.size()) != dim) {
    return ctx.Fail("zero point of shape " + ShapeToString(zero_point->shape()) + " does not fit " +
                    ShapeToString(s));
  }
  for (int64_t i = 0; i < n; ++i)
    p[i] -= z[static_cast<size_t>(per_row ? (i / cols) % rows : i % cols)];
  return out;
}

Status MatMulIntegerKernel(KernelContext& ctx) {
  if (!ctx.input(0) || !ctx.input(1)) return ctx.Fail("inputs A and B are required");
  Result<Tensor> a = ShiftedToInt64(ctx, *ctx.input(0), ctx.input(2), true);
  if (!a.ok()) return a.status();
  Result<Tensor> b = ShiftedToInt64(ctx, *ctx.input(1), ctx.input(3), false);
  if (!b.ok()) return b.status();
  Result<Tensor> y = BatchedMatMul<int64_t>(ctx, a.value(), b.value(), DataType::kInt64);
  if (!y.ok()) return y.status();
  ctx.SetOutput(0, y.value().CastTo(DataType::kInt32));
  return Status::Ok();
}

// Scale values indexed like the zero points: scalar, or per row of A / per column of B.
double ScaleAt(const Tensor& scale, int64_t i) {
  return scale.GetDouble(scale.size() == 1 ? 0 : i);
}

Status QLinearMatMulKernel(KernelContext& ctx) {
  for (size_t i = 0; i < 8; ++i) {
    if (!ctx.input(i)) return ctx.Fail("input " + std::to_string(i) + " is required");
  }
  Result<Tensor> a = ShiftedToInt64(ctx, *ctx.input(0), ctx.input(2), true);
  if (!a.ok()) return a.status();
  Result<Tensor> b = ShiftedToInt64(ctx, *ctx.input(3), ctx.input(5), false);
  if (!b.ok()) return b.status();
  Result<Tensor> acc = BatchedMatMul<int64_t>(ctx, a.value(), b.value(), DataType::kInt64);
  if (!acc.ok()) return acc.status();
  const Tensor a_scale = ToFloatTensor(*ctx.input(1));
  const Tensor b_scale = ToFloatTensor(*ctx.input(4));
  const Tensor y_scale = ToFloatTensor(*ctx.input(6));
  const Tensor& y_zero = *ctx.input(7);
  const Tensor& r = acc.value();
  const int64_t n = r.shape().empty() ? 1 : r.shape().back();
  const int64_t m = r.rank() < 2 ? 1 : r.shape()[r.shape().size() - 2];
  const int64_t* rp = r.data<int64_t>();
  Tensor y(y_zero.dtype(), r.shape());
  const int64_t zero = y_zero.GetInt64(0);
  QuantRange range;
  if (y_zero.dtype() != DataType::kUint8 && y_zero.dtype() != DataType::kInt8) {
    return ctx.Unsupported("output type " + std::string(DataTypeName(y_zero.dtype())));
  }
  QuantRangeOf(y_zero.dtype(), &range);
  std::vector<int64_t> q(static_cast<size_t>(y.size()));
  const double out_scale = y_scale.GetDouble(0);
  for (int64_t i = 0; i < r.size(); ++i) {
    const double scale = ScaleAt(a_scale, (i / n) % m) * ScaleAt(b_scale, i % n) / out_scale;
    q[static_cast<size_t>(i)] = RoundAndSaturate(static_cast<double>(rp[i]) * scale, zero, range);
  }
  StoreQuantized(q, &y);
  ctx.SetOutput(0, std::move(y));
  return Status::Ok();
}

// ---- Einsum ----------------------------------------------------------------------------

// One parsed operand: a label per axis. Letters are labels 0..51; the axes an ellipsis covers
// get labels 52.. counted from the right, so equal ranks align as numpy broadcasting does.
constexpr int kEllipsisLabel = 52;

int LetterLabel(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

// Labels of one term for an operand of `rank` axes; `ellipsis_rank` receives how many axes the
// ellipsis covers (unchanged if there is none). Empty optional on a malformed term.
bool ParseTerm(const std::string& term, int64_t rank, std::vector<int>* labels,
               int64_t* ellipsis_rank) {
  labels->clear();
  const size_t dots = term.find("...");
  int64_t letters = 0;
  for (char c : term) {
    if (c == '.') continue;
    if (LetterLabel(c) < 0) return false;
    ++letters;
  }
  if (dots == std::string::npos) {
    if (rank >= 0 && letters != rank) return false;
    for (char c : term) labels->push_back(LetterLabel(c));
    return true;
  }
  const int64_t covered = rank >= 0 ? rank - letters : *ellipsis_rank;
  if (covered < 0) return false;
  *ellipsis_rank = std::max(*ellipsis_rank, covered);
  for (size_t i = 0; i < dots; ++i) labels->push_back(LetterLabel(term[i]));
  for (int64_t j = covered; j > 0; --j) labels->push_back(kEllipsisLabel + static_cast<int>(j - 1));
  for (size_t i = dots + 3; i < term.size(); ++i) {
    if (term[i] == '.') return false;
    labels->push_back(LetterLabel(term[i]));
  }
  return true;
}

// Copies `src` (shape `shape`) into the axis order `perm`: out axis i is input axis perm[i].
template <typename T>
std::vector<T> PermuteAxes(const T* src, const Shape& shape, const std::vector<size_t>& perm) {
  const std::vector<int64_t> in_strides = Strides(shape);
  Shape out_shape;
  std::vector<int64_t> strides;
  for (size_t p : perm) {
    out_shape.push_back(shape[p]);
    strides.push_back(in_strides[p]);
  }
  const int64_t n = NumElements(out_shape);
  std::vector<T> out(static_cast<size_t>(n));
  std::vector<int64_t> counter(perm.size(), 0);
  int64_t offset = 0;
  for (int64_t i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)] = src[offset];
    for (size_t ax = perm.size(); ax-- > 0;) {
      offset += strides[ax];
      if (++counter[ax] < out_shape[ax]) break;
      offset -= strides[ax] * out_shape[ax];
      counter[ax] = 0;
    }
  }
  return out;
}

// Two-operand einsum without diagonals, broadcasting or one-sided sums is a batched GEMM after
// transposes: A -> [batch, left, contracted], B -> [batch, contracted, right]. Returns false
// (leaving `y` alone) when the equation does not have that form.
template <typename T>
bool EinsumAsBatchedGemm(const std::vector<const Tensor*>& inputs,
                         const std::vector<std::vector<int>>& labels,
                         const std::vector<int>& out_labels, const std::vector<int64_t>& label_size,
                         Tensor* y) {
  if constexpr (!std::is_floating_point_v<T>) {
    return false;
  } else {
    if (inputs.size() != 2) return false;
    auto position = [](const std::vector<int>& v, int l) {
      return static_cast<size_t>(std::find(v.begin(), v.end(), l) - v.begin());
    };
    for (size_t t = 0; t < 2; ++t) {
      for (size_t ax = 0; ax < labels[t].size(); ++ax) {
        const int l = labels[t][ax];
        if (position(labels[t], l) != ax) return false;  // repeated label: a diagonal
        if (inputs[t]->shape()[ax] != label_size[static_cast<size_t>(l)]) return false;
      }
    }
    for (size_t i = 0; i < out_labels.size(); ++i) {
      if (position(out_labels, out_labels[i]) != i) return false;
    }
    const std::vector<int>& la = labels[0];
    const std::vector<int>& lb = labels[1];
    auto in = [&](const std::vector<int>& v, int l) { return position(v, l) < v.size(); };
    std::vector<int> batch, left, right, contracted;
    for (int l : out_labels) {
      if (in(la, l) && in(lb, l))
        batch.push_back(l);
      else if (in(la, l))
        left.push_back(l);
      else
        right.push_back(l);
    }
    for (int l : la) {
      if (!in(out_labels, l)) {
        if (!in(lb, l)) return false;  // summed over one operand only
        contracted.push_back(l);
      }
    }
    for (int l : lb) {
      if (!in(out_labels, l) && !in(la, l)) return false;
    }
    auto product = [&](const std::vector<int>& v) {
      int64_t p = 1;
      for (int l : v) p *= label_size[static_cast<size_t>(l)];
      return p;
    };
    std::vector<size_t> perm_a, perm_b;
    for (const auto* group : {&batch, &left, &contracted}) {
      for (int l : *group) perm_a.push_back(position(la, l));
    }
    for (const auto* group : {&batch, &contracted, &right}) {
      for (int l : *group) perm_b.push_back(position(lb, l));
    }
    const std::vector<T> a = PermuteAxes(inputs[0]->data<T>(), inputs[0]->shape(), perm_a);
    const std::vector<T> b = PermuteAxes(inputs[1]->data<T>(), inputs[1]->shape(), perm_b);
    const int64_t nb = product(batch), m = product(left), k = product(contracted),
                  n = product(right);
    std::vector<T> c(static_cast<size_t>(nb * m * n));
    for (int64_t i = 0; i < nb; ++i) {
      Gemm(false, false, m, n, k, T(1), a.data() + i * m * k, k, b.data() + i * k * n, n, T(0),
           c.data() + i * m * n, n);
    }
    // c is laid out [batch, left, right]; move its axes into the output's label order.
    std::vector<int> c_labels = batch;
    c_labels.insert(c_labels.end(), left.begin(), left.end());
    c_labels.insert(c_labels.end(), right.begin(), right.end());
    Shape c_shape, y_shape;
    for (int l : c_labels) c_shape.push_back(label_size[static_cast<size_t>(l)]);
    std::vector<size_t> perm_c;
    for (int l : out_labels) {
      perm_c.push_back(position(c_labels, l));
      y_shape.push_back(label_size[static_cast<size_t>(l)]);
    }
    *y = Tensor::FromVector<T>(FloatTypeOf<T>(), y_shape, PermuteAxes(c.data(), c_shape, perm_c));
    return true;
  }
}

// At most 16 axes under an ellipsis: labels fit a fixed table.
constexpr int kMaxEinsumLabels = kEllipsisLabel + 16;

// An Einsum equation resolved against its inputs: the labels of every input axis and of the
// output, and each label's size (-1: unused; 1 broadcasts against any size).
struct EinsumLabels {
  std::string equation;  // without spaces
  std::vector<std::vector<int>> inputs;
  std::vector<int> output;
  std::vector<int64_t> size = std::vector<int64_t>(kMaxEinsumLabels, -1);
  std::vector<int> count = std::vector<int>(kMaxEinsumLabels, 0);  // input axes per label
  int64_t ellipsis_rank = 0;
};

// The comma-separated input terms left of "->".
std::vector<std::string> SplitEinsumTerms(const std::string& lhs) {
  std::vector<std::string> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(
        lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return terms;
    start = comma + 1;
  }
}

// Labels each input axis and sizes each label; sizes must agree up to broadcasting.
Status BindEinsumInputs(const KernelContext& ctx, const std::vector<std::string>& terms,
                        const std::vector<const Tensor*>& inputs, EinsumLabels* e) {
  e->inputs.resize(inputs.size());
  for (size_t t = 0; t < terms.size(); ++t) {
    if (!ParseTerm(terms[t], inputs[t]->rank(), &e->inputs[t], &e->ellipsis_rank)) {
      return ctx.Fail("term '" + terms[t] + "' does not fit input of shape " +
                      ShapeToString(inputs[t]->shape()));
    }
    for (size_t ax = 0; ax < e->inputs[t].size(); ++ax) {
      const int l = e->inputs[t][ax];
      if (l >= kMaxEinsumLabels) return ctx.Unsupported("ellipsis covering more than 16 axes");
      const int64_t d = inputs[t]->shape()[ax];
      ++e->count[static_cast<size_t>(l)];
      int64_t& size = e->size[static_cast<size_t>(l)];
      if (size < 0 || size == 1) {
        size = d;
      } else if (d != size && d != 1) {
        return ctx.Fail("label '" + terms[t] + "' axis " + std::to_string(ax) + " has size " +
                        std::to_string(d) + ", elsewhere " + std::to_string(size));
      }
    }
  }
  return Status::Ok();
}

// The explicit output term, or the implicit one: the ellipsis axes, then the labels that appear
// once, in alphabetical order.
Status BindEinsumOutput(const KernelContext& ctx, size_t arrow, EinsumLabels* e) {
  if (arrow != std::string::npos) {
    int64_t er = e->ellipsis_rank;
    if (!ParseTerm(e->equation.substr(arrow + 2), -1, &e->output, &er)) {
      return ctx.Fail("bad output term in '" + e->equation + "'");
    }
    for (int l : e->output) {
      if (e->size[static_cast<size_t>(l)] < 0) return ctx.Fail("output label not in inputs");
    }
    return Status::Ok();
  }
  for (int64_t j = e->ellipsis_rank; j > 0; --j)
    e->output.push_back(kEllipsisLabel + static_cast<int>(j - 1));
  for (int l = 0; l < kEllipsisLabel; ++l) {
    if (e->count[static_cast<size_t>(l)] == 1) e->output.push_back(l);
  }
  return Status::Ok();
}

Status ParseEinsum(const KernelContext& ctx, const std::vector<const Tensor*>& inputs,
                   EinsumLabels* e) {
  for (char c : ctx.node().GetString("equation", "")) {
    if (c != ' ') e->equation += c;
  }
  const size_t arrow = e->equation.find("->");
  const std::vector<std::string> terms = SplitEinsumTerms(e->equation.substr(0, arrow));
  if (terms.size() != inputs.size()) {
    return ctx.Fail("equation '" + e->equation + "' has " + std::to_string(terms.size()) +
                    " terms for " + std::to_string(inputs.size()) + " inputs");
  }
  RETURN_IF_ERROR(BindEinsumInputs(ctx, terms, inputs, e));
  return BindEinsumOutput(ctx, arrow, e);
}

// The general case: for each output element, sums the product of the inputs over the labels
// not in the output, walking every input with per-label strides.
template <typename T>
Tensor EinsumBySummation(const std::vector<const Tensor*>& inputs, const EinsumLabels& e,
                         DataType type) {
  // Loop order: output labels, then the summed ones.
  std::vector<int> loop = e.output;
  for (int l = 0; l < kMaxEinsumLabels; ++l) {
    if (e.size[static_cast<size_t>(l)] >= 0 &&
        std::find(e.output.begin(), e.output.end(), l) == e.output.end()) {
      loop.push_back(l);
    }
  }
  Shape y_shape;
  for (int l : e.output) y_shape.push_back(e.size[static_cast<size_t>(l)]);
  std::vector<int64_t> sizes;
  for (int l : loop) sizes.push_back(e.size[static_cast<size_t>(l)]);
  // Per input, the stride of each loop label (repeated labels add up: a diagonal; broadcast
  // axes of size 1 get stride 0).
  std::vector<std::vector<int64_t>> strides(inputs.size(), std::vector<int64_t>(loop.size(), 0));
  for (size_t t = 0; t < inputs.size(); ++t) {
    const std::vector<int64_t> st = Strides(inputs[t]->shape());
    for (size_t ax = 0; ax < e.inputs[t].size(); ++ax) {
      if (inputs[t]->shape()[ax] == 1) continue;
      const size_t pos =
          static_cast<size_t>(std::find(loop.begin(), loop.end(), e.inputs[t][ax]) - loop.begin());
      strides[t][pos] += st[ax];
    }
  }
  Tensor y(type, y_shape);
  T* yp = y.mutable_data<T>();
  const int64_t out_count = NumElements(y_shape);
  int64_t summed = 1;
  for (size_t i = e.output.size(); i < loop.size(); ++i) summed *= sizes[i];
  if (out_count == 0 || summed == 0) return y;
  std::vector<const T*> data;
  for (const Tensor* in : inputs) data.push_back(in->data<T>());
  std::vector<int64_t> counter(loop.size(), 0), offset(inputs.size(), 0);
  for (int64_t o = 0; o < out_count; ++o) {
    double acc = 0;
    for (int64_t s = 0; s < summed; ++s) {
      double prod = 1;
      for (size_t t = 0; t < inputs.size(); ++t) prod *= static_cast<double>(data[t][offset[t]]);
      acc += prod;
      // Advance the odometer over all loop labels (summed labels run fastest).
      for (size_t ax = loop.size(); ax-- > 0;) {
        for (size_t t = 0; t < inputs.size(); ++t) offset[t] += strides[t][ax];
        if (++counter[ax] < sizes[ax]) break;
        for (size_t t = 0; t < inputs.size(); ++t) offset[t] -= strides[t][ax] * sizes[ax];
        counter[ax] = 0;
      }
    }
    yp[o] = static_cast<T>(acc);
  }
  return y;
}

template <typename T>
Status EinsumTyped(KernelContext& ctx, const std::vector<const Tensor*>& inputs, DataType type) {
  EinsumLabels e;
  RETURN_IF_ERROR(ParseEinsum(ctx, inputs, &e));
  if (Tensor fast; EinsumAsBatchedGemm<T>(inputs, e.inputs, e.output, e.size, &fast)) {
    ctx.SetOutput(0, std::move(fast));
    return Status::Ok();
  }
  ctx.SetOutput(0, EinsumBySummation<T>(inputs, e, type));
  return Status::Ok();
}

Status EinsumKernel(KernelContext& ctx) {
  if (ctx.num_inputs() == 0) return ctx.Fail("Einsum needs at least one input");
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.input(i)) return ctx.Fail("input " + std::to_string(i) + " is missing");
    if (ctx.input(i)->dtype() != ctx.input(0)->dtype()) return ctx.Fail("input types differ");
  }
  Status status;
  if (DispatchIntegerMatMul(ctx.input(0)->dtype(), [&](auto tag) {
        std::vector<const Tensor*> in;
        for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(ctx.input(i));
        status = EinsumTyped<decltype(tag)>(ctx, in, ctx.input(0)->dtype());
      })) {
    return status;
  }
  return ComputeInFloat(ctx, [&](auto tag, const FloatInputs& fin) -> Status {
    using T = decltype(tag);
    std::vector<const Tensor*> in;
    for (size_t i = 0; i < ctx.num_inputs(); ++i) in.push_back(fin[i]);
    return EinsumTyped<T>(ctx, in, FloatTypeOf<T>());
  });
}

}  // namespace

REGISTER_KERNEL("", "Gemm", 1, kLatestOpset, GemmKernel);
REGISTER_KERNEL("", "MatMul", 1, kLatestOpset, MatMulKernel);
REGISTER_KERNEL("", "MatMulInteger", 10, kLatestOpset, MatMulIntegerKernel);
REGISTER_KERNEL("", "QLinearMatMul", 10, kLatestOpset, QLinearMatMulKernel);
REGISTER_KERNEL("", "Einsum", 12, kLatestOpset, EinsumKernel);

}  // namespace graphopt::reference
