#include "optimizer/passes/extended/fuse_gemm_activation.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// FusedGemm's activation_alpha / _beta / _gamma for `act` (ONNX defaults when unset).
struct GemmActivation {
  std::optional<float> alpha, beta, gamma;
};

std::optional<GemmActivation> ReadActivation(const ir::Node* act) {
  const std::string& op = act->op_type();
  if (op == "Relu" || op == "Tanh" || op == "Sigmoid" || op == "Softplus" || op == "Softsign") {
    return GemmActivation{};
  }
  if (op == "LeakyRelu") return GemmActivation{act->GetFloat("alpha", 0.01f), {}, {}};
  if (op == "Elu") return GemmActivation{act->GetFloat("alpha", 1.0f), {}, {}};
  if (op == "ThresholdedRelu") return GemmActivation{act->GetFloat("alpha", 1.0f), {}, {}};
  if (op == "HardSigmoid") {
    return GemmActivation{act->GetFloat("alpha", 0.2f), act->GetFloat("beta", 0.5f), {}};
  }
  if (op == "Selu") {
    return GemmActivation{act->GetFloat("alpha", 1.67326319217681884765625f),
                          {},
                          act->GetFloat("gamma", 1.05070102214813232421875f)};
  }
  return std::nullopt;
}

RewriteResult GemmActivationRule(PassContext& ctx, Rewriter& rw, ir::Node* act) {
  ir::Value* v = act->input(0);
  if (!v || !v->producer() || !v->producer()->Is("Gemm") || !HasSingleUse(v)) return false;
  if (v->elem_type() != DataType::kFloat) return false;  // ONNX Runtime's kernel is float only
  auto params = ReadActivation(act);
  if (!params) return false;
  ir::Node* gemm = v->producer();
  const std::string act_op = act->op_type();  // `act` is deleted by the rewrite
  const float alpha = gemm->GetFloat("alpha", 1.0f), beta = gemm->GetFloat("beta", 1.0f);
  const int64_t trans_a = gemm->GetInt("transA", 0), trans_b = gemm->GetInt("transB", 0);
  std::vector<ir::Value*> inputs(gemm->inputs().begin(), gemm->inputs().end());
  *rw.consumed() = pattern::NodeNames({act, gemm});
  ir::Node* fused = pattern::ReplaceWithFused(rw, act, "FusedGemm", kMs, inputs);
  if (!fused) return false;
  fused->SetFloat("alpha", alpha);
  fused->SetFloat("beta", beta);
  fused->SetInt("transA", trans_a);
  fused->SetInt("transB", trans_b);
  fused->SetString("activation", act_op);
  if (params->alpha) fused->SetFloat("activation_alpha", *params->alpha);
  if (params->beta) fused->SetFloat("activation_beta", *params->beta);
  if (params->gamma) fused->SetFloat("activation_gamma", *params->gamma);
  return true;
}

std::vector<Rule> Rules() {
  std::vector<Rule> rules;
  for (const char* act : {"Relu", "Tanh", "Sigmoid", "LeakyRelu", "HardSigmoid", "Elu", "Selu",
                          "Softplus", "Softsign", "ThresholdedRelu"}) {
    rules.push_back({"gemm_activation", act, "", GemmActivationRule, {"com.microsoft.FusedGemm"},
                     /*emits_activation=*/true});
  }
  return rules;
}

}  // namespace

FuseGemmActivation::FuseGemmActivation() : RulePass(Rules()) {}

GRAPHOPT_REGISTER_PASS(FuseGemmActivation, "fuse_gemm_activation", kExtended, 245,
                       "Gemm + activation into com.microsoft.FusedGemm", "com.microsoft.FusedGemm");

}  // namespace graphopt
