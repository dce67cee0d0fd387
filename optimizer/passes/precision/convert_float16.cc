#include "optimizer/passes/precision/convert_float16.h"

#include <map>
#include <set>
#include <string>

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// Kept in float32: float16's 10-bit mantissa and 65504 maximum break their sums and ranges
// (a Softmax or ReduceMean over 768 elements, x^2 of an activation), or their output type is an
// attribute rather than their input's.
bool KeptInFloat32(const ir::Node& n) {
  static const std::set<std::string> kStandard = {"Softmax",
                                                  "LogSoftmax",
                                                  "ReduceMean",
                                                  "ReduceSum",
                                                  "ReduceSumSquare",
                                                  "ReduceL1",
                                                  "ReduceL2",
                                                  "ReduceLogSum",
                                                  "ReduceLogSumExp",
                                                  "ReduceProd",
                                                  "Pow",
                                                  "Sqrt",
                                                  "Exp",
                                                  "Log",
                                                  "Reciprocal",
                                                  "Range",
                                                  "ConstantOfShape",
                                                  "EyeLike",
                                                  "RandomNormal",
                                                  "RandomNormalLike",
                                                  "RandomUniform",
                                                  "RandomUniformLike",
                                                  "Multinomial",
                                                  "Bernoulli",
                                                  "TopK",
                                                  "NonMaxSuppression",
                                                  "RoiAlign",
                                                  "CumSum",
                                                  "Einsum",
                                                  "GridSample"};
  if (n.HasSubgraphs()) return true;
  if (n.is_onnx_domain()) return kStandard.count(n.op_type()) > 0;
  // Of the contrib operators only those whose inputs and outputs share one float type T.
  static const std::set<std::string> kContribHalf = {"Gelu",
                                                     "FastGelu",
                                                     "BiasGelu",
                                                     "QuickGelu",
                                                     "FusedMatMul",
                                                     "FusedConv",
                                                     "BiasAdd",
                                                     "SkipLayerNormalization",
                                                     "SkipSimplifiedLayerNormalization",
                                                     "Attention",
                                                     "MultiHeadAttention",
                                                     "EmbedLayerNormalization",
                                                     "BiasSoftmax"};
  return !(n.domain() == "com.microsoft" && kContribHalf.count(n.op_type()));
}

// Float inputs that stay float32 even on a float16 operator (their type is not T).
bool InputStaysFloat32(const ir::Node& n, size_t i) {
  if (n.Is("Resize")) return i == 1 || i == 2;  // roi and scales
  if (n.Is("Upsample")) return i == 1;          // scales
  return false;
}

// Float outputs of type U (mean and inverse standard deviation of the normalizations), which
// stays float32 when T becomes float16.
bool OutputStaysFloat32(const ir::Node& n, size_t i) {
  static const std::set<std::string> kNormalizations = {
      "LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
      "SkipSimplifiedLayerNormalization"};
  return kNormalizations.count(n.op_type()) && (i == 1 || i == 2);
}

class Float16Converter {
 public:
  explicit Float16Converter(ir::Model& model) : g_(*model.graph) {}

  ConversionStats Run() {
    stats_.name = "convert_float16";
    ChooseNodes();
    ConvertConstants();
    MarkHalfOutputs();
    InsertCasts();
    CastGraphOutputs();
    g_.PruneOrphanValues();
    (void)g_.SortTopologically();
    stats_.notes.push_back(
        "graph inputs and outputs stay float32; Casts where float16 and "
        "float32 operators meet");
    return stats_;
  }

 private:
  // Whether the node runs in float16: reads or writes a float value and is not kept in float32.
  void ChooseNodes() {
    std::set<const ir::Value*> captured;  // read by a subgraph: must keep its type
    for (ir::Node* n : g_.nodes()) {
      for (ir::Value* v : n->implicit_inputs()) captured.insert(v);
    }
    for (ir::Node* n : g_.nodes()) {
      if (n->Is("Constant") || KeptInFloat32(*n)) continue;
      bool touches_float = false, writes_captured = false;
      for (ir::Value* v : n->inputs()) touches_float |= v && v->elem_type() == DataType::kFloat;
      for (ir::Value* v : n->outputs()) {
        touches_float |= v && v->elem_type() == DataType::kFloat;
        writes_captured |= v && captured.count(v);
      }
      if (n->Is("Cast")) {
        touches_float = n->GetInt("to", 0) == static_cast<int64_t>(DataType::kFloat);
      }
      if (touches_float && !writes_captured) half_nodes_.insert(n);
    }
    for (const ir::Node* n : g_.nodes()) {
      if (n->Is("Constant")) continue;
      const bool half = half_nodes_.count(n) > 0;
      for (const ir::Value* v : n->outputs()) {
        if (v && v->elem_type() == DataType::kFloat) ++(half ? stats_.converted : stats_.kept);
      }
    }
  }

