#include "support/ort_parity.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "backends/reference/executor.h"
#include "optimizer/io/model_io.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

namespace fs = std::filesystem;

std::string OrtNodePath() {
  const char* home = std::getenv("HOME");
  const std::string dir = std::string(home ? home : "/root") + "/.cache/graphopt-ort/node_modules";
  return fs::exists(dir + "/onnxruntime-node") ? dir : "";
}

nlohmann::json TensorJson(const Tensor& t) {
  nlohmann::json j;
  j["type"] = t.dtype() == DataType::kInt32   ? "int32"
              : t.dtype() == DataType::kInt64 ? "int64"
              : t.dtype() == DataType::kUint8 ? "uint8"
              : t.dtype() == DataType::kInt8  ? "int8"
                                              : "float32";
  j["dims"] = t.shape();
  std::vector<double> data;
  for (int64_t i = 0; i < t.size(); ++i) data.push_back(t.GetDouble(i));
  j["data"] = data;
  return j;
}

// tests/contrib_kernels/ort_run.js. __FILE__ may be relative to the build folder (Ninja with
// ccache's base_dir); ctest runs the tests from elsewhere.
std::string OrtRunScript() {
  fs::path here(__FILE__);
  if (here.is_relative()) here = fs::path(GRAPHOPT_BINARY_DIR) / here;
  return (here.parent_path().parent_path() / "contrib_kernels" / "ort_run.js").string();
}

}  // namespace

void ExpectOrtParity(ir::Model& model, const std::map<std::string, Tensor>& inputs,
                     double tolerance, int64_t integer_steps) {
  const std::string node_path = OrtNodePath();
  if (node_path.empty() || RunCommand("node --version >/dev/null") != 0) {
    GTEST_SKIP() << "ONNX Runtime not installed";
  }
  reference::Executor executor(model);
  auto run = executor.Run(inputs);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  const std::vector<Tensor>& ours = *run;
  ASSERT_EQ(ours.size(), model.graph->outputs().size());
  for (size_t i = 0; i < ours.size(); ++i) {
    model.graph->outputs()[i]->type() = ir::ValueType::FromShape(ours[i].dtype(), ours[i].shape());
  }
  const std::string dir = TempDir();
  ASSERT_TRUE(SaveModel(model, dir + "/model.onnx").ok());
  nlohmann::json in;
  for (const auto& [name, t] : inputs) in[name] = TensorJson(t);
  std::ofstream(dir + "/inputs.json") << in.dump();
  std::string out, err;
  ASSERT_EQ(RunCommand("NODE_PATH=" + node_path + " node " + OrtRunScript() + " " + dir +
                           "/model.onnx " + dir + "/inputs.json " + dir + "/outputs.json",
                       &out, &err),
            0)
      << err;
  std::ifstream f(dir + "/outputs.json");
  const nlohmann::json result = nlohmann::json::parse(f);
  ASSERT_FALSE(result.contains("error")) << result["error"].get<std::string>();
  for (size_t i = 0; i < ours.size(); ++i) {
    const std::string& name = model.graph->outputs()[i]->name();
    SCOPED_TRACE(name);
    ASSERT_TRUE(result.contains(name));
    const nlohmann::json& r = result[name];
    EXPECT_EQ(r["dims"].get<Shape>(), ours[i].shape());
    const std::vector<double> theirs = r["data"].get<std::vector<double>>();
    ASSERT_EQ(static_cast<int64_t>(theirs.size()), ours[i].size());
    if (IsInteger(ours[i].dtype())) {
      double worst = 0;
      int64_t differing = 0;
      for (int64_t k = 0; k < ours[i].size(); ++k) {
        const double d = std::abs(ours[i].GetDouble(k) - theirs[static_cast<size_t>(k)]);
        worst = std::max(worst, d);
        differing += d != 0;
      }
      EXPECT_LE(worst, static_cast<double>(integer_steps));
      EXPECT_LE(differing * 100, ours[i].size()) << differing << " elements differ";
      continue;
    }
    double worst = 0;
    for (int64_t k = 0; k < ours[i].size(); ++k) {
      const double a = ours[i].GetDouble(k), b = theirs[static_cast<size_t>(k)];
      worst = std::max(worst, std::abs(a - b) / (1.0 + std::abs(b)));
    }
    EXPECT_LE(worst, tolerance);
  }
}

}  // namespace graphopt::testing
