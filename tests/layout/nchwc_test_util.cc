#include "layout/nchwc_test_util.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/reference/executor.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/nchwc_layout.h"

namespace graphopt::testing {

int64_t HostNchwcBlockSize() {
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_cpu_supports("avx512f") ? 16 : 8;
#else
  return 0;
#endif
}

ModelBuilder NchwcBuilder(int64_t block, int64_t opset) {
  ModelBuilder b(opset);
  b.model().opset_imports.push_back({kNchwc, 1});
  b.model().SetMetadata(ir::kNchwcBlockSizeKey, std::to_string(block));
  return b;
}

ir::Node* AddNchwc(ModelBuilder& b, const std::string& op, const std::vector<ir::Value*>& inputs) {
  return b.graph().AddNode(op, inputs, 1, op, kNchwc);
}

std::vector<Tensor> RunReference(const ir::Model& model,
                                 const std::map<std::string, Tensor>& inputs) {
  reference::Executor executor(model);
  auto out = executor.Run(inputs);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? *out : std::vector<Tensor>{};
}

}  // namespace graphopt::testing
