#include "backends/reference/kernels/contrib_util.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "backends/reference/kernel_util.h"

namespace graphopt::reference {

Result<std::vector<Tensor>> RunStandardKernel(const KernelContext& ctx, const std::string& op,
                                              const std::vector<const Tensor*>& inputs) {
  const KernelDef* def = KernelRegistry::Get().Find("", op, kComposeOpset);
  if (!def) return ctx.Unsupported("no " + op + " kernel to compose with");
  KernelContext inner(ctx.node(), kComposeOpset, inputs, nullptr);
  RETURN_IF_ERROR(def->fn(inner));
  return std::move(inner.outputs());
}

namespace {

// Which parameters each activation reads: (alpha, beta, gamma) in FusedGemm's attribute form.
struct ActivationSpec {
  const char* kind;
  int gemm_params;  // how many of alpha, beta, gamma it needs
  int conv_params;  // how many activation_params FusedConv needs; -1 = not allowed on FusedConv
};

constexpr ActivationSpec kActivations[] = {
    {"Relu", 0, 0},
    {"Tanh", 0, 0},
    {"Sigmoid", 0, 0},
    {"Silu", 0, 0},
    {"LeakyRelu", 1, 1},
    {"Clip", -1, 2},
    {"HardSigmoid", 2, 2},
    {"Elu", 1, -1},
    {"Selu", 3, -1},
    {"ThresholdedRelu", 1, -1},
    {"Softplus", 0, -1},
    {"Softsign", 0, -1},
    {"ParametricSoftplus", 2, -1},
    {"ScaledTanh", 2, -1},
};

const ActivationSpec* FindActivation(const std::string& kind) {
  for (const ActivationSpec& s : kActivations) {
    if (kind == s.kind) return &s;
  }
  return nullptr;
}

template <typename T>
void Activate(const FusedActivation& a, T* p, int64_t n) {
  const double alpha = a.alpha, beta = a.beta, gamma = a.gamma;
  auto each = [&](auto fn) {
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(fn(static_cast<double>(p[i])));
  };
  const std::string& k = a.kind;
  if (k == "Relu")
    each([](double x) { return x > 0 ? x : 0.0; });
  else if (k == "Tanh")
    each([](double x) { return std::tanh(x); });
  else if (k == "Sigmoid")
    each([](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  else if (k == "Silu")
    each([](double x) { return x / (1.0 + std::exp(-x)); });
  else if (k == "LeakyRelu")
    each([&](double x) { return x >= 0 ? x : alpha * x; });
  else if (k == "Clip")
    each([&](double x) { return std::min(std::max(x, alpha), beta); });
  else if (k == "HardSigmoid") {
    each([&](double x) { return std::max(0.0, std::min(1.0, alpha * x + beta)); });
  } else if (k == "Elu")
    each([&](double x) { return x >= 0 ? x : alpha * (std::exp(x) - 1); });
  else if (k == "Selu") {
    each([&](double x) { return x > 0 ? gamma * x : gamma * (alpha * std::exp(x) - alpha); });
  } else if (k == "ThresholdedRelu")
    each([&](double x) { return x > alpha ? x : 0.0; });
  else if (k == "Softplus")
    each([](double x) { return std::log1p(std::exp(x)); });
  else if (k == "Softsign")
    each([](double x) { return x / (1 + std::abs(x)); });
  else if (k == "ParametricSoftplus") {
    each([&](double x) { return alpha * std::log1p(std::exp(beta * x)); });
  } else if (k == "ScaledTanh")
    each([&](double x) { return alpha * std::tanh(beta * x); });
}

}  // namespace

Result<FusedActivation> ReadConvActivation(const KernelContext& ctx) {
  FusedActivation a;
  a.kind = ctx.node().GetString("activation", "");
  if (a.kind.empty()) return a;
  const ActivationSpec* spec = FindActivation(a.kind);
  if (!spec || spec->conv_params < 0) return ctx.Unsupported("activation '" + a.kind + "'");
  const std::vector<float> params = ctx.node().GetFloats("activation_params");
  if (spec->conv_params > 0 && static_cast<int>(params.size()) != spec->conv_params) {
    return ctx.Fail("activation " + a.kind + " needs " + std::to_string(spec->conv_params) +
                    " activation_params, got " + std::to_string(params.size()));
  }
  if (params.size() > 0) a.alpha = params[0];
  if (params.size() > 1) a.beta = params[1];
  return a;
}

Result<FusedActivation> ReadGemmActivation(const KernelContext& ctx) {
  FusedActivation a;
  a.kind = ctx.node().GetString("activation", "");
  if (a.kind.empty()) return a;
  const ActivationSpec* spec = FindActivation(a.kind);
  if (!spec || spec->gemm_params < 0) return ctx.Unsupported("activation '" + a.kind + "'");
  const char* names[] = {"activation_alpha", "activation_beta", "activation_gamma"};
  // Selu reads alpha and gamma (not beta); the others read a prefix of (alpha, beta).
  for (int i = 0; i < 3; ++i) {
    const bool needed = a.kind == "Selu" ? i != 1 : i < spec->gemm_params;
    if (needed && !ctx.node().HasAttr(names[i])) {
      return ctx.Fail("activation " + a.kind + " needs attribute " + names[i]);
    }
  }
  a.alpha = ctx.node().GetFloat("activation_alpha", 0.0f);
  a.beta = ctx.node().GetFloat("activation_beta", 0.0f);
  a.gamma = ctx.node().GetFloat("activation_gamma", 0.0f);
  return a;
}

Tensor AsComputeTensor(const Tensor& t) { return IsHalfLike(t.dtype()) ? ToFloatTensor(t) : t; }

Status ApplyFusedActivation(const KernelContext& ctx, const FusedActivation& act, Tensor* t) {
  if (act.kind.empty()) return Status::Ok();
  const DataType type = t->dtype();
  if (!IsFloatingPoint(type))
    return ctx.Unsupported("activation on " + std::string(DataTypeName(type)));
  Tensor work = AsComputeTensor(*t);
  if (work.dtype() == DataType::kDouble) {
    Activate(act, work.mutable_data<double>(), work.size());
  } else {
    Activate(act, work.mutable_data<float>(), work.size());
  }
  *t = IsHalfLike(type) ? FromFloatTensor(work, type) : std::move(work);
  return Status::Ok();
}

Status AddInPlace(const KernelContext& ctx, const Tensor& b, Tensor* a) {
  if (a->shape() != b.shape() || a->dtype() != b.dtype()) {
    return ctx.Fail("tensors " + ShapeToString(a->shape()) + " and " + ShapeToString(b.shape()) +
                    " must share shape and type to be summed");
  }
  const DataType type = a->dtype();
  if (!IsFloatingPoint(type)) return ctx.Unsupported("sum of " + std::string(DataTypeName(type)));
  Tensor x = AsComputeTensor(*a);
  const Tensor y = AsComputeTensor(b);
  const int64_t n = x.size();
  if (x.dtype() == DataType::kDouble) {
    double* p = x.mutable_data<double>();
    const double* q = y.data<double>();
    for (int64_t i = 0; i < n; ++i) p[i] += q[i];
  } else {
    float* p = x.mutable_data<float>();
    const float* q = y.data<float>();
    for (int64_t i = 0; i < n; ++i) p[i] += q[i];
  }
  *a = IsHalfLike(type) ? FromFloatTensor(x, type) : std::move(x);
  return Status::Ok();
}

}  // namespace graphopt::reference
