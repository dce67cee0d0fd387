#include "optimizer/passes/layout/convert_to_nchwc.h"

#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "optimizer/ir/nchwc_layout.h"
#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/pattern.h"
#include "optimizer/pass/rewrite_util.h"
#include "optimizer/target.h"

namespace graphopt {

namespace {

using ir::FilterLayout;
using ir::kNchwcDomain;

// Activations ONNX Runtime's blocked convolution applies itself (its fused-activation set).
// ONNX Runtime 1.30's also includes HardSwish.
const std::set<std::string> kConvActivations = {"Relu", "Tanh",        "Sigmoid",  "LeakyRelu",
                                                "Clip", "HardSigmoid", "HardSwish"};

// Unary elementwise operators, which compute the same on a blocked tensor (padded channels
// get f(0), which nothing reads) as on the plain one: (domain, op).
const std::set<std::pair<std::string, std::string>> kLayoutFreeUnary = {
    {"", "Relu"},         {"", "Sigmoid"},  {"", "Tanh"},          {"", "LeakyRelu"},
    {"", "Clip"},         {"", "HardSigmoid"}, {"", "HardSwish"},  {"", "Elu"},
    {"", "Softplus"},     {"", "Abs"},      {"", "Neg"},           {"com.microsoft", "QuickGelu"},
    {"com.microsoft", "Gelu"}};

bool IsLayoutFreeUnary(const ir::Node* n) {
  return kLayoutFreeUnary.count({n->is_onnx_domain() ? "" : n->domain(), n->op_type()}) > 0;
}

// A blocked tensor standing for the plain value a ReorderOutput produces from it.
struct Blocked {
  ir::Value* blocked;
  int64_t channels;  // logical channel count (the blocked one is rounded up)
  ir::Node* reorder;
};

bool IsNchwc(const ir::Node* n, const char* op) {
  return n && n->domain() == kNchwcDomain && n->op_type() == op;
}

// The channel count of a float rank-4 value, or -1.
int64_t Channels4D(const ir::Value* v) {
  if (!v || v->elem_type() != DataType::kFloat) return -1;
  const auto& shape = v->type().shape;
  if (!shape || shape->size() != 4 || !(*shape)[1].known()) return -1;
  return (*shape)[1].value;
}

// True when `a` and `b` are declared with one shape: same rank, each dim the same number or the
// same symbol. A symbol names one size wherever it appears, so models without --dim (batch
// symbolic) fuse like models with it; an unknown, unnamed dim never matches.
bool SameShape(const ir::Value* a, const ir::Value* b) {
  if (!a || !b) return false;
  const auto& sa = a->type().shape;
  const auto& sb = b->type().shape;
  if (!sa || !sb || sa->size() != sb->size()) return false;
  for (size_t i = 0; i < sa->size(); ++i) {
    const ir::Dim& d = (*sa)[i];
    if (!(d == (*sb)[i]) || (!d.known() && d.param.empty())) return false;
  }
  return true;
}

class NchwcConverter {
 public:
  NchwcConverter(PassContext& ctx, int64_t block)
      : ctx_(ctx), g_(*ctx.model.graph), block_(block) {}

  Result<int64_t> Run() {
    SeedFromExistingReorders();
    for (ir::Node* n : g_.nodes()) {
      if (!ctx_.MayRewrite()) break;  // --bisect-limit reached
      Convert(n);
    }
    RemoveUnusedReorders();
    if (applied_ > 0) {
      ctx_.model.SetOpsetVersion(kNchwcDomain, 1);
      ctx_.model.SetMetadata(ir::kNchwcBlockSizeKey, std::to_string(block_));
      RETURN_IF_ERROR(g_.SortTopologically());
    }
    return applied_;
  }

