#include "optimizer/passes/basic/fuse_pad_conv.h"

#include <cmath>
#include <limits>
#include <optional>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// A constant-mode Pad: all 2*rank pads ([x1_begin.., x1_end..]) and its pad value.
struct ConstantPad {
  std::vector<int64_t> pads;
  double value = 0;
};

std::optional<ConstantPad> ReadConstantPad(const PassContext& ctx, const ir::Node* pad,
                                           size_t rank) {
  if (pad->GetString("mode", "constant") != "constant") return std::nullopt;
  ConstantPad p;
  if (ctx.opset() < 11) {
    p.pads = pad->GetInts("pads");
    p.value = pad->GetFloat("value", 0.0f);
  } else {
    auto pads = ConstantInts(pad->input(1));
    if (!pads) return std::nullopt;
    if (const ir::Value* v = pad->input(2)) {
      const Tensor* t = ConstantValue(v);
      if (!t || t->size() != 1 || t->dtype() == DataType::kString) return std::nullopt;
      p.value = t->GetDouble(0);
    }
    if (const ir::Value* axes_value = pad->input(3)) {
      // Opset 18: pads cover only the listed axes.
      auto axes = ConstantInts(axes_value);
      if (!axes || pads->size() != 2 * axes->size()) return std::nullopt;
      p.pads.assign(2 * rank, 0);
      for (size_t i = 0; i < axes->size(); ++i) {
        int64_t a = (*axes)[i] < 0 ? (*axes)[i] + static_cast<int64_t>(rank) : (*axes)[i];
        if (a < 0 || a >= static_cast<int64_t>(rank)) return std::nullopt;
        p.pads[static_cast<size_t>(a)] = (*pads)[i];
        p.pads[rank + static_cast<size_t>(a)] = (*pads)[axes->size() + i];
      }
    } else {
      p.pads = *pads;
    }
  }
  if (p.pads.size() != 2 * rank) return std::nullopt;
  for (int64_t x : p.pads) {
    if (x < 0) return std::nullopt;  // cropping cannot become padding
  }
  // Batch and channel axes are not padded by the consumer.
  if (p.pads[0] != 0 || p.pads[1] != 0 || p.pads[rank] != 0 || p.pads[rank + 1] != 0) {
    return std::nullopt;
  }
  return p;
}

// What the pad value must be for the consumer's implicit padding to mean the same.
enum class PadValue { kZero, kNegativeInfinity };

// Shared shape of the three rules: `rank` is the consumer's input rank; `kernel` its window
// when padding must stay smaller than it (MaxPool), empty otherwise.
RewriteResult MergePad(PassContext& ctx, Rewriter& rw, ir::Node* consumer, size_t rank,
                       PadValue required, const std::vector<int64_t>& kernel) {
  ir::Value* padded = consumer->input(0);
  ir::Node* pad = padded ? padded->producer() : nullptr;
  if (!pad || !pad->Is("Pad")) return MatchFailure("input is not a Pad");
  if (rank < 3) return MatchFailure("rank below 3");
  const std::string auto_pad = consumer->GetString("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "VALID") return false;  // SAME_* derive pads from shapes
  auto p = ReadConstantPad(ctx, pad, rank);
  if (!p) return MatchFailure("pads or value not constant");
  const bool value_ok =
      required == PadValue::kZero ? p->value == 0 : std::isinf(p->value) && p->value < 0;
  if (!value_ok) return MatchFailure("pad value differs from the implicit padding");
  const size_t spatial = rank - 2;
  std::vector<int64_t> pads =
      auto_pad == "VALID" ? std::vector<int64_t>{} : consumer->GetInts("pads");
  if (pads.empty()) pads.assign(2 * spatial, 0);
  if (pads.size() != 2 * spatial) return false;
  for (size_t i = 0; i < spatial; ++i) {
    pads[i] += p->pads[2 + i];
    pads[spatial + i] += p->pads[rank + 2 + i];
  }
  if (!kernel.empty()) {
    if (kernel.size() != spatial) return false;
    for (size_t i = 0; i < spatial; ++i) {
      if (pads[i] >= kernel[i] || pads[spatial + i] >= kernel[i]) return false;
    }
  }
  consumer->SetInput(0, pad->input(0));
  consumer->RemoveAttr("auto_pad");
  consumer->SetInts("pads", pads);
  // Other readers of the Pad keep it; otherwise it goes.
  rw.EraseIfDead(pad);
  return true;
}

// Zero padding is exactly Conv's implicit padding.
RewriteResult PadConv(PassContext& ctx, Rewriter& rw, ir::Node* conv) {
  auto w = conv->input(1) ? conv->input(1)->type().shape : std::nullopt;
  if (!w) return false;
  return MergePad(ctx, rw, conv, w->size(), PadValue::kZero, {});
}

// With count_include_pad=1 padded cells count in the divisor like explicit zeros do. With
// ceil_mode a last window may run past the padding, whose cells the two forms count
// differently, so it refuses.
RewriteResult PadAveragePool(PassContext& ctx, Rewriter& rw, ir::Node* pool) {
  if (pool->GetInt("count_include_pad", 0) != 1 || pool->GetInt("ceil_mode", 0) != 0) return false;
  const auto kernel = pool->GetInts("kernel_shape");
  return MergePad(ctx, rw, pool, kernel.size() + 2, PadValue::kZero, {});
}

// MaxPool ignores its own padded cells, i.e. pads with -inf; zeros would win over negative
// inputs, so only a -inf Pad merges. They agree only while every window holds a real cell:
// dilation 1, no ceil_mode and each side's total pad smaller than the kernel guarantee it.
// The Indices output would index the unpadded tensor instead, so it must be unused.
RewriteResult PadMaxPool(PassContext& ctx, Rewriter& rw, ir::Node* pool) {
  if (pool->GetInt("ceil_mode", 0) != 0) return false;
  for (int64_t d : pool->GetInts("dilations")) {
    if (d != 1) return false;
  }
  if (const ir::Value* indices = pool->output(1)) {
    if (!indices->uses().empty() || indices->is_graph_output()) return false;
  }
  const auto kernel = pool->GetInts("kernel_shape");
  if (kernel.empty()) return false;
  return MergePad(ctx, rw, pool, kernel.size() + 2, PadValue::kNegativeInfinity, kernel);
}

}  // namespace

FusePadConv::FusePadConv()
    : RulePass({{"pad_into_conv", "Conv", "", PadConv},
                {"pad_into_average_pool", "AveragePool", "", PadAveragePool},
                {"pad_into_max_pool", "MaxPool", "", PadMaxPool}}) {}

GRAPHOPT_REGISTER_PASS(FusePadConv, "fuse_pad_conv", kBasic, 110,
                       "merge a constant Pad (zero for Conv/AveragePool, -inf for MaxPool) into "
                       "the consumer's pads");

}  // namespace graphopt
