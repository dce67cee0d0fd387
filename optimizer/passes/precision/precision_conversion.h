// The conversions behind --quantize and --precision: which exist, whether a target takes them,
// and running them on a model after the level's passes.
#pragma once

#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/pass/pass_stats.h"
#include "optimizer/target.h"

namespace graphopt {

// INVALID_ARGUMENT with the reason when `quantize` or `precision` is unknown, the target does
// not declare the precision, or both are asked at once.
Status CheckConversions(const std::string& quantize, const std::string& precision,
                        const TargetProfile& target);

// Runs the requested conversions (CheckConversions first); none requested: nothing changes.
Result<std::vector<ConversionStats>> ApplyConversions(ir::Model& model, const std::string& quantize,
                                                      const std::string& precision,
                                                      const TargetProfile& target);

}  // namespace graphopt
