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

}  // namespace graphopt::testing
