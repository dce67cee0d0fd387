// Reduces a failing model to a minimal reproducer for `graphopt fuzz`: deletes nodes, cuts the
// graph above a node (its output becomes a graph input), reconnects a node's readers to one of
// its inputs, keeps one output, turns initializers into inputs, while the failure persists.
#pragma once

#include <functional>
#include <string>

namespace graphopt::fuzz {

// True when the candidate (a serialized ModelProto) still fails the way the original did. It
// must also say false for a candidate that is not a valid model.
using StillFails = std::function<bool(const std::string& model_bytes)>;

struct ShrinkResult {
  std::string model_bytes;
  int attempts = 0;  // candidates tried
  int accepted = 0;  // candidates that still failed (each made the model smaller)
};

// Greedy: tries every edit of the current model, keeps the first that still fails, and starts
// again until no edit does or `max_attempts` candidates were tried. Values carry the types
// recorded in the model (value_info, from shape inference), so cuts and reconnections keep the
// model typed; a reconnection is tried only between values of the same type.
ShrinkResult Shrink(const std::string& model_bytes, const StillFails& still_fails,
                    int max_attempts = 400);

}  // namespace graphopt::fuzz
