// Shape-dependent chains as PyTorch's ONNX exporter writes them (opset 14, no constant folding),
// for the tests of symbolic shape inference and fold_shape_arithmetic.
#pragma once

#include <cstdint>
#include <vector>

#include "support/test_support.h"

namespace graphopt::testing {

inline ir::Value* ExportedInts(ModelBuilder& b, const std::vector<int64_t>& v) {
  return b.graph().NewInitializer("ints", Tensor::Int64s(v));
}
inline ir::Value* ExportedInt(ModelBuilder& b, int64_t v) {
  return b.graph().NewInitializer("int", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {v}));
}
inline ir::Value* ExportedConcat(ModelBuilder& b, const std::vector<ir::Value*>& parts,
                                 int64_t axis = 0) {
  ir::Value* c = b.Op("Concat", parts);
  b.LastNode()->SetInt("axis", axis);
  return c;
}

// ONNX pads of torchvision Swin's F.pad(x, (0, 0, 0, pad_w, 0, pad_h)) on an NHWC x, where
// pad = (window - dim % window) % window is read from Shape(x). The exporter concatenates the
// (begin, end) pairs from the last dim backwards, appends a zero pair for the batch
// (ConstantOfShape of 8 - length), views them as a (4, 2) table, reverses its rows (Slice with
// step -1), transposes and flattens it: [0, 0, 0, 0, 0, pad_h, pad_w, 0].
inline ir::Value* TorchSwinPads(ModelBuilder& b, ir::Value* x, int64_t window) {
  ir::Value* shape = b.Op("Shape", {x});
  auto pad_of = [&](int64_t axis) {
    ir::Value* dim = b.Op("Gather", {shape, ExportedInt(b, axis)});
    ir::Value* rest =
        b.Op("Sub", {ExportedInt(b, window), b.Op("Mod", {dim, ExportedInt(b, window)})});
    return b.Op("Unsqueeze", {b.Op("Mod", {rest, ExportedInt(b, window)}), ExportedInts(b, {0})});
  };
  ir::Value* pairs =
      ExportedConcat(b, {ExportedInts(b, {0, 0, 0}), pad_of(2), ExportedInts(b, {0}), pad_of(1)});
  ir::Value* length = b.Op("Gather", {b.Op("Shape", {pairs}), ExportedInts(b, {0})});
  ir::Value* zeros = b.Op("ConstantOfShape", {b.Op("Sub", {ExportedInts(b, {8}), length})});
  b.LastNode()->SetTensor("value", Tensor::Int64s({0}));
  ir::Value* table = b.Op("Reshape", {ExportedConcat(b, {pairs, zeros}), ExportedInts(b, {-1, 2})});
  ir::Value* reversed =
      b.Op("Slice", {table, ExportedInts(b, {-1}), ExportedInts(b, {INT64_MIN + 1}),
                     ExportedInts(b, {0}), ExportedInts(b, {-1})});
  ir::Value* columns = b.Op("Transpose", {reversed});
  b.LastNode()->SetInts("perm", {1, 0});
  return b.Op("Reshape", {columns, ExportedInts(b, {-1})});
}

// Dim `axis` of `v` as a 1-element vector, read at run time: Unsqueeze(Gather(Shape(v), axis)).
inline ir::Value* ExportedDim(ModelBuilder& b, ir::Value* v, int64_t axis) {
  return b.Op("Unsqueeze",
              {b.Op("Gather", {b.Op("Shape", {v}), ExportedInt(b, axis)}), ExportedInts(b, {0})});
}

// Swin's query scale (C // heads) ** -0.5 with C read from Shape(x): Div, Cast, Pow.
inline ir::Value* TorchHeadScale(ModelBuilder& b, ir::Value* x, int64_t channel_axis,
                                 int64_t heads) {
  ir::Value* c = b.Op("Gather", {b.Op("Shape", {x}), ExportedInt(b, channel_axis)});
  ir::Value* head_dim = b.Op("Cast", {b.Op("Div", {c, ExportedInt(b, heads)})});
  b.LastNode()->SetInt("to", static_cast<int64_t>(DataType::kFloat));
  return b.Op("Pow", {head_dim, b.graph().NewInitializer("exp", Tensor::ScalarFloat(-0.5f))});
}

}  // namespace graphopt::testing
