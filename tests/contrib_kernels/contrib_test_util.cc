#include "contrib_kernels/contrib_test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backends/reference/executor.h"

namespace graphopt::testing {

std::vector<Tensor> RunModel(const ir::Model& model, const std::map<std::string, Tensor>& inputs) {
  reference::Executor executor(model);
  auto result = executor.Run(inputs);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  if (!result.ok()) return {};
  return std::move(result).value();
}

std::string RunError(const ir::Model& model, const std::map<std::string, Tensor>& inputs) {
  reference::Executor executor(model);
  auto result = executor.Run(inputs);
  return result.ok() ? "" : result.status().ToString();
}

double MaxAbsDiff(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype()) {
    return std::numeric_limits<double>::infinity();
  }
  double worst = 0;
  for (int64_t i = 0; i < a.size(); ++i)
    worst = std::max(worst, std::abs(a.GetDouble(i) - b.GetDouble(i)));
  return worst;
}

}  // namespace graphopt::testing
