// Values for the symbolic dims of a model's inputs, so that verification runs whatever the
// model leaves open: two different assignments of every free symbol, so that a rewrite that
// froze a shape to one sample is caught by the other.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/util/status.h"

namespace graphopt {

using DimAssignment = std::map<std::string, int64_t>;

// Assignments of every symbol of `model`'s input shapes: `fixed` (--dim) and `overrides`
// (--verify-dim) hold in each; the other symbols take two different sample values chosen from
// their names (batch 1 and 3, sequence lengths 16 and 7, image sides 64 and 96) or their
// position (a spatial axis of a 4-D input) or small defaults (2 and 5). One assignment when
// nothing is free.
std::vector<DimAssignment> SampleDimAssignments(const ir::Model& model, const DimAssignment& fixed,
                                                const DimAssignment& overrides);

// kInvalidArgument when a name of `dims` (--dim) is no symbolic dim of the model's inputs,
// listing the model's symbolic dims (the CLI's usage error, the server's CreateJob refusal).
Status CheckDimNames(const ir::Model& model, const std::map<std::string, int64_t>& dims);
// The same for a serialized model (the server's upload). A model that does not parse here is
// not refused: the job reports why when it runs.
Status CheckDimNamesInModelBytes(const std::string& bytes, const std::map<std::string, int64_t>& dims);

// "batch=1,seq=16".
std::string AssignmentToString(const DimAssignment& a);

}  // namespace graphopt
