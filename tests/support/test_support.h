// Helpers shared by the tests: tiny models built in code, shared data paths, running the CLI.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "optimizer/ir/graph.h"

namespace graphopt::testing {

// ../shared beside the project's root, and the built `graphopt` binary.
std::string SharedDir();
std::string SharedModel(const std::string& file);
std::string CliPath();
// A fresh temporary directory, removed at process exit.
std::string TempDir();

// Builds a small model in code:
//   ModelBuilder b(13);
//   auto* x = b.Input("x", DataType::kFloat, {1, 3});
//   auto* w = b.Init("w", Tensor::FromVector<float>(DataType::kFloat, {3}, {1, 2, 3}));
//   auto* y = b.Op("Add", {x, w});
//   b.Output(y);
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 17);
  ir::Value* Input(const std::string& name, DataType type, const Shape& shape);
  // Input with symbolic dims: use -1 for a dim named by `params[i]`.
  ir::Value* InputSymbolic(const std::string& name, DataType type,
                           const std::vector<ir::Dim>& dims);
  ir::Value* Init(const std::string& name, Tensor t);
  ir::Value* Floats(const std::string& name, const Shape& shape, const std::vector<float>& v);
  ir::Value* Ints(const std::string& name, const std::vector<int64_t>& v);
  // Adds a node with one output and returns it; `attrs` are set afterwards via the node.
  ir::Value* Op(const std::string& op, const std::vector<ir::Value*>& inputs,
                const std::string& domain = "");
  ir::Node* LastNode() const { return last_; }
  void Output(ir::Value* v);
  ir::Graph& graph() { return *model_->graph; }
  ir::Model& model() { return *model_; }
  std::unique_ptr<ir::Model> Build();

 private:
  std::unique_ptr<ir::Model> model_;
  ir::Node* last_ = nullptr;
};

// A serialized model x -> Relu "a" (reads `a_input`) -> Relu "b" (reads `b_input`) -> output
// "b": pass "x","a" for a valid model, "b","a" for a cycle, "x","ghost" for a dangling input.
// With `reversed` the two nodes are stored in the wrong order.
std::string TwoReluModelBytes(const std::string& a_input, const std::string& b_input,
                              bool reversed = false);

// How many nodes of `op` (default domain; "domain.Op" otherwise) the top-level graph holds.
int64_t CountOp(const ir::Model& m, const std::string& op);

// Adds If(cond) whose two branches (Relu / Neg) read `captured` from the enclosing graph, and
// returns the If node. Its output is float[2], like `captured`.
ir::Node* AddIfReading(ModelBuilder& b, ir::Value* cond, ir::Value* captured);

// Runs both models on the reference executor with the same inputs; empty string when every
// output matches within the default tolerances, else what differs.
std::string CompareOutputs(const ir::Model& a, const ir::Model& b,
                           const std::map<std::string, int64_t>& dims = {});

// Every model file in ../shared/models, and a gtest-safe parameter name for one
// ("text_encoder.raw.onnx" -> "text_encoder_raw").
const std::vector<std::string>& SharedModelFiles();
std::string ModelParamName(const std::string& file);

// The shared model `file` to check outputs on: the file itself, or, where its own outputs carry
// no signal, a copy (in a temporary folder) that also outputs an inner value that does.
// vit_small's classifier head is zero-initialized (torchvision does so), so its logits are all
// zero whatever the encoder computes; its copy also outputs the encoder's final LayerNorm.
std::string SharedModelWithSignal(const std::string& file);

// Deterministic float tensor with values in [-1, 1].
Tensor RandomFloats(const Shape& shape, uint64_t seed = 1);

// Runs a shell command; returns its exit code and fills stdout/stderr.
int RunCommand(const std::string& cmd, std::string* out = nullptr, std::string* err = nullptr);

}  // namespace graphopt::testing
