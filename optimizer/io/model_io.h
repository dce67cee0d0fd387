// Reading and writing .onnx files, including tensors stored as external data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "optimizer/io/save_options.h"
#include "optimizer/ir/graph.h"

namespace graphopt {

// Loads a model; external data locations resolve inside the model's folder only.
Result<std::unique_ptr<ir::Model>> LoadModel(const std::string& path);
// Parses a serialized model held in memory (no external data allowed).
Result<std::unique_ptr<ir::Model>> LoadModelFromBytes(const std::string& bytes);

// Saves a model; with external data, tensors go to "<file name>.data" beside it. Returns the
// number of bytes written in total.
Result<int64_t> SaveModel(ir::Model& model, const std::string& path, const SaveOptions& options = {});
Result<std::string> SerializeModel(ir::Model& model);

// Rejects locations that could leave `base_dir` (absolute paths, "..", symlinks out).
Result<std::string> ResolveExternalLocation(const std::string& base_dir, const std::string& location);

}  // namespace graphopt
