// Hostile models, built as ONNX protos in the tests themselves: each is small and valid to the
// ONNX checker, and each would take a server down if a job could not be bounded or isolated.
#pragma once

#include <cstdint>
#include <string>

namespace graphopt::testing {

// y = Loop(trip_count, true, x) whose body adds 1 to x: `trip_count` = 10^12 never ends.
std::string EndlessLoopModelBytes(int64_t trip_count = 1000000000000);
// y = ReduceSum(ConstantOfShape([side, side]) + x): side 32768 allocates 4 GiB of floats.
std::string MemoryBombModelBytes(int64_t side = 32768);
// y = graphopt.test::Abort(Relu(x)): the test-only operator whose kernel calls std::abort()
// (a worker has it only under --debug-abort-op).
std::string AbortingModelBytes();

// Invalid models the loader refuses up front (util/onnx_check.h), each with its reason:
// y = Add(x: float[2], n: int64[2]), operands of different element types.
std::string WrongElementTypeModelBytes();
// y = Reshape(x: float[2,3], [7]): 6 elements cannot become 7.
std::string ImpossibleReshapeModelBytes();
// y = Relu(x) importing the default domain at `opset` (99: newer than graphopt supports).
std::string ReluModelBytes(int64_t opset);
// y = ReduceMean(x, axes=[1]) at opset 18, where axes became an input: valid, though ONNX 1.12
// (opsets up to 17) knows only the attribute form.
std::string ReduceMeanOpset18ModelBytes();
// If nodes nested `depth` levels deep (each then_branch holds the next If; the innermost one
// is Identity(x)), y float[2].
std::string NestedIfModelBytes(int depth);
// y = Add(x: float[2], w) where w is 2 floats in the external data file `location`.
std::string ExternalWeightModelBytes(const std::string& location);

}  // namespace graphopt::testing
