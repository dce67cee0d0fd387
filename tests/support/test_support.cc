#include "support/test_support.h"

#include <onnx/onnx_pb.h>

#include "optimizer/evaluator.h"
#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"

#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace graphopt::testing {

namespace fs = std::filesystem;

std::string SharedDir() { return GRAPHOPT_SHARED_DIR; }
std::string SharedModel(const std::string& file) { return SharedDir() + "/models/" + file; }
std::string CliPath() { return GRAPHOPT_CLI; }

namespace {
struct TempRoot {
  std::string path;
  TempRoot() {
    std::string tmpl = (fs::temp_directory_path() / "graphopt-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};
}  // namespace

std::string TempDir() {
  static TempRoot root;
  static int counter = 0;
  std::string dir = root.path + "/" + std::to_string(counter++);
  fs::create_directories(dir);
  return dir;
}

ModelBuilder::ModelBuilder(int64_t opset) : model_(std::make_unique<ir::Model>()) {
  model_->ir_version = 8;
  model_->opset_imports.push_back({"", opset});
  model_->producer_name = "graphopt-tests";
  model_->graph = std::make_unique<ir::Graph>();
  model_->graph->name = "test";
}

ir::Value* ModelBuilder::Input(const std::string& name, DataType type, const Shape& shape) {
  return model_->graph->AddInput(name, ir::ValueType::FromShape(type, shape));
}

ir::Value* ModelBuilder::InputSymbolic(const std::string& name, DataType type,
                                       const std::vector<ir::Dim>& dims) {
  ir::ValueType vt;
  vt.elem_type = type;
  vt.shape = dims;
  return model_->graph->AddInput(name, vt);
}

ir::Value* ModelBuilder::Init(const std::string& name, Tensor t) {
  return model_->graph->AddInitializer(name, std::move(t));
}

ir::Value* ModelBuilder::Floats(const std::string& name, const Shape& shape,
                                const std::vector<float>& v) {
  return Init(name, Tensor::FromVector<float>(DataType::kFloat, shape, v));
}

ir::Value* ModelBuilder::Ints(const std::string& name, const std::vector<int64_t>& v) {
  return Init(name, Tensor::Int64s(v));
}

ir::Value* ModelBuilder::Op(const std::string& op, const std::vector<ir::Value*>& inputs,
                            const std::string& domain) {
  last_ = model_->graph->AddNode(op, inputs, 1, op, domain);
  return last_->output(0);
}

void ModelBuilder::Output(ir::Value* v) { model_->graph->AddOutput(v); }

std::unique_ptr<ir::Model> ModelBuilder::Build() { return std::move(model_); }

std::string TwoReluModelBytes(const std::string& a_input, const std::string& b_input,
                              bool reversed) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x");
  in->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  for (const auto& [name, input] : {std::pair{"a", a_input}, std::pair{"b", b_input}}) {
    auto* n = g->add_node();
    n->set_name(name);
    n->set_op_type("Relu");
    n->add_input(input);
    n->add_output(name);
  }
  if (reversed) g->mutable_node()->SwapElements(0, 1);
  g->add_output()->set_name("b");
  return m.SerializeAsString();
}

int64_t CountOp(const ir::Model& m, const std::string& op) {
  auto ops = ir::CountOps(*m.graph);
  return ops.count(op) ? ops.at(op) : 0;
}

ir::Node* AddIfReading(ModelBuilder& b, ir::Value* cond, ir::Value* captured) {
  ir::Node* if_node = b.graph().AddNode("If", {cond}, 1, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::kGraph;
    a.g = std::make_unique<ir::Graph>(&b.graph(), if_node);
    a.g->name = branch;
    ir::Value* ref = a.g->OuterRef(captured->name());
    ir::Node* op = a.g->AddNode(std::string(branch) == "then_branch" ? "Relu" : "Neg", {ref}, 1);
    op->output(0)->type() = ir::ValueType::FromShape(DataType::kFloat, {2});
    a.g->AddOutput(op->output(0));
    if_node->mutable_attributes().push_back(std::move(a));
  }
  if_node->AddImplicitInput(captured);
  if_node->output(0)->type() = ir::ValueType::FromShape(DataType::kFloat, {2});
  return if_node;
}

std::string CompareOutputs(const ir::Model& a, const ir::Model& b,
                           const std::map<std::string, int64_t>& dims) {
  auto evaluator = MakeReferenceEvaluator();
  VerifyOptions options;
  options.dims = dims;
  auto result = evaluator->Verify(a, b, options);
  if (!result.ok()) return "verification could not run: " + result.status().ToString();
  if (result->passed) return "";
  std::string why = result->message;
  for (const auto& o : result->outputs) {
    if (!o.match) why += " [" + o.name + ": abs " + std::to_string(o.max_abs_err) + " " + o.detail + "]";
  }
  return why.empty() ? "outputs differ" : why;
}

const std::vector<std::string>& SharedModelFiles() {
  static const std::vector<std::string> files = {
      "resnet18.raw.onnx",        "squeezenet1_1.raw.onnx", "mobilenet_v2.raw.onnx",
      "mobilenet_v3_small.raw.onnx", "efficientnet_b0.raw.onnx", "vit_small.raw.onnx",
      "text_encoder.raw.onnx",    "text_encoder.onnx"};
  return files;
}

std::string ModelParamName(const std::string& file) {
  std::string n = file.substr(0, file.find(".onnx"));
  for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return n;
}

std::string SharedModelWithSignal(const std::string& file) {
  static const std::map<std::string, std::string> kInnerOutputs = {
      {"vit_small.raw.onnx", "/encoder/ln/Add_1_output_0"}};
  const std::string path = SharedModel(file);
  auto inner = kInnerOutputs.find(file);
  if (inner == kInnerOutputs.end()) return path;
  // Falling back to the file would check nothing: fail the test instead.
  auto model = LoadModel(path);
  if (!model.ok()) throw std::runtime_error(model.status().ToString());
  ir::Value* value = (*model)->graph->FindValue(inner->second);
  if (value == nullptr) throw std::runtime_error(file + " has no value " + inner->second);
  (void)ir::InferShapes(**model);  // a graph output needs its type
  (*model)->graph->AddOutput(value);
  const std::string copy = TempDir() + "/" + file;
  auto saved = SaveModel(**model, copy);
  if (!saved.ok()) throw std::runtime_error(saved.status().ToString());
  return copy;
}

Tensor RandomFloats(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(NumElements(shape)));
  for (float& x : v) x = dist(rng);
  return Tensor::FromVector<float>(DataType::kFloat, shape, v);
}

int RunCommand(const std::string& cmd, std::string* out, std::string* err) {
  const std::string dir = TempDir();
  const std::string out_file = dir + "/stdout", err_file = dir + "/stderr";
  const int rc = std::system((cmd + " >" + out_file + " 2>" + err_file).c_str());
  auto slurp = [](const std::string& f) {
    std::ifstream in(f);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  if (out) *out = slurp(out_file);
  if (err) *err = slurp(err_file);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

}  // namespace graphopt::testing
