// Checks that uploaded bytes are an ONNX model before the server accepts them, using the ONNX
// schema and checker directly (not the optimizer's IR, which the service layer never touches).
#pragma once

#include "optimizer/util/status.h"
#include "server/store/blob_store.h"

namespace graphopt::server {

// kInvalidArgument with the reason when the bytes are not a well-formed ONNX model. Tensors
// stored as external data are not opened here (their files are separate uploads).
Status ValidateOnnxModel(BlobReader& reader);

}  // namespace graphopt::server
