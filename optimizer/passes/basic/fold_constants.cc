#include "optimizer/passes/basic/fold_constants.h"

#include <set>

#include "optimizer/evaluator.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// Random operators differ between runs: folding them would freeze one sample.
bool IsNondeterministic(const ir::Node* n) {
  static const std::set<std::string> kRandom = {"RandomNormal", "RandomUniform",
                                                "RandomNormalLike", "RandomUniformLike",
                                                "Multinomial", "Bernoulli"};
  return kRandom.count(n->op_type()) > 0;
}

// DequantizeLinear of a constant is how a QDQ model stores a quantized weight. Folding it would
// store the weight in float (4x the bytes) and dissolve the DQ that ONNX Runtime's QDQ selectors
// fuse into QLinearConv/QLinearMatMul, so it stays (ONNX Runtime's constant folding skips it too).
// QuantizeLinear of a constant float weight still folds: that makes the weight quantized.
bool KeepsWeightQuantized(const ir::Node* n) { return n->Is("DequantizeLinear"); }

// Turns every output of `n` into an initializer holding `values[i]`, keeping the output names
// (and so every use) as they are, then deletes `n`.
void ReplaceWithInitializers(ir::Graph& g, ir::Node* n, std::vector<Tensor> values) {
  for (size_t i = 0; i < n->outputs().size(); ++i) {
    ir::Value* out = n->output(i);
    if (!out) continue;
    g.SetNodeOutput(n, i, g.NewValue(out->name() + "_folded"));
    g.SetInitializer(out, std::move(values[i]));
  }
  g.RemoveNode(n);
}

// Shape/Size of a value whose shape is fully known.
std::optional<Tensor> FoldShapeQuery(const ir::Node* n) {
  auto shape = n->input(0)->type().StaticShape();
  if (!shape) return std::nullopt;
  if (n->op_type() == "Size") return Tensor::FromVector<int64_t>(DataType::kInt64, {}, {NumElements(*shape)});
  const auto rank = static_cast<int64_t>(shape->size());
  int64_t start = n->GetInt("start", 0), end = n->GetInt("end", rank);
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  return Tensor::Int64s(std::vector<int64_t>(shape->begin() + start, shape->begin() + end));
}

}  // namespace

Result<int64_t> FoldConstants::Run(PassContext& ctx) {
  ir::Model& model = ctx.model;
  ir::Graph& g = *model.graph;
  // Earlier rewrites may have made more shapes static; folding Shape needs them fresh. When
  // inference fails, folding goes on with the shapes known so far; the record says why.
  if (Status inferred = ir::InferShapes(model); !inferred.ok() && ctx.record) {
    ctx.record->match_failures.emplace("shape inference: " + inferred.message(), 1);
  }
  int64_t folded = 0;
  for (ir::Node* n : g.nodes()) {
    if (!ctx.MayRewrite()) break;  // --bisect-limit reached
    if (!n->is_onnx_domain() || n->HasSubgraphs() || IsNondeterministic(n) ||
        KeepsWeightQuantized(n)) {
      continue;
    }
    if (n->Is("Shape") || n->Is("Size")) {
      if (auto t = FoldShapeQuery(n)) {
        ctx.Applied("shape_of_static_value", n);
        std::vector<Tensor> v;
        v.push_back(std::move(*t));
        ReplaceWithInitializers(g, n, std::move(v));
        ++folded;
      }
      continue;
    }
    std::vector<const Tensor*> inputs;
    bool all_constant = true;
    for (ir::Value* in : n->inputs()) {
      const Tensor* t = in ? ConstantValue(in) : nullptr;
      if (in && !t) all_constant = false;
      inputs.push_back(t);
    }
    if (!all_constant || !ctx.evaluator) continue;
    const int64_t opset = model.OpsetVersion(n->domain());
    if (!ctx.evaluator->CanEvaluate(*n, opset)) continue;
    // A node whose declared outputs would exceed the cap is not even evaluated.
    bool too_big = false;
    for (ir::Value* out : n->outputs()) {
      auto s = out ? out->type().StaticShape() : std::nullopt;
      if (s && ElementSize(out->elem_type()) * static_cast<uint64_t>(NumElements(*s)) >
                   static_cast<uint64_t>(ctx.options.fold_size_cap_bytes)) {
        too_big = true;
      }
    }
    if (too_big) continue;
    auto values = ctx.evaluator->EvaluateNode(*n, inputs, opset);
    if (!values.ok() || values->size() < n->outputs().size()) continue;  // leave it to run time
    int64_t bytes = 0;
    for (const Tensor& t : *values) bytes += static_cast<int64_t>(t.nbytes());
    if (bytes > ctx.options.fold_size_cap_bytes) continue;
    // Constant nodes are "folded" too: they become initializers, which every runtime prefers.
    ctx.Applied(n->Is("Constant") ? "constant_to_initializer" : "fold_" + n->op_type(), n);
    ReplaceWithInitializers(g, n, std::move(*values));
    ++folded;
  }
  return folded;
}

GRAPHOPT_REGISTER_PASS(FoldConstants, "fold_constants", kBasic, 20,
                       "evaluate nodes with constant inputs (and Shape/Size of static shapes) "
                       "into initializers");

}  // namespace graphopt
