#include "optimizer/passes/basic/fold_shape_arithmetic.h"

#include <map>

#include "optimizer/ir/symbolic_shape_inference.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

bool AllInputsConstant(const ir::Node* n) {
  for (const ir::Value* v : n->inputs()) {
    if (v && !IsConstant(v)) return false;
  }
  return true;
}

// The output as a constant when it is a small integer tensor whose every element is a number
// (Gather(Shape(x), 2) of a static hidden size, a pads table built from static dims).
std::optional<Tensor> StaticContents(const ir::SymbolicShapes& shapes, const ir::Value* v) {
  if (!v || v->is_graph_output()) return std::nullopt;
  const DataType type = v->elem_type();
  if (type != DataType::kInt64 && type != DataType::kInt32) return std::nullopt;
  auto shape = shapes.shape(v);
  auto contents = shapes.contents(v);
  if (!shape || !contents) return std::nullopt;
  std::vector<int64_t> numbers;
  for (const ir::SymbolicDim& d : *contents) {
    if (!d.is_constant()) return std::nullopt;
    numbers.push_back(d.constant());
  }
  Shape dims;
  int64_t count = 1;
  for (const ir::SymbolicDim& d : *shape) {
    if (!d.is_constant()) return std::nullopt;
    dims.push_back(d.constant());
    count *= d.constant();
  }
  if (count != static_cast<int64_t>(numbers.size())) return std::nullopt;
  if (type == DataType::kInt64) return Tensor::FromVector<int64_t>(type, dims, numbers);
  return Tensor::FromVector<int32_t>(type, dims,
                                     std::vector<int32_t>(numbers.begin(), numbers.end()));
}

// A constant Reshape target equivalent to the symbolic one: a dim equal to the input's dim at
// the same position becomes 0 (copy), at most one other symbolic dim becomes -1 (inferred).
std::optional<std::vector<int64_t>> ConstantTarget(const ir::SymbolicShapes& shapes,
                                                   const ir::Node* reshape) {
  if (reshape->GetInt("allowzero", 0) != 0) return std::nullopt;
  auto in = shapes.shape(reshape->input(0));
  auto target = shapes.contents(reshape->input(1));
  if (!in || !target) return std::nullopt;
  std::vector<int64_t> out;
  bool inferred = false;
  for (size_t i = 0; i < target->size(); ++i) {
    const ir::SymbolicDim& d = (*target)[i];
    if (d.is_constant()) {
      if (d.constant() < -1) return std::nullopt;
      if (d.constant() == -1) {
        if (inferred) return std::nullopt;
        inferred = true;
      }
      out.push_back(d.constant());
    } else if (i < in->size() && (*in)[i] == d) {
      out.push_back(0);
    } else {
      if (inferred) return std::nullopt;
      inferred = true;
      out.push_back(-1);
    }
  }
  return out;
}

// Where each symbolic dim of the graph inputs can be read: (input, axis) of its first use.
using DimSources = std::map<std::string, std::pair<ir::Value*, int64_t>>;
DimSources InputDimSources(const ir::Graph& g) {
  DimSources out;
  for (ir::Value* v : g.inputs()) {
    if (v->has_initializer() || !v->type().shape) continue;
    const auto& dims = *v->type().shape;
    for (size_t i = 0; i < dims.size(); ++i) {
      if (!dims[i].known() && !dims[i].param.empty()) {
        out.emplace(ir::SymbolicDim::Parse(dims[i].param).ToString(),
                    std::make_pair(v, static_cast<int64_t>(i)));
      }
    }
  }
  return out;
}

// Gather(Shape(v), i) of a symbolic dim that a graph input also has reads it from that input:
// the value v (a Transpose, a head's Reshape) then has no readers but its data consumers, so a
// fusion may take it away. Shape(input) is reused when the graph has one.
bool ReadDimFromInput(ir::Graph& g, const ir::SymbolicShapes& shapes, const DimSources& sources,
                      ir::Node* gather) {
  if (!gather->Is("Gather") || gather->GetInt("axis", 0) != 0) return false;
  ir::Node* shape = gather->input(0)->producer();
  if (!shape || !shape->Is("Shape") || shape->HasAttr("start") || shape->HasAttr("end")) {
    return false;
  }
  if (shape->input(0)->is_graph_input()) return false;
  const Tensor* index = ConstantValue(gather->input(1));
  auto contents = shapes.contents(gather->output(0));
  if (!index || index->size() != 1 || !contents || contents->size() != 1) return false;
  auto source = sources.find((*contents)[0].ToString());
  if (source == sources.end()) return false;
  ir::Value* input = source->second.first;
  ir::Value* input_shape = nullptr;
  for (const ir::Use& u : input->uses()) {
    if (u.node->Is("Shape") && !u.node->HasAttr("start") && !u.node->HasAttr("end")) {
      input_shape = u.node->output(0);
    }
  }
  if (!input_shape) {
    ir::Node* s = g.AddNode("Shape", {input}, 1, input->name() + "_shape");
    s->output(0)->type() = ir::ValueType::FromShape(
        DataType::kInt64, {static_cast<int64_t>(input->type().shape->size())});
    input_shape = s->output(0);
  }
  Tensor new_index(DataType::kInt64, index->shape());
  new_index.mutable_data<int64_t>()[0] = source->second.second;
  gather->SetInput(0, input_shape);
  gather->SetInput(1, g.NewInitializer(input->name() + "_axis", std::move(new_index)));
  RemoveIfDead(g, shape);
  return true;
}

void ReplaceOutputWithInitializer(ir::Graph& g, ir::Node* n, Tensor value) {
  ir::Value* out = n->output(0);
  g.SetNodeOutput(n, 0, g.NewValue(out->name() + "_folded"));
  g.SetInitializer(out, std::move(value));
  RemoveIfDead(g, n);
}

}  // namespace

Result<int64_t> FoldShapeArithmetic::Run(PassContext& ctx) {
  ir::Graph& g = *ctx.model.graph;
  const ir::SymbolicShapes shapes(ctx.model);
  const DimSources sources = InputDimSources(g);
  int64_t changed = 0;
  for (ir::Node* n : g.nodes()) {
    if (!ctx.MayRewrite()) break;  // --bisect-limit reached
    if (!n->is_onnx_domain() || n->HasSubgraphs() || n->outputs().size() != 1) continue;
    if (n->Is("Constant") || AllInputsConstant(n)) continue;  // fold_constants' work
    if (n->Is("Reshape") && n->input(1) && !IsConstant(n->input(1))) {
      if (auto target = ConstantTarget(shapes, n)) {
        ctx.Applied("reshape_target_from_symbols", n);
        ir::Value* old = n->input(1);
        n->SetInput(1, g.NewInitializer(n->output(0)->name() + "_shape", Tensor::Int64s(*target)));
        if (old->producer()) RemoveIfDead(g, old->producer());
        ++changed;
      }
      continue;
    }
    if (auto t = StaticContents(shapes, n->output(0))) {
      ctx.Applied("static_dims_to_constant", n);
      ReplaceOutputWithInitializer(g, n, std::move(*t));
      ++changed;
    } else if (ReadDimFromInput(g, shapes, sources, n)) {
      ctx.Applied("dim_from_graph_input", n);
      ++changed;
    }
  }
  return changed;
}

GRAPHOPT_REGISTER_PASS(FoldShapeArithmetic, "fold_shape_arithmetic", kBasic, 22,
                       "Shape/Size arithmetic with symbolic dims: integers of static dims into "
                       "constants, computed Reshape targets into constants with 0 and -1");

}  // namespace graphopt
