// graphopt.test::Abort (opset 1): a kernel that calls std::abort(), the crashing kernel the
// server's isolation tests need. It exists only in a process started with
// GRAPHOPT_TEST_ABORT_OP=1 in its environment (graphopt-server's hidden --debug-abort-op sets it
// for its job workers); otherwise the op has no kernel, so no uploaded model can reach it.
#include <cstdlib>
#include <cstring>

#include "backends/reference/kernel.h"

namespace graphopt::reference {
namespace {

Status AbortKernel(KernelContext&) { std::abort(); }

const bool kRegistered = [] {
  const char* enabled = std::getenv("GRAPHOPT_TEST_ABORT_OP");
  if (enabled == nullptr || std::strcmp(enabled, "1") != 0) return false;
  KernelRegistry::Get().Register({"graphopt.test", "Abort", 1, 1, AbortKernel});
  return true;
}();

}  // namespace
}  // namespace graphopt::reference