 private:
  void Convert(ir::Node* n) {
    if (n->Is("Conv") || (n->domain() == "com.microsoft" && n->op_type() == "FusedConv")) {
      Record("conv", n, ConvertConv(n));
    } else if (n->Is("MaxPool") || n->Is("AveragePool")) {
      Record("pool", n, ConvertPool(n, /*global=*/false));
    } else if (n->Is("GlobalMaxPool") || n->Is("GlobalAveragePool")) {
      Record("pool", n, ConvertPool(n, /*global=*/true));
    } else if (n->Is("Add") || n->Is("Sum") || n->Is("Mul")) {
      if (ConvertAffine(n)) return Record("affine", n, true);
      if (!n->Is("Mul") && FuseSum(n)) return Record("conv_sum", n, true);
      if (ConvertElementwise(n)) return Record("elementwise", n, true);
      if (!n->Is("Mul")) Record("add_split_blocks", n, AddOnSplitBlocks(n));
    } else if (IsLayoutFreeUnary(n)) {
      if (n->is_onnx_domain() && kConvActivations.count(n->op_type()) && FuseActivation(n)) {
        return Record("conv_activation", n, true);
      }
      Record("elementwise", n, ConvertElementwise(n));
    } else if (n->Is("BatchNormalization")) {
      Record("affine", n, ConvertAffine(n));
    } else if (n->Is("Concat")) {
      Record("concat", n, ConvertConcat(n));
    } else if (n->Is("Resize") || n->Is("Upsample")) {
      Record("upsample", n, ConvertUpsample(n));
    } else if (n->Is("Transpose")) {
      Record("transpose_to_nhwc", n, ConvertTransposeToNhwc(n));
    }
  }

  // Counts a rewrite; the rewritten node is gone by now, so no name is recorded.
  void Record(const char* rule, const ir::Node*, bool done) {
    if (!done) return;
    ++applied_;
    ctx_.Applied(rule);
  }

  // A second run (the manager iterates to a fixed point) sees the first one's reorders.
  void SeedFromExistingReorders() {
    for (ir::Node* n : g_.nodes()) {
      if (!IsNchwc(n, "ReorderOutput") || n->GetInt("channels_last", 0) != 0) continue;
      blocked_[n->output(0)] = {n->input(0), n->GetInt("channels", 0), n};
    }
  }

  const Blocked* Find(const ir::Value* plain) const {
    auto it = blocked_.find(const_cast<ir::Value*>(plain));
    return it == blocked_.end() ? nullptr : &it->second;
  }

  // Whether `x` may have `channels` channels: its blocked form's count, else its declared one.
  // A channel dim shape inference left unknown (behind a Resize whose scales were folded later)
  // is taken from the filter, as ONNX Runtime does: a Conv reads exactly that many.
  bool MayHaveChannels(const ir::Value* x, int64_t channels) const {
    if (const Blocked* b = Find(x)) return b->channels == channels;
    if (!x || x->elem_type() != DataType::kFloat) return false;
    const auto& shape = x->type().shape;
    if (!shape || shape->size() != 4) return false;
    return (*shape)[1].known() ? (*shape)[1].value == channels : true;
  }

  ir::ValueType BlockedType(const ir::ValueType& plain, int64_t channels) const {
    ir::ValueType t;
    t.elem_type = DataType::kFloat;
    if (plain.shape && plain.shape->size() == 4) {
      t.shape = plain.shape;
      (*t.shape)[1] = ir::Dim{ir::AlignChannels(channels, block_), ""};
    }
    return t;
  }

  // The blocked form of `plain`: the one a ReorderOutput came from, or a (shared)
  // ReorderInput. nullptr when ONNX Runtime's ReorderInput cannot take it (channels % 4).
  ir::Value* BlockedInput(ir::Value* plain, int64_t channels) {
    if (const Blocked* b = Find(plain)) return b->channels == channels ? b->blocked : nullptr;
    if (channels <= 0 || channels % 4 != 0) return nullptr;
    auto it = reordered_inputs_.find(plain);
    if (it != reordered_inputs_.end()) return it->second;
    // An NHWC -> NCHW Transpose is read by ReorderInput itself (channels_last): one pass over
    // the tensor instead of two.
    ir::Value* source = plain;
    ir::Node* t = plain->producer();
    const bool nhwc = t && t->Is("Transpose") &&
                      t->GetInts("perm") == std::vector<int64_t>{0, 3, 1, 2} &&
                      t->input(0)->elem_type() == DataType::kFloat && !plain->is_graph_output();
    if (nhwc) source = t->input(0);
    ir::Node* r = g_.AddNode("ReorderInput", {source}, 1, plain->name() + "_reorder", kNchwcDomain);
    if (nhwc) {
      r->SetInt("channels_last", 1);
      bypassed_.insert(t);
    }
    r->output(0)->type() = BlockedType(plain->type(), channels);
    reordered_inputs_[plain] = r->output(0);
    return r->output(0);
  }

