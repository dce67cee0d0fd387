#include "optimizer/pass/symbolic_match.h"

#include <algorithm>

#include "optimizer/ir/symbolic_dim.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

std::optional<DimShape> SymbolicShapeOf(const ir::Value* v) {
  if (!v) return std::nullopt;
  if (const Tensor* t = ConstantValue(v)) {
    DimShape out;
    for (int64_t d : t->shape()) out.push_back(DimOf(d));
    return out;
  }
  const auto& shape = v->type().shape;
  if (!v->type().is_tensor() || !shape) return std::nullopt;
  DimShape out;
  for (const ir::Dim& d : *shape) {
    if (!d.known() && d.param.empty()) return std::nullopt;
    // Canonical spelling, so "4*batch" from a model equals "batch*4" computed here.
    out.push_back(d.known() ? d : ir::SymbolicDim::Parse(d.param).ToDim());
  }
  return out;
}

std::optional<int64_t> KnownDim(const std::optional<DimShape>& shape, int64_t i) {
  if (!shape) return std::nullopt;
  const auto rank = static_cast<int64_t>(shape->size());
  if (i < 0) i += rank;
  if (i < 0 || i >= rank || !(*shape)[static_cast<size_t>(i)].known()) return std::nullopt;
  return (*shape)[static_cast<size_t>(i)].value;
}

ir::Dim DimProduct(const std::vector<ir::Dim>& factors) {
  ir::SymbolicDim product(1);
  for (const ir::Dim& d : factors) {
    auto s = ir::SymbolicDim::FromDim(d);
    if (!s) return ir::Dim{};
    product = product * *s;
  }
  return product.ToDim();
}

ir::ValueType TypeOf(DataType type, const DimShape& dims) {
  ir::ValueType t;
  t.elem_type = type;
  t.shape = dims;
  return t;
}

ir::Value* ShapeTensorOf(ir::Graph& g, const DimShape& dims, ir::Value* source, int64_t axis) {
  std::vector<int64_t> numbers;
  for (const ir::Dim& d : dims) numbers.push_back(d.known() ? d.value : -1);
  if (std::find(numbers.begin(), numbers.end(), -1) == numbers.end()) {
    return g.NewInitializer("attention_bias_shape", Tensor::Int64s(numbers));
  }
  ir::Node* shape = g.AddNode("Shape", {source}, 1, source->name() + "_shape");
  shape->output(0)->type() = ir::ValueType::FromShape(
      DataType::kInt64,
      {static_cast<int64_t>(source->type().shape ? source->type().shape->size() : 0)});
  ir::Node* gather = g.AddNode(
      "Gather",
      {shape->output(0), g.NewInitializer(source->name() + "_axis", Tensor::Int64s({axis}))}, 1,
      source->name() + "_dim");
  gather->output(0)->type() = ir::ValueType::FromShape(DataType::kInt64, {1});
  std::vector<ir::Value*> parts;
  for (const ir::Dim& d : dims) {
    parts.push_back(d.known() ? g.NewInitializer("shape_part", Tensor::Int64s({d.value}))
                              : gather->output(0));
  }
  ir::Node* concat = g.AddNode("Concat", parts, 1, source->name() + "_shape_tensor");
  concat->SetInt("axis", 0);
  concat->output(0)->type() =
      ir::ValueType::FromShape(DataType::kInt64, {static_cast<int64_t>(dims.size())});
  return concat->output(0);
}

}  // namespace graphopt
