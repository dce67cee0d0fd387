#include "optimizer/ir/size_checks.h"

#include "optimizer/ir/graph.h"
#include "optimizer/ir/tensor.h"

namespace graphopt::ir {
namespace {

// True when the value's shape is fully known and too large to count.
bool Overflows(const Value& v, Shape* shape) {
  const ValueType& type = v.type();
  if (!type.is_tensor()) return false;
  auto known = type.StaticShape();
  if (!known) return false;
  *shape = *known;
  const size_t element = ElementSize(type.elem_type);
  return !ElementCountFits(*known, element == 0 ? 1 : element);
}

}  // namespace

Status CheckValueSizes(const Graph& graph) {
  Shape shape;
  for (const Value* input : graph.inputs()) {
    if (Overflows(*input, &shape)) {
      return InvalidArgument("input '" + input->name() + "' has shape " + ShapeToString(shape) +
                             ", whose size overflows int64");
    }
  }
  for (const Node* node : graph.nodes()) {
    for (const Value* out : node->outputs()) {
      if (out && Overflows(*out, &shape)) {
        return InvalidArgument("node '" + node->name() + "' (" + node->op_type() +
                               "): output '" + out->name() + "' would have shape " +
                               ShapeToString(shape) + ", whose size overflows int64");
      }
    }
    for (const Graph* body : node->Subgraphs()) RETURN_IF_ERROR(CheckValueSizes(*body));
  }
  return Status::Ok();
}

}  // namespace graphopt::ir