  // `nchwc` (output 0 blocked, `channels` logical channels) takes over from `old`: a
  // ReorderOutput gives old's readers their plain value until they are converted too.
  bool Replace(ir::Node* old, ir::Node* nchwc, int64_t channels) {
    ir::Value* out = old->output(0);
    nchwc->output(0)->type() = BlockedType(out->type(), channels);
    ir::Node* ro =
        g_.AddNode("ReorderOutput", {nchwc->output(0)}, 1, out->name() + "_plain", kNchwcDomain);
    ro->SetInt("channels", channels);
    ro->output(0)->type() = out->type();
    if (!ReplaceValue(g_, out, ro->output(0))) {
      g_.RemoveNode(ro);
      g_.RemoveNode(nchwc);
      return false;
    }
    g_.RemoveNode(old);
    blocked_[ro->output(0)] = {nchwc->output(0), channels, ro};
    return true;
  }

  // A node like `n` in `domain` reading `inputs`, with n's attributes.
  ir::Node* CopyNode(const ir::Node* n, const std::string& op, const std::string& domain,
                     const std::vector<ir::Value*>& inputs) {
    ir::Node* copy = g_.AddNode(op, inputs, 1, n->name().empty() ? op : n->name(), domain);
    ir::CopyPlainAttributes(*n, copy);
    return copy;
  }

  ir::Value* ReorderedFilter(ir::Value* w, const ir::NchwcConvForm& form) {
    auto key = std::make_pair(w, static_cast<int>(form.layout));
    auto it = filters_.find(key);
    if (it != filters_.end()) return it->second;
    const Tensor padded = ir::PadFilterInputs(*ConstantValue(w), form.filter_inputs);
    ir::Value* v =
        g_.NewInitializer(w->name() + "_nchwc", ir::ReorderFilter(padded, form.layout, block_));
    filters_[key] = v;
    return v;
  }

  ir::Value* AlignedBias(ir::Value* b, int64_t out_channels) {
    const int64_t aligned = ir::AlignChannels(out_channels, block_);
    if (!b || aligned == out_channels) return b;
    auto it = biases_.find(b);
    if (it != biases_.end()) return it->second;
    Tensor t(DataType::kFloat, {aligned});
    const float* src = ConstantValue(b)->data<float>();
    std::copy(src, src + out_channels, t.mutable_data<float>());
    ir::Value* v = g_.NewInitializer(b->name() + "_nchwc", std::move(t));
    biases_[b] = v;
    return v;
  }

  // Conv/FusedConv with constant float OIHW weights, the channel conditions of ONNX Runtime's
  // blocked convolution, an optional constant bias and a FusedConv Z of the output's shape.
  bool ConvertConv(ir::Node* n) {
    ir::Value* x = n->input(0);
    ir::Value* w = n->input(1);
    ir::Value* b = n->input(2);
    ir::Value* z = n->input(3);
    const Tensor* wt = w ? ConstantValue(w) : nullptr;
    if (!wt || wt->dtype() != DataType::kFloat || wt->rank() != 4) return false;
    if (n->HasAttr("activation") && !kConvActivations.count(n->GetString("activation", ""))) {
      return false;
    }
    const int64_t outs = wt->shape()[0], ins = wt->shape()[1];
    const int64_t group = n->GetInt("group", 1);
    if (!MayHaveChannels(x, ins * group) || n->output(0)->elem_type() != DataType::kFloat) {
      return false;
    }
    if (b) {
      const Tensor* bt = ConstantValue(b);
      if (!bt || bt->dtype() != DataType::kFloat || bt->shape() != Shape{outs}) return false;
    }
    const auto form = ir::NchwcConvFormFor(ins, outs, group, block_);
    if (!form) return false;
    ir::Value* sum = nullptr;
    if (z) {
      if (!SameShape(z, n->output(0)) || z->elem_type() != DataType::kFloat) return false;
      if (!(sum = BlockedInput(z, outs))) return false;
    }
    ir::Value* xin = form->blocked_input ? BlockedInput(x, ins * group) : x;
    if (!xin) return false;
    std::vector<ir::Value*> inputs = {xin, ReorderedFilter(w, *form), AlignedBias(b, outs)};
    if (sum) inputs.push_back(sum);
    ir::Node* conv = CopyNode(n, "Conv", kNchwcDomain, inputs);
    if (form->group != group) conv->SetInt("group", form->group);
    return Replace(n, conv, outs);
  }

