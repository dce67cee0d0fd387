// ServerE2eTest helpers.
#include "server/e2e_fixture.h"

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"

namespace graphopt::testing {

std::string ServerE2eTest::WriteTinyModel(const std::string& name, int seed) {
  ModelBuilder b(17);
  auto* x = b.Input("x", DataType::kFloat, {1, 4});
  auto* c = b.Floats("c", {4}, {0.5f * seed, 1.0f, -1.0f, 2.0f});
  auto* two = b.Floats("two", {1}, {2.0f});
  auto* sum = b.Op("Add", {x, c});
  auto* same = b.Op("Identity", {sum});
  auto* scaled = b.Op("Mul", {same, two});
  b.Output(b.Op("Relu", {scaled}));
  auto model = b.Build();
  // Typed outputs, as exporters write them (the ONNX checker behind UploadModel requires them).
  EXPECT_TRUE(ir::InferShapes(*model).ok());
  std::string path = root_ + "/" + name;
  auto saved = SaveModel(*model, path);
  EXPECT_TRUE(saved.ok()) << saved.status().ToString();
  return path;
}

graphopt::v1::CreateJobRequest ServerE2eTest::JobRequest(const std::string& digest,
                                                         const std::string& level, bool fresh) {
  graphopt::v1::CreateJobRequest request;
  request.set_model_digest(digest);
  graphopt::v1::Level value = graphopt::v1::LEVEL_BASIC;
  if (level == "disabled") value = graphopt::v1::LEVEL_DISABLED;
  if (level == "extended") value = graphopt::v1::LEVEL_EXTENDED;
  request.mutable_options()->set_level(value);
  request.set_fresh(fresh);
  return request;
}

}  // namespace graphopt::testing
