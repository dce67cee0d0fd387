// Values for the symbolic dims of a model's inputs, so that verification runs whatever the
// model leaves open: two different assignments of every free symbol, so that a rewrite that
// froze a shape to one sample is caught by the other. And values of the integer inputs that
// decide an If, so that both of its branches are verified.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"
#include "optimizer/util/status.h"
#include "optimizer/verify_options.h"

namespace graphopt {

using DimAssignment = std::map<std::string, int64_t>;
// Graph input name -> the value it holds everywhere in one verification run.
using IntAssignment = std::map<std::string, int64_t>;

// One verification run: symbolic dim values, and the integer inputs set to one value (the
// others are drawn at random).
struct VerificationSample {
  DimAssignment dims;
  IntAssignment ints;
};

// Assignments of every symbol of `model`'s input shapes: `fixed` (--dim) and `overrides`
// (--verify-dim) hold in each; the other symbols take two different sample values chosen from
// their names (batch 1 and 3, sequence lengths 16 and 7, image sides 64 and 96) or their
// position (a spatial axis of a 4-D input) or small defaults (2 and 5). One assignment when
// nothing is free.
std::vector<DimAssignment> SampleDimAssignments(const ir::Model& model, const DimAssignment& fixed,
                                                const DimAssignment& overrides);

// Integer-input assignments that run both branches of every derived If of `ifs`: per input,
// the then and else values of each If that reads it (in order, without repeats); assignment k
// takes each input's k-th value, or its first when it has fewer. `overrides` (--verify-int) hold
// in every assignment; an If whose input is overridden is marked as verified on one branch.
// One empty assignment when no If was derived.
std::vector<IntAssignment> SampleIntAssignments(std::vector<IfBranchCoverage>* ifs,
                                                const IntAssignment& overrides);

// Every verification run of `model`: each dims assignment (SampleDimAssignments) with each
// integer assignment (SampleIntAssignments over the model's Ifs, which `ifs` receives).
std::vector<VerificationSample> VerificationSamples(const ir::Model& model,
                                                    const DimAssignment& fixed,
                                                    const DimAssignment& dim_overrides,
                                                    const IntAssignment& int_overrides,
                                                    std::vector<IfBranchCoverage>* ifs);

// kInvalidArgument when a name of `ints` (--verify-int) is no integer or bool input of the
// model (listing those it has), or its value does not fit the input's type.
Status CheckVerifyInts(const ir::Model& model, const IntAssignment& ints);

// kInvalidArgument when a name of `dims` (--dim) is no symbolic dim of the model's inputs,
// listing the model's symbolic dims (the CLI's usage error, the server's CreateJob refusal).
Status CheckDimNames(const ir::Model& model, const std::map<std::string, int64_t>& dims);
// The same for a serialized model (the server's upload). A model that does not parse here is
// not refused: the job reports why when it runs.
Status CheckDimNamesInModelBytes(const std::string& bytes, const std::map<std::string, int64_t>& dims);

// "batch=1,seq=16" ("static" when empty).
std::string AssignmentToString(const DimAssignment& a);
// "batch=1,seq=16 sr=8000": the dims, then the integer inputs when any.
std::string SampleToString(const VerificationSample& s);

}  // namespace graphopt