  // True when every reader of `v` takes it as a float16 T input.
  bool OnlyHalfReaders(const ir::Value* v) const {
    if (v->is_graph_output() || v->uses().empty()) return false;
    for (const ir::Use& u : v->uses()) {
      if (!half_nodes_.count(u.node) || InputStaysFloat32(*u.node, u.index)) return false;
    }
    return true;
  }

  // Float initializers and Constant nodes read only by float16 operators are stored in float16.
  void ConvertConstants() {
    for (ir::Value* v : g_.initializers()) {
      if (v->elem_type() != DataType::kFloat || v->is_graph_input() || !OnlyHalfReaders(v))
        continue;
      const Tensor& t = *v->initializer();
      stats_.weight_bytes_before += static_cast<int64_t>(t.nbytes());
      Tensor half = t.CastTo(DataType::kFloat16);
      stats_.weight_bytes_after += static_cast<int64_t>(half.nbytes());
      g_.SetInitializer(v, std::move(half));
      v->type().elem_type = DataType::kFloat16;
      half_values_.insert(v);
    }
    for (ir::Node* n : g_.nodes()) {
      ir::Value* out = n->output(0);
      if (!n->Is("Constant") || !out || out->elem_type() != DataType::kFloat) continue;
      const ir::Attribute* value = n->attr("value");
      if (!value || !OnlyHalfReaders(out)) continue;
      const Tensor* t = ConstantValue(out);
      if (!t) continue;
      stats_.weight_bytes_before += static_cast<int64_t>(t->nbytes());
      Tensor half = t->CastTo(DataType::kFloat16);
      stats_.weight_bytes_after += static_cast<int64_t>(half.nbytes());
      n->SetTensor("value", std::move(half));
      out->type().elem_type = DataType::kFloat16;
      half_values_.insert(out);
    }
  }

  void MarkHalfOutputs() {
    for (ir::Node* n : g_.nodes()) {
      if (!half_nodes_.count(n)) continue;
      if (n->Is("Cast")) n->SetInt("to", static_cast<int64_t>(DataType::kFloat16));
      for (size_t i = 0; i < n->outputs().size(); ++i) {
        ir::Value* v = n->output(i);
        if (v && v->elem_type() == DataType::kFloat && !OutputStaysFloat32(*n, i)) {
          v->type().elem_type = DataType::kFloat16;
          half_values_.insert(v);
        }
      }
    }
  }

  // A Cast of `v` to `type`, one per (value, type), placed where the precisions meet.
  ir::Value* CastOf(ir::Value* v, DataType type) {
    auto key = std::make_pair(v, type);
    if (auto it = casts_.find(key); it != casts_.end()) return it->second;
    const char* suffix = type == DataType::kFloat16 ? "_fp16" : "_fp32";
    ir::Node* cast = g_.AddNode("Cast", {v}, 1, v->name() + suffix);
    cast->SetInt("to", static_cast<int64_t>(type));
    ir::Value* out = cast->output(0);
    out->type() = v->type();
    out->type().elem_type = type;
    casts_[key] = out;
    return out;
  }

  void InsertCasts() {
    for (ir::Node* n : g_.nodes()) {
      const bool half = half_nodes_.count(n) > 0;
      for (size_t i = 0; i < n->inputs().size(); ++i) {
        ir::Value* v = n->input(i);
        if (!v) continue;
        const bool is_half = half_values_.count(v) > 0;
        const bool was_float = is_half || v->elem_type() == DataType::kFloat;
        if (!was_float) continue;
        if (n->Is("Cast")) continue;  // reads any type: it converts by itself
        const bool wants_half = half && !InputStaysFloat32(*n, i);
        if (is_half && !wants_half) {
          n->SetInput(i, CastOf(v, DataType::kFloat));
        } else if (!is_half && wants_half) {
          n->SetInput(i, CastOf(v, DataType::kFloat16));
        }
      }
    }
  }

  // Outputs keep their names and float32 type: the float16 value is renamed, and a Cast back
  // to float32 writes the output's name.
  void CastGraphOutputs() {
    for (size_t i = 0; i < g_.outputs().size(); ++i) {
      ir::Value* v = g_.outputs()[i];
      if (!v || !half_values_.count(v)) continue;
      const std::string name = v->name();
      ir::Value* out = CastOf(v, DataType::kFloat);
      // Swap names: the Cast's output takes the output's, the float16 value the Cast's fresh one.
      const std::string fresh = out->name();
      g_.RenameValue(out, fresh + "__swap");
      g_.RenameValue(v, fresh);
      g_.RenameValue(out, name);
      g_.SetOutput(i, out);
    }
  }

  ir::Graph& g_;
  ConversionStats stats_;
  std::set<const ir::Node*> half_nodes_;
  std::set<const ir::Value*> half_values_;
  std::map<std::pair<ir::Value*, DataType>, ir::Value*> casts_;
};

}  // namespace

ConversionStats ConvertFloat16(ir::Model& model) { return Float16Converter(model).Run(); }

}  // namespace graphopt
