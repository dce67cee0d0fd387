// Checks that uploaded bytes are an ONNX model before the server accepts them, using the ONNX
// schema and checker directly (not the optimizer's IR, which the service layer never touches).
#pragma once

#include <functional>
#include <memory>

#include "optimizer/util/status.h"
#include "server/store/blob_store.h"

namespace graphopt::server {

// kInvalidArgument with the reason when the bytes are not a valid ONNX model, by the checks the
// loader makes (optimizer/util/onnx_check.h). Tensors stored as external data are not opened
// here (their files are separate uploads). `open` reads the upload from its start; it is called
// a second time only to tell a model nested too deep from bytes that are not ONNX.
Status ValidateOnnxModel(const std::function<Result<std::unique_ptr<BlobReader>>()>& open);

}  // namespace graphopt::server
