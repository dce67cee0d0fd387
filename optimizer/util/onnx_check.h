// Validation of ONNX models before anything runs on them: the ONNX checker with strict type and
// shape inference where the linked ONNX library knows the operators, graphopt's own limits
// (opset, subgraph nesting) everywhere. Shared by the model loader and the server's upload check.
#pragma once

#include <string>

#include "optimizer/util/status.h"

namespace google::protobuf::io {
class ZeroCopyInputStream;
}
namespace onnx {
class ModelProto;
}

namespace graphopt {

// The newest default-domain opset graphopt runs (the reference kernels' last range,
// reference::kLatestOpset, which static_asserts it is this value).
inline constexpr int kLatestSupportedOpset = 27;

// Subgraphs (If/Loop/Scan bodies) may nest this deep: far beyond real models (a handful of
// levels), well below what the recursive IR, shape inference and executor code can take on a
// worker thread's stack, and below protobuf's own parse limit.
inline constexpr int kMaxSubgraphNesting = 16;

// Protobuf's parse recursion limit to use for ModelProto: room for kMaxSubgraphNesting levels
// and more, so a deeper model parses and is refused by CheckOnnxModel with a clear message
// (each nesting level costs three messages: graph, node, attribute).
inline constexpr int kModelProtoRecursionLimit = 3 * (4 * kMaxSubgraphNesting) + 8;

// Checks `proto` and refuses an invalid model with kInvalidArgument and the reason:
//  - structure: ir_version and opset_import present; the default domain's opset is at most
//    kLatestSupportedOpset; subgraphs nest at most kMaxSubgraphNesting levels;
//  - onnx::checker::check_model, then ONNX shape inference in strict mode with type checks;
//  - a Reshape to a constant shape whose element count cannot match its input's.
// Nodes the library cannot judge (a domain imported at an opset newer than the library's, or an
// operator without a schema at the imported opset) keep only the structural checks: ONNX 1.12
// knows opsets up to 17, graphopt runs up to kLatestSupportedOpset. `proto` is used as scratch:
// node domains and value_info change; initializers do not.
Status CheckOnnxModel(onnx::ModelProto& proto);

// The deepest subgraph nesting in a serialized ModelProto, read from the wire format without
// recursion (so it works on a model too deep for protobuf's parser); -1 when the bytes are not
// a well-formed message. The top-level graph is level 0.
int WireSubgraphNesting(google::protobuf::io::ZeroCopyInputStream* input);

// The message for a model whose subgraphs nest `depth` levels (> kMaxSubgraphNesting).
std::string NestingTooDeepMessage(int depth);

}  // namespace graphopt