  bool ConvertPool(ir::Node* n, bool global) {
    ir::Value* x = n->input(0);
    const Blocked* bx = Find(x);
    const int64_t channels = bx ? bx->channels : Channels4D(x);
    if (channels <= 0 || channels % block_ != 0 || n->outputs().size() > 1) return false;
    if (global && !Find(x)) return false;  // as ONNX Runtime: only inside a blocked region
    if (!global && !n->HasAttr("kernel_shape")) return false;
    for (int64_t d : n->GetInts("dilations")) {
      if (n->Is("AveragePool") && d != 1) return false;
    }
    ir::Value* xin = BlockedInput(x, channels);
    if (!xin) return false;
    return Replace(n, CopyNode(n, n->op_type(), kNchwcDomain, {xin}), channels);
  }

  // The nchwc Conv behind `plain` when only this reader needs its result: it may then take an
  // activation or a Sum (its blocked output is read by the ReorderOutput alone, whose plain
  // output has one reader and is no graph output).
  ir::Node* SoleConv(const ir::Value* plain) {
    const Blocked* b = Find(plain);
    if (!b || !IsNchwc(b->blocked->producer(), "Conv")) return nullptr;
    if (b->blocked->uses().size() != 1 || !HasSingleUse(plain)) return nullptr;
    return b->blocked->producer();
  }

  bool FuseActivation(ir::Node* act) {
    ir::Node* conv = SoleConv(act->input(0));
    if (!conv || conv->HasAttr("activation")) return false;
    auto params = FusedActivationParams(act, ctx_.opset());
    if (!params) return false;
    if (!ReplaceValue(g_, act->output(0), act->input(0))) return false;
    conv->SetString("activation", act->op_type());
    if (!params->empty()) conv->SetFloats("activation_params", *params);
    g_.RemoveNode(act);
    return true;
  }

  // Add(conv, other) with both blocked and of one shape: the convolution accumulates `other`
  // (its Sum input) before any activation, so it must have none yet.
  bool FuseSum(ir::Node* add) {
    if (add->inputs().size() != 2) return false;
    const Blocked* a = Find(add->input(0));
    const Blocked* b = Find(add->input(1));
    if (!a || !b || a->channels != b->channels) return false;
    if (!SameShape(add->input(0), add->input(1)) || !SameShape(add->input(0), add->output(0))) {
      return false;
    }
    for (size_t k : {size_t{0}, size_t{1}}) {
      ir::Node* conv = SoleConv(add->input(k));
      if (!conv || conv->HasAttr("activation") || conv->inputs().size() > 3) continue;
      ir::Value* other = Find(add->input(1 - k))->blocked;
      if (other == conv->output(0)) continue;
      ir::Value* plain = add->input(k);
      if (!ReplaceValue(g_, add->output(0), plain)) return false;
      while (conv->inputs().size() < 3) conv->AddInput(nullptr);
      conv->AddInput(other);
      g_.RemoveNode(add);
      return true;
    }
    return false;
  }

  // Elementwise ops on blocked inputs of one shape (no broadcasting), and unary activations.
  bool ConvertElementwise(ir::Node* n) {
    const Blocked* first = Find(n->input(0));
    if (!first || n->outputs().size() != 1) return false;
    std::vector<ir::Value*> inputs;
    const bool unary = IsLayoutFreeUnary(n);
    for (size_t i = 0; i < n->inputs().size(); ++i) {
      ir::Value* v = n->input(i);
      if (unary && i > 0) {  // Clip's bounds
        if (v && !IsConstant(v)) return false;
        inputs.push_back(v);
        continue;
      }
      const Blocked* b = v ? Find(v) : nullptr;
      if (!b || b->channels != first->channels) return false;
      if (!unary && !SameShape(v, n->input(0))) return false;
      inputs.push_back(b->blocked);
    }
    if (!unary && !SameShape(n->output(0), n->input(0))) return false;
    return Replace(n, CopyNode(n, n->op_type(), n->domain(), inputs), first->channels);
  }

