// Type-and-shape inference for the fused operators graphopt emits that ONNX has no schema for:
// the com.microsoft contrib operators, and ONNX Runtime's default-domain LayerNormalization
// (opsets 1-16) and SimplifiedLayerNormalization. Without it, shapes stop at the first fused node.
#pragma once

namespace onnx {
class ISchemaRegistry;
}

namespace graphopt::ir {

// ONNX's own schema registry, plus inference-only schemas for those operators (consulted when
// ONNX has no schema for a node). Only shape inference uses it; the checker keeps ONNX's alone.
const onnx::ISchemaRegistry& FusedOpSchemaRegistry();

}  // namespace graphopt::ir
