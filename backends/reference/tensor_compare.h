// Element-wise comparison of two tensors with float tolerances (exact for integers and bool),
// shared by verification and the conformance runner.
#pragma once

#include "optimizer/evaluator.h"
#include "optimizer/ir/tensor.h"

namespace graphopt::reference {

// Compares `actual` against `expected`: floats pass when |a-b| <= atol + rtol*|b| and NaN/Inf
// sit in the same places; integers, bool and strings must be equal. Shape or dtype differences
// fail with a detail. `name` is copied into the result.
OutputComparison CompareTensors(const std::string& name, const Tensor& actual,
                                const Tensor& expected, double atol, double rtol);

}  // namespace graphopt::reference