  bool ConvertConcat(ir::Node* n) {
    const int64_t axis = n->GetInt("axis", 0);
    if (axis != 1 && axis != -3) return false;
    std::vector<ir::Value*> inputs;
    int64_t channels = 0;
    for (ir::Value* v : n->inputs()) {
      const Blocked* b = v ? Find(v) : nullptr;
      if (!b || b->channels % block_ != 0) return false;
      inputs.push_back(b->blocked);
      channels += b->channels;
    }
    return Replace(n, CopyNode(n, "Concat", "", inputs), channels);
  }

  // BatchNormalization, or Mul/Add of a blocked value by a per-channel constant: folded into
  // the convolution producing the value when it is its only reader, else a depthwise 1x1
  // convolution (what ONNX Runtime makes of BatchNormalization).
  bool ConvertAffine(ir::Node* n) {
    if (n->outputs().size() != 1) return false;
    ir::Value* x = n->input(0);
    std::optional<ChannelAffine> affine;
    const Blocked* b = Find(x);
    if (n->Is("BatchNormalization")) {
      affine = InferenceBatchNormAffine(n);
    } else if ((n->Is("Add") || n->Is("Mul")) && n->inputs().size() == 2) {
      for (size_t k : {size_t{0}, size_t{1}}) {
        const Blocked* bk = Find(n->input(k));
        if (!bk || !IsConstant(n->input(1 - k))) continue;
        auto values = PerChannelConstant(n->input(1 - k), 4, bk->channels);
        if (!values) continue;
        x = n->input(k);
        b = bk;
        affine = n->Is("Mul") ? ChannelAffine::Scale(*values) : ChannelAffine::Shift(*values);
        break;
      }
    }
    if (!b || !affine || !affine->finite()) return false;
    if (static_cast<int64_t>(affine->scale.size()) != b->channels) return false;
    // PerChannelConstant already keeps the shape; this guards a declared output that differs.
    if (!SameShape(n->output(0), x) && StaticShape(n->output(0)) != StaticShape(x)) return false;
    if (ir::Node* conv = SoleConv(x);
        conv && !conv->HasAttr("activation") && conv->inputs().size() <= 3) {
      return FoldIntoConv(n, x, conv, *affine);
    }
    const int64_t aligned = ir::AlignChannels(b->channels, block_);
    Tensor w(DataType::kFloat, {aligned, 1, 1, 1});
    Tensor bias(DataType::kFloat, {aligned});
    for (int64_t c = 0; c < b->channels; ++c) {
      w.mutable_data<float>()[c] = static_cast<float>(affine->scale[static_cast<size_t>(c)]);
      bias.mutable_data<float>()[c] = static_cast<float>(affine->shift[static_cast<size_t>(c)]);
    }
    const std::string hint = n->name().empty() ? "affine" : n->name();
    ir::Node* conv = g_.AddNode("Conv",
                                {b->blocked, g_.NewInitializer(hint + "_scale", w),
                                 g_.NewInitializer(hint + "_shift", bias)},
                                1, hint, kNchwcDomain);
    conv->SetInt("group", aligned);
    return Replace(n, conv, b->channels);
  }

  // y = conv(x) * scale + shift: scales the blocked filter's output channels (the innermost
  // lane of each block of I*kH*kW*B elements, in both filter layouts) and the bias.
  bool FoldIntoConv(ir::Node* n, ir::Value* plain, ir::Node* conv, const ChannelAffine& affine) {
    const Tensor* wt = ConstantValue(conv->input(1));
    if (!wt) return false;
    const int64_t aligned = wt->shape()[0];
    const int64_t per_block = wt->size() / aligned * block_;
    Tensor w(DataType::kFloat, wt->shape());
    const float* src = wt->data<float>();
    float* dst = w.mutable_data<float>();
    auto scale_of = [&](int64_t o) {
      return o < static_cast<int64_t>(affine.scale.size()) ? affine.scale[static_cast<size_t>(o)]
                                                           : 0.0;
    };
    for (int64_t i = 0; i < wt->size(); ++i) {
      const int64_t o = (i / per_block) * block_ + i % block_;
      dst[i] = static_cast<float>(src[i] * scale_of(o));
    }
    Tensor bias(DataType::kFloat, {aligned});
    const Tensor* bt = conv->input(2) ? ConstantValue(conv->input(2)) : nullptr;
    if (conv->input(2) && !bt) return false;
    for (int64_t o = 0; o < aligned; ++o) {
      const double old = bt ? bt->data<float>()[o] : 0.0;
      const double shift = o < static_cast<int64_t>(affine.shift.size())
                               ? affine.shift[static_cast<size_t>(o)]
                               : 0.0;
      bias.mutable_data<float>()[o] = static_cast<float>(old * scale_of(o) + shift);
    }
    if (!ReplaceValue(g_, n->output(0), plain)) return false;
    conv->SetInput(1, g_.NewInitializer(conv->input(1)->name() + "_scaled", std::move(w)));
    while (conv->inputs().size() < 3) conv->AddInput(nullptr);
    conv->SetInput(2, g_.NewInitializer(conv->name() + "_bias", std::move(bias)));
    g_.RemoveNode(n);
    return true;
  }

