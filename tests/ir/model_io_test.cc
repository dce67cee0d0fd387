// Model I/O: loading the shared models, round trips, external data and its safety rules.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/onnx_convert.h"
#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

namespace fs = std::filesystem;
using testing::SharedModel;
using testing::TempDir;

std::map<std::string, std::string> InitializerBytes(const ir::Model& m) {
  std::map<std::string, std::string> out;
  for (ir::Value* v : m.graph->initializers()) out[v->name()] = v->initializer()->bytes();
  return out;
}

TEST(ModelIo, LoadsResnet18WithItsStructure) {
  auto model = LoadModel(SharedModel("resnet18.raw.onnx"));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  const ir::Graph& g = *(*model)->graph;
  EXPECT_EQ(g.num_nodes(), 141u);
  ASSERT_EQ(g.inputs().size(), 1u);
  EXPECT_EQ(g.inputs()[0]->name(), "input");
  EXPECT_EQ(g.inputs()[0]->elem_type(), DataType::kFloat);
  EXPECT_EQ(ir::CountOps(g).at("Identity"), 72);
  EXPECT_EQ((*model)->OpsetVersion(""), 14);
}

TEST(ModelIo, SaveAndLoadRoundTripsBytes) {
  auto model = LoadModel(SharedModel("squeezenet1_1.raw.onnx"));
  ASSERT_TRUE(model.ok());
  const auto before = InitializerBytes(**model);
  auto serialized_once = SerializeModel(**model);
  ASSERT_TRUE(serialized_once.ok());
  // Saving lends the bytes to protobuf and takes them back: the IR still holds them.
  EXPECT_EQ(InitializerBytes(**model), before);

  const std::string path = TempDir() + "/m.onnx";
  ASSERT_TRUE(SaveModel(**model, path).ok());
  auto again = LoadModel(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(InitializerBytes(**again), before);
  auto serialized_twice = SerializeModel(**again);
  ASSERT_TRUE(serialized_twice.ok());
  EXPECT_EQ(*serialized_once, *serialized_twice);
}

TEST(ModelIo, ExternalDataRoundTripsIdentically) {
  auto model = LoadModel(SharedModel("mobilenet_v3_small.raw.onnx"));
  ASSERT_TRUE(model.ok());
  auto inline_bytes = SerializeModel(**model);
  ASSERT_TRUE(inline_bytes.ok());

  const std::string dir = TempDir();
  SaveOptions options;
  options.external_data = true;
  ASSERT_TRUE(SaveModel(**model, dir + "/split.onnx", options).ok());
  ASSERT_TRUE(fs::exists(dir + "/split.onnx.data"));
  EXPECT_LT(fs::file_size(dir + "/split.onnx"), fs::file_size(dir + "/split.onnx.data"));

  auto reloaded = LoadModel(dir + "/split.onnx");
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  auto reloaded_bytes = SerializeModel(**reloaded);
  ASSERT_TRUE(reloaded_bytes.ok());
  EXPECT_EQ(*inline_bytes, *reloaded_bytes);

  // Saved inline again, the stale side file is removed and the model is whole.
  ASSERT_TRUE(SaveModel(**reloaded, dir + "/split.onnx").ok());
  EXPECT_FALSE(fs::exists(dir + "/split.onnx.data"));
}

// Writes a one-initializer model whose tensor lives at `location`.
std::string WriteModelWithExternalLocation(const std::string& dir, const std::string& location) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* t = g->add_initializer();
  t->set_name("w");
  t->set_data_type(onnx::TensorProto::FLOAT);
  t->add_dims(2);
  t->set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = t->add_external_data();
  e->set_key("location");
  e->set_value(location);
  auto* n = g->add_node();
  n->set_op_type("Identity");
  n->add_input("w");
  n->add_output("y");
  auto* out = g->add_output();
  out->set_name("y");
  out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
  const std::string path = dir + "/model.onnx";
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

TEST(ModelIo, ExternalDataOutsideTheModelFolderIsRefused) {
  const std::string root = TempDir();
  fs::create_directories(root + "/model");
  {
    std::ofstream secret(root + "/secret.bin", std::ios::binary);
    secret << std::string(8, 'x');
  }
  for (const std::string& loc :
       std::vector<std::string>{"../secret.bin", root + "/secret.bin", "a/../../secret.bin"}) {
    auto model = LoadModel(WriteModelWithExternalLocation(root + "/model", loc));
    ASSERT_FALSE(model.ok()) << loc;
    EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << loc;
    EXPECT_NE(model.status().message().find("external data location"), std::string::npos)
        << model.status().message();
  }
  // A symlink pointing out of the folder is refused too.
  fs::create_symlink(root + "/secret.bin", root + "/model/link.bin");
  auto linked = LoadModel(WriteModelWithExternalLocation(root + "/model", "link.bin"));
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.status().code(), StatusCode::kInvalidArgument);
  // Inside the folder it loads.
  {
    std::ofstream ok(root + "/model/w.bin", std::ios::binary);
    const float w[2] = {1.5f, -2.0f};
    ok.write(reinterpret_cast<const char*>(w), sizeof(w));
  }
  auto good = LoadModel(WriteModelWithExternalLocation(root + "/model", "w.bin"));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  const Tensor* w = (*good)->graph->FindValue("w")->initializer();
  EXPECT_EQ(w->data<float>()[1], -2.0f);
}

TEST(ModelIo, RejectsGarbageAndTruncatedFiles) {
  const std::string dir = TempDir();
  {
    std::ofstream f(dir + "/text.onnx");
    f << "this is not a model";
  }
  auto text = LoadModel(dir + "/text.onnx");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);

  std::ifstream in(SharedModel("squeezenet1_1.raw.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  {
    std::ofstream f(dir + "/half.onnx", std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto half = LoadModel(dir + "/half.onnx");
  ASSERT_FALSE(half.ok());
  EXPECT_EQ(half.status().code(), StatusCode::kInvalidArgument);

  auto missing = LoadModel(dir + "/nope.onnx");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace graphopt
