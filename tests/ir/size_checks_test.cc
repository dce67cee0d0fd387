// Element counts never wrap: a shape too large to count is refused with the node's name, in the
// loader's checks, in the executor, and in the pipeline before any folding.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <fstream>

#include "optimizer/io/model_io.h"
#include "optimizer/ir/shape_inference.h"
#include "optimizer/ir/size_checks.h"
#include "optimizer/ir/tensor.h"
#include "optimizer/pipeline.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

constexpr int64_t k2To32 = int64_t{1} << 32;

TEST(ElementCount, OverflowThrowsInsteadOfWrapping) {
  EXPECT_EQ(NumElements({}), 1);
  EXPECT_EQ(NumElements({3, 4}), 12);
  EXPECT_EQ(NumElements({k2To32, 0, k2To32}), 0);  // a zero dim empties it, however large the rest
  EXPECT_EQ(NumElements({k2To32, k2To32 / 2 - 1}), k2To32 * (k2To32 / 2 - 1));
  // 2^32 * 2^32 = 2^64 wrapped to 0 before.
  EXPECT_THROW(NumElements({k2To32, k2To32}), ElementCountOverflow);
  EXPECT_THROW(Tensor(DataType::kFloat, Shape{k2To32, k2To32}), ElementCountOverflow);

  int64_t bytes = 0;
  EXPECT_TRUE(ElementCountFits({2, 3}, 4, &bytes));
  EXPECT_EQ(bytes, 24);
  EXPECT_FALSE(ElementCountFits({k2To32, k2To32}, 1));
  // The count fits but its bytes do not: 2^62 floats.
  EXPECT_FALSE(ElementCountFits({int64_t{1} << 62}, 4));
}

// ConstantOfShape([2^32, 2^32]) -> ReduceSum -> Add(x): folding once made it a constant 0.
std::string WriteOverflowModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("bomb");
  auto* shape = g->add_initializer();
  shape->set_name("shape");
  shape->set_data_type(onnx::TensorProto::INT64);
  shape->add_dims(2);
  shape->add_int64_data(k2To32);
  shape->add_int64_data(k2To32);
  auto* fill = g->add_node();
  fill->set_name("huge");
  fill->set_op_type("ConstantOfShape");
  fill->add_input("shape");
  fill->add_output("c");
  auto* reduce = g->add_node();
  reduce->set_name("sum");
  reduce->set_op_type("ReduceSum");
  reduce->add_input("c");
  reduce->add_output("s");
  auto* keep = reduce->add_attribute();
  keep->set_name("keepdims");
  keep->set_type(onnx::AttributeProto::INT);
  keep->set_i(0);
  auto* add = g->add_node();
  add->set_name("add");
  add->set_op_type("Add");
  add->add_input("s");
  add->add_input("x");
  add->add_output("y");
  for (auto* v : {g->add_input(), g->add_output()}) {
    v->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
    v->mutable_type()->mutable_tensor_type()->mutable_shape();
  }
  g->mutable_input(0)->set_name("x");
  g->mutable_output(0)->set_name("y");
  const std::string path = testing::TempDir() + "/overflow.onnx";
  std::ofstream f(path, std::ios::binary);
  m.SerializeToOstream(&f);
  return path;
}

TEST(SizeChecks, InferredShapeTooLargeToCountIsRefusedNamingTheNode) {
  auto model = LoadModel(WriteOverflowModel());
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  (void)ir::InferShapes(**model);
  Status st = ir::CheckValueSizes(*(*model)->graph);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("node 'huge' (ConstantOfShape)"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("[4294967296,4294967296]"), std::string::npos) << st.message();
}

TEST(SizeChecks, PipelineRefusesTheModelInsteadOfFoldingItToZero) {
  PipelineOptions options;
  options.level = Level::kBasic;
  auto report = OptimizeFile(WriteOverflowModel(), testing::TempDir() + "/out.onnx", options);
  ASSERT_FALSE(report.ok()) << "the model was optimized: " << report->verification_status;
  EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(report.status().message().find("overflows int64"), std::string::npos)
      << report.status().message();
}

TEST(SizeChecks, ExecutorRefusesTheNodeAtRunTime) {
  std::string out, err;
  const int rc = testing::RunCommand(testing::CliPath() + " run " + WriteOverflowModel(), &out, &err);
  EXPECT_EQ(rc, 2) << out << err;
  EXPECT_NE(err.find("'huge'"), std::string::npos) << err;
  EXPECT_NE(err.find("overflows int64"), std::string::npos) << err;
}

}  // namespace
}  // namespace graphopt