  // Nearest Upsample/Resize by integer spatial scales, as ONNX Runtime's blocked Upsample
  // computes it (asymmetric coordinates, floor).
  bool ConvertUpsample(ir::Node* n) {
    const Blocked* b = Find(n->input(0));
    if (!b || n->GetString("mode", "nearest") != "nearest") return false;
    ir::Value* scales = n->input(1);
    if (n->Is("Resize") && ctx_.opset() >= 11) {
      if (n->input(3) || n->GetString("coordinate_transformation_mode", "") != "asymmetric" ||
          n->GetString("nearest_mode", "") != "floor") {
        return false;
      }
      scales = n->input(2);
    }
    const Tensor* st = scales ? ConstantValue(scales) : nullptr;
    if (!st || st->dtype() != DataType::kFloat || st->shape() != Shape{4}) return false;
    std::vector<int64_t> ints;
    for (int64_t i = 0; i < 4; ++i) {
      const float s = st->data<float>()[i];
      const auto v = static_cast<int64_t>(s);
      if (v <= 0 || static_cast<float>(v) != s) return false;
      ints.push_back(v);
    }
    if (ints[0] != 1 || ints[1] != 1) return false;
    ir::Node* up = g_.AddNode("Upsample", {b->blocked}, 1,
                              n->name().empty() ? "upsample" : n->name(), kNchwcDomain);
    up->SetInts("scales", ints);
    return Replace(n, up, b->channels);
  }

  // Transpose(0,2,3,1) of a blocked value: ReorderOutput writes NHWC itself (channels_last),
  // as ONNX Runtime does, instead of a plain NCHW tensor and a Transpose pass over it.
  bool ConvertTransposeToNhwc(ir::Node* n) {
    const Blocked* b = Find(n->input(0));
    if (!b || n->GetInts("perm") != std::vector<int64_t>{0, 2, 3, 1}) return false;
    ir::Node* ro = g_.AddNode("ReorderOutput", {b->blocked}, 1,
                              n->name().empty() ? "nhwc" : n->name(), kNchwcDomain);
    ro->SetInt("channels", b->channels);
    ro->SetInt("channels_last", 1);
    ro->output(0)->type() = n->output(0)->type();
    if (!ReplaceValue(g_, n->output(0), ro->output(0))) {
      g_.RemoveNode(ro);
      return false;
    }
    g_.RemoveNode(n);
    return true;
  }

