#include "optimizer/passes/extended/fuse_conv_activation.h"

#include <limits>
#include <set>

#include "optimizer/ir/nchwc_layout.h"
#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/symbolic_match.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

constexpr const char* kMs = "com.microsoft";

// A Conv (or a FusedConv that has no activation yet) whose output only `reader` reads.
// FusedConv runs float32 only.
ir::Node* FusableConv(const ir::Value* v) {
  if (!v || !v->producer() || !HasSingleUse(v) || v->producer_index() != 0) return nullptr;
  ir::Node* conv = v->producer();
  const bool plain = conv->Is("Conv");
  const bool fused =
      conv->domain() == kMs && conv->op_type() == "FusedConv" && !conv->HasAttr("activation");
  if (!plain && !fused) return nullptr;
  if (v->elem_type() != DataType::kFloat) return nullptr;
  return conv;
}

// Copies `conv` into a new FusedConv whose output replaces `root`'s; `z` is the optional summand.
ir::Node* MakeFusedConv(Rewriter& rw, ir::Node* conv, ir::Node* root, ir::Value* z) {
  std::vector<ir::Value*> inputs(conv->inputs().begin(), conv->inputs().end());
  if (z) {
    inputs.resize(3, nullptr);
    inputs.push_back(z);
  }
  return pattern::ReplaceWithFused(rw, root, "FusedConv", kMs, inputs, conv);
}

void SetActivation(ir::Node* fused, const std::string& op, const std::vector<float>& params) {
  fused->SetString("activation", op);
  if (!params.empty()) fused->SetFloats("activation_params", params);
}

// activation(Conv(x)) -> FusedConv(x; activation), also onto a FusedConv made from Conv + Add.
RewriteResult ConvActivation(PassContext& ctx, Rewriter& rw, ir::Node* act) {
  ir::Node* conv = FusableConv(act->input(0));
  if (!conv) return false;
  auto params = FusedActivationParams(act, ctx.opset());
  if (!params) return false;
  *rw.consumed() = pattern::NodeNames({act, conv});
  const std::string act_op = act->op_type();  // `act` is erased by the replacement
  if (conv->domain() == kMs) {
    // Already fused with an Add: the activation joins it in place.
    if (!rw.ReplaceNode(act, {conv->output(0)})) return false;
    SetActivation(conv, act_op, *params);
    return true;
  }
  // Conv's attributes are copied before the rewrite deletes it.
  ir::Node* fused = MakeFusedConv(rw, conv, act, nullptr);
  if (!fused) return false;
  SetActivation(fused, act_op, *params);
  return true;
}

// True when the runtime's NCHWc rewrite would take Conv + Add as one blocked Conv with a Sum,
// which it does not do for a FusedConv with Z: the Conv meets its channel conditions and `z`
// comes from an operator that rewrite blocks (a graph input or constant stays NCHW there).
bool RuntimeBlocksConvAdd(PassContext& ctx, const ir::Node* conv, const ir::Value* z) {
  static const std::set<std::string> kBlocked = {
      "Conv", "FusedConv", "MaxPool", "AveragePool", "Add", "Sum", "Relu", "Sigmoid", "Tanh",
      "Concat", "BatchNormalization", "Resize", "Upsample"};
  const Tensor* w = ConstantValue(conv->input(1));
  if (!w || w->rank() != 4 || !z->producer() || !kBlocked.count(z->producer()->op_type())) {
    return false;
  }
  return ir::NchwcConvFormFor(w->shape()[1], w->shape()[0], conv->GetInt("group", 1),
                              ctx.target.nchwc_block_size)
      .has_value();
}

// Conv(x) + z -> FusedConv(x, z): ONNX Runtime adds Z into the convolution's output before the
// activation, so Z must have the output's exact shape (no broadcasting).
RewriteResult ConvAdd(PassContext& ctx, Rewriter& rw, ir::Node* add) {
  for (size_t k : {size_t{0}, size_t{1}}) {
    ir::Node* conv = FusableConv(add->input(k));
    if (!conv || conv->domain() == kMs) continue;
    ir::Value* z = add->input(1 - k);
    if (!ctx.target.AllowsForm(kMs, "FusedConv", "Z") && RuntimeBlocksConvAdd(ctx, conv, z)) {
      continue;
    }
    auto conv_shape = SymbolicShapeOf(conv->output(0));
    auto z_shape = SymbolicShapeOf(z);
    auto add_shape = SymbolicShapeOf(add->output(0));
    if (!conv_shape || !z_shape || *conv_shape != *z_shape || add_shape != conv_shape) continue;
    if (z->elem_type() != DataType::kFloat) continue;
    *rw.consumed() = pattern::NodeNames({add, conv});
    if (MakeFusedConv(rw, conv, add, z)) return true;
  }
  return false;
}

std::vector<Rule> Rules() {
  std::vector<Rule> rules;
  for (const char* act : {"Relu", "Clip", "Sigmoid", "HardSigmoid", "LeakyRelu", "Tanh"}) {
    rules.push_back({"conv_activation", act, "", ConvActivation, {"com.microsoft.FusedConv"},
                     /*emits_activation=*/true});
  }
  rules.push_back({"conv_add", "Add", "", ConvAdd, {"com.microsoft.FusedConv"}});
  return rules;
}

}  // namespace

FuseConvActivation::FuseConvActivation() : RulePass(Rules()) {}

GRAPHOPT_REGISTER_PASS(FuseConvActivation, "fuse_conv_activation", kExtended, 240,
                       "Conv + Relu/Clip/Sigmoid/HardSigmoid/LeakyRelu/Tanh and Conv + Add "
                       "(+ activation) into com.microsoft.FusedConv",
                       "com.microsoft.FusedConv");

}  // namespace graphopt
