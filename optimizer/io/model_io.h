// Reading and writing .onnx files, including tensors stored as external data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "optimizer/ir/graph.h"

namespace graphopt {

struct SaveOptions {
  // Store large initializers in a side file even when the model would fit inline.
  bool external_data = false;
  // Initializers at least this large go to the side file when external data is used.
  int64_t external_threshold_bytes = 1024;
  // protobuf cannot serialize a message over 2 GiB; past this the side file is used regardless.
  int64_t inline_limit_bytes = (int64_t{2} << 30) - (int64_t{64} << 20);
};

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