  // Add/Sum of blocked values whose declared shapes cannot be shown equal (spatial dims behind
  // a Resize, say), with one channel count: computed on the [N, C'/B, H, W, B] view of each,
  // where broadcasting over N, H and W means what it means on the plain tensors, so the values
  // stay blocked (ONNX Runtime does the same) rather than going through reorders.
  bool AddOnSplitBlocks(ir::Node* n) {
    const Blocked* first = Find(n->input(0));
    if (!first || n->outputs().size() != 1 || n->inputs().size() < 2) return false;
    const int64_t aligned = ir::AlignChannels(first->channels, block_);
    std::vector<ir::Value*> split;
    for (ir::Value* v : n->inputs()) {
      const Blocked* b = v ? Find(v) : nullptr;
      if (!b || b->channels != first->channels) return false;
      if (!v->type().shape || v->type().shape->size() != 4) return false;
    }
    const auto& out_shape = n->output(0)->type().shape;
    if (out_shape && out_shape->size() != 4) return false;
    for (ir::Value* v : n->inputs()) {
      ir::Node* r = g_.AddNode("Reshape", {Find(v)->blocked, ShapeConstant(aligned, true)}, 1,
                               v->name() + "_blocks");
      ir::ValueType t = BlockedType(v->type(), first->channels);
      (*t.shape)[1] = ir::Dim{aligned / block_, ""};
      t.shape->push_back(ir::Dim{block_, ""});
      r->output(0)->type() = t;
      split.push_back(r->output(0));
    }
    ir::Node* add = CopyNode(n, n->op_type(), n->domain(), split);
    ir::Node* merged = g_.AddNode("Reshape", {add->output(0), ShapeConstant(aligned, false)}, 1,
                                  add->name() + "_merged");
    merged->output(0)->type() = BlockedType(n->output(0)->type(), first->channels);
    ir::Value* out = n->output(0);
    ir::Node* ro =
        g_.AddNode("ReorderOutput", {merged->output(0)}, 1, out->name() + "_plain", kNchwcDomain);
    ro->SetInt("channels", first->channels);
    ro->output(0)->type() = out->type();
    if (!ReplaceValue(g_, out, ro->output(0))) {
      for (ir::Node* x : {ro, merged, add}) g_.RemoveNode(x);
      for (ir::Value* v : split) g_.RemoveNode(v->producer());
      return false;
    }
    g_.RemoveNode(n);
    blocked_[ro->output(0)] = {merged->output(0), first->channels, ro};
    return true;
  }

  // The int64 shape [0, C'/B, 0, 0, B] (split) or [0, C', 0, 0] (merged), one per kind and C'.
  ir::Value* ShapeConstant(int64_t aligned, bool split) {
    ir::Value*& v = shapes_[{aligned, split}];
    if (v) return v;
    std::vector<int64_t> dims = split ? std::vector<int64_t>{0, aligned / block_, 0, 0, block_}
                                      : std::vector<int64_t>{0, aligned, 0, 0};
    Tensor t(DataType::kInt64, {static_cast<int64_t>(dims.size())});
    std::copy(dims.begin(), dims.end(), t.mutable_data<int64_t>());
    v = g_.NewInitializer(split ? "nchwc_split_blocks" : "nchwc_merge_blocks", std::move(t));
    return v;
  }

  void RemoveUnusedReorders() {
    for (ir::Node* n : g_.nodes()) {
      const bool reorder = IsNchwc(n, "ReorderOutput") || IsNchwc(n, "ReorderInput");
      if (!reorder && !bypassed_.count(n)) continue;
      if (!n->output(0)->uses().empty() || n->output(0)->is_graph_output()) continue;
      g_.RemoveNode(n);
    }
  }

  PassContext& ctx_;
  ir::Graph& g_;
  const int64_t block_;
  int64_t applied_ = 0;
  std::unordered_map<ir::Value*, Blocked> blocked_;  // plain value -> its blocked form
  std::unordered_map<ir::Value*, ir::Value*> reordered_inputs_;
  std::map<std::pair<ir::Value*, int>, ir::Value*> filters_;
  std::unordered_map<ir::Value*, ir::Value*> biases_;
  std::map<std::pair<int64_t, bool>, ir::Value*> shapes_;
  std::set<ir::Node*> bypassed_;  // NHWC -> NCHW Transposes a ReorderInput now reads around
};

}  // namespace

Result<int64_t> ConvertToNchwc::Run(PassContext& ctx) {
  const int64_t block = ctx.target.nchwc_block_size;
  if (block <= 0) return int64_t{0};
  return NchwcConverter(ctx, block).Run();
}

GRAPHOPT_REGISTER_PASS(ConvertToNchwc, "convert_to_nchwc", kLayout, 10,
                       "Conv, FusedConv, pools, nearest Upsample, Add/Mul, activations, channel "
                       "Concat and BatchNormalization to ONNX Runtime's NCHWc blocked layout "
                       "(com.microsoft.nchwc), weights reordered once, reorders only at the edges "
                       "(NHWC Transposes taken by them)",
                       "com.microsoft.nchwc.Conv");

}  // namespace graphopt
