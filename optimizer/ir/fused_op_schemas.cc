#include "optimizer/ir/fused_op_schemas.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace graphopt::ir {

namespace {

using onnx::InferenceContext;
using onnx::TensorShapeProto;

constexpr const char* kMs = "com.microsoft";

bool HasInputType(InferenceContext& ctx, size_t i) {
  return i < ctx.getNumInputs() && ctx.getInputType(i) != nullptr;
}

// Output `out` gets input `in`'s element type and, when known, its shape.
void LikeInput(InferenceContext& ctx, size_t in, size_t out) {
  if (!HasInputType(ctx, in) || out >= ctx.getNumOutputs()) return;
  onnx::propagateElemTypeFromInputToOutput(ctx, in, out);
  if (onnx::hasInputShape(ctx, in)) onnx::propagateShapeFromInputToOutput(ctx, in, out);
}

// Elementwise ops (Gelu, FastGelu and BiasGelu with a [hidden] bias, QuickGelu) and the
// normalizations: output 0 is input 0's type and shape.
void LikeFirstInput(InferenceContext& ctx) { LikeInput(ctx, 0, 0); }

// Skip(Simplified)LayerNormalization: output 0 and input_skip_bias_sum (output 3) have the
// input's type and shape; the optional statistics are left alone.
void SkipLayerNorm(InferenceContext& ctx) {
  LikeInput(ctx, 0, 0);
  LikeInput(ctx, 0, 3);
}

// The standard operator's own inference (FusedConv is a Conv, FusedGemm a Gemm, ONNX Runtime's
// LayerNormalization 1-16 the standard LayerNormalization-17): their extra attributes and inputs
// (activation, the Conv's summed input Z) do not change the output's type or shape.
onnx::InferenceFunction AsStandard(const char* op, int version) {
  return [op, version](InferenceContext& ctx) {
    const onnx::OpSchema* s = onnx::OpSchemaRegistry::Schema(op, version, "");
    if (s && s->has_type_and_shape_inference_function()) s->GetTypeAndShapeInferenceFunction()(ctx);
  };
}

// FusedMatMul: alpha * op(A) @ op(B), op transposing the last two axes when transA / transB.
void FusedMatMul(InferenceContext& ctx) {
  if (!HasInputType(ctx, 0)) return;
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  if (!onnx::hasNInputShapes(ctx, 2)) return;
  // Batch transposes move the batch axes too; rare enough to leave the shape unknown.
  if (onnx::getAttribute(ctx, "transBatchA", 0) != 0 ||
      onnx::getAttribute(ctx, "transBatchB", 0) != 0) {
    return;
  }
  TensorShapeProto a = onnx::getInputShape(ctx, 0), b = onnx::getInputShape(ctx, 1);
  const int ra = a.dim_size(), rb = b.dim_size();
  if (ra < 2 || rb < 2) return;  // vector operands: not emitted by graphopt
  if (onnx::getAttribute(ctx, "transA", 0) != 0) a.mutable_dim()->SwapElements(ra - 2, ra - 1);
  if (onnx::getAttribute(ctx, "transB", 0) != 0) b.mutable_dim()->SwapElements(rb - 2, rb - 1);
  TensorShapeProto a_batch, b_batch, out;
  for (int i = 0; i + 2 < ra; ++i) *a_batch.add_dim() = a.dim(i);
  for (int i = 0; i + 2 < rb; ++i) *b_batch.add_dim() = b.dim(i);
  onnx::bidirectionalBroadcastShapeInference(a_batch, b_batch, out);
  *out.add_dim() = a.dim(ra - 2);
  *out.add_dim() = b.dim(rb - 1);
  onnx::updateOutputShape(ctx, 0, out);
}

// Attention: input (batch, seq, input_hidden) -> (batch, seq, v_hidden), v_hidden being the
// last of qkv_hidden_sizes, or a third of the packed bias (input 2).
void Attention(InferenceContext& ctx) {
  if (!HasInputType(ctx, 0)) return;
  onnx::propagateElemTypeFromInputToOutput(ctx, 0, 0);
  if (!onnx::hasInputShape(ctx, 0)) return;
  TensorShapeProto out = onnx::getInputShape(ctx, 0);
  if (out.dim_size() != 3) return;
  int64_t v_hidden = -1;
  std::vector<int64_t> sizes;
  if (onnx::getRepeatedAttribute(ctx, "qkv_hidden_sizes", sizes)) {
    if (sizes.size() == 3) v_hidden = sizes[2];
  } else if (onnx::hasInputShape(ctx, 2)) {
    const TensorShapeProto& bias = onnx::getInputShape(ctx, 2);
    if (bias.dim_size() == 1 && bias.dim(0).has_dim_value() && bias.dim(0).dim_value() % 3 == 0)
      v_hidden = bias.dim(0).dim_value() / 3;
  }
  out.mutable_dim(2)->Clear();
  if (v_hidden > 0) out.mutable_dim(2)->set_dim_value(v_hidden);
  onnx::updateOutputShape(ctx, 0, out);
}

// EmbedLayerNormalization: input_ids (batch, seq) and word_embedding (rows, hidden) give
// output and embedding_sum (batch, seq, hidden) of the embeddings' type, and int32 mask_index
// (batch).
void EmbedLayerNorm(InferenceContext& ctx) {
  const size_t outputs = ctx.getNumOutputs();
  if (HasInputType(ctx, 2)) {
    onnx::propagateElemTypeFromInputToOutput(ctx, 2, 0);
    if (outputs > 2) onnx::propagateElemTypeFromInputToOutput(ctx, 2, 2);
  }
  if (outputs > 1) onnx::updateOutputElemType(ctx, 1, onnx::TensorProto::INT32);
  if (!onnx::hasInputShape(ctx, 0) || !onnx::hasInputShape(ctx, 2)) return;
  const TensorShapeProto& ids = onnx::getInputShape(ctx, 0);
  const TensorShapeProto& word = onnx::getInputShape(ctx, 2);
  if (ids.dim_size() != 2 || word.dim_size() != 2) return;
  TensorShapeProto out;
  *out.add_dim() = ids.dim(0);
  *out.add_dim() = ids.dim(1);
  *out.add_dim() = word.dim(1);
  if (outputs > 0) onnx::updateOutputShape(ctx, 0, out);
  if (outputs > 2) onnx::updateOutputShape(ctx, 2, out);
  if (outputs > 1) {
    TensorShapeProto mask_index;
    *mask_index.add_dim() = ids.dim(0);
    onnx::updateOutputShape(ctx, 1, mask_index);
  }
}

class Registry final : public onnx::ISchemaRegistry {
 public:
  Registry() {
    for (const char* op : {"Gelu", "FastGelu", "BiasGelu", "QuickGelu"})
      Add(kMs, op, LikeFirstInput);
    Add(kMs, "SkipLayerNormalization", SkipLayerNorm);
    Add(kMs, "SkipSimplifiedLayerNormalization", SkipLayerNorm);
    Add(kMs, "FusedConv", AsStandard("Conv", 11));
    Add(kMs, "FusedGemm", AsStandard("Gemm", 13));
    Add(kMs, "FusedMatMul", FusedMatMul);
    Add(kMs, "Attention", Attention);
    Add(kMs, "EmbedLayerNormalization", EmbedLayerNorm);
    Add("", "LayerNormalization", AsStandard("LayerNormalization", 17));
    Add("", "SimplifiedLayerNormalization", LikeFirstInput);
  }

  const onnx::OpSchema* GetSchema(const std::string& op, const int max_version,
                                  const std::string& domain) const override {
    if (const onnx::OpSchema* s =
            onnx::OpSchemaRegistry::Instance()->GetSchema(op, max_version, domain)) {
      return s;
    }
    auto it = schemas_.find({domain, op});
    return it == schemas_.end() ? nullptr : &it->second;
  }

 private:
  void Add(const std::string& domain, const std::string& op, onnx::InferenceFunction infer) {
    onnx::OpSchema s;
    s.SetName(op).SetDomain(domain).SinceVersion(1).TypeAndShapeInferenceFunction(std::move(infer));
    schemas_.emplace(std::make_pair(domain, op), std::move(s));
  }

  std::map<std::pair<std::string, std::string>, onnx::OpSchema> schemas_;
};

}  // namespace

const onnx::ISchemaRegistry& FusedOpSchemaRegistry() {
  static const Registry registry;
  return registry;
}

}  // namespace graphopt::ir
