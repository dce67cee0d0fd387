// Executor tests: freeing after last use, missing-kernel and memory-cap errors, and subgraphs
// (If, Loop, Scan) reading values of the enclosing scope.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "backends/reference/executor.h"
#include "optimizer/io/model_io.h"
#include "support/test_support.h"

namespace graphopt::reference {
namespace {

using testing::ModelBuilder;

std::vector<float> Floats(const Tensor& t) {
  return std::vector<float>(t.data<float>(), t.data<float>() + t.size());
}

TEST(Executor, ChainPeakMemoryStaysNearLargestLiveSet) {
  // 20 Transposes of a 256x256 float matrix: each produces a fresh 256 KiB buffer.
  ModelBuilder b(17);
  ir::Value* v = b.Input("x", DataType::kFloat, {256, 256});
  for (int i = 0; i < 20; ++i) v = b.Op("Transpose", {v});
  b.Output(v);
  auto model = b.Build();
  Executor executor(*model);
  Tensor x = testing::RandomFloats({256, 256});
  auto out = executor.Run({{"x", x}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // An even number of transposes gives back the input.
  EXPECT_EQ(Floats((*out)[0]), Floats(x));
  const int64_t one = 256 * 256 * 4;
  EXPECT_GE(executor.stats().total_produced_bytes, 20 * one);
  // Input + the tensor being read + the one being written.
  EXPECT_LE(executor.stats().peak_live_bytes, 3 * one);
  EXPECT_EQ(executor.stats().nodes_run, 20);
}

TEST(Executor, MissingKernelIsAClearError) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {2});
  ir::Value* y = b.Op("NoSuchOperator", {x});
  b.LastNode()->set_name("mystery");
  b.Output(y);
  auto model = b.Build();
  Executor executor(*model);
  auto out = executor.Run({{"x", testing::RandomFloats({2})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(out.status().message(),
            "no reference kernel for ai.onnx:NoSuchOperator at opset 17 (node 'mystery')");
}

TEST(Executor, NodeWithoutARequiredInputIsAnErrorNotACrash) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {3});
  ir::Value* y = b.Op("Gather", {x});  // no indices
  b.LastNode()->set_name("half_gather");
  b.Output(y);
  auto model = b.Build();
  Executor executor(*model);
  auto out = executor.Run({{"x", testing::RandomFloats({3})}});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("half_gather"), std::string::npos);
  EXPECT_NE(out.status().message().find("indices"), std::string::npos) << out.status().message();
}

TEST(Executor, MissingInputAndWrongTypeAreErrors) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {2});
  b.Output(b.Op("Identity", {x}));
  auto model = b.Build();
  Executor executor(*model);
  EXPECT_EQ(executor.Run({}).status().code(), StatusCode::kInvalidArgument);
  auto wrong = executor.Run({{"x", Tensor::Int64s({1, 2})}});
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  auto shape = executor.Run({{"x", testing::RandomFloats({3})}});
  EXPECT_EQ(shape.status().code(), StatusCode::kInvalidArgument);
}

TEST(Executor, RefusesDeclaredShapesPastTheMemoryCap) {
  ModelBuilder b(17);
  ir::Value* x = b.InputSymbolic("x", DataType::kFloat, {{-1, "n"}, {1 << 20, ""}});
  b.Output(b.Op("Identity", {x}));
  auto model = b.Build();
  RunOptions options;
  options.dims["n"] = int64_t{1} << 14;  // 2^14 * 2^20 floats = 64 GiB
  Executor executor(*model, options);
  const Status st = executor.CheckDeclaredMemory();
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("'x'"), std::string::npos) << st.message();
  // Refused before any input is looked at (none is given).
  EXPECT_EQ(executor.Run({}).status().code(), StatusCode::kResourceExhausted);

  RunOptions small;
  small.dims["n"] = 2;
  Executor fine(*model, small);
  EXPECT_TRUE(fine.CheckDeclaredMemory().ok());
}

TEST(Executor, RefusesAKernelOutputPastTheMemoryCap) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {4});
  ir::Value* reps = b.Ints("reps", {1000});
  b.Output(b.Op("Tile", {x, reps}));
  auto model = b.Build();
  RunOptions options;
  options.memory_cap_bytes = 1000;  // the 16 KB Tile output passes it
  Executor executor(*model, options);
  auto out = executor.Run({{"x", testing::RandomFloats({4})}});
  EXPECT_EQ(out.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(out.status().message().find("Tile"), std::string::npos);
}

// ---- models with subgraphs, built as protobuf so the real importer links the captures.

onnx::ValueInfoProto* AddValueInfo(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list,
                                   const std::string& name, int elem_type,
                                   const std::vector<int64_t>& dims) {
  auto* vi = list->Add();
  vi->set_name(name);
  auto* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  return vi;
}

onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op,
                         const std::vector<std::string>& ins,
                         const std::vector<std::string>& outs) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(op + "_" + std::to_string(g->node_size()));
  for (const auto& i : ins) n->add_input(i);
  for (const auto& o : outs) n->add_output(o);
  return n;
}

void AddIntAttr(onnx::NodeProto* n, const std::string& name, int64_t v) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
}

onnx::GraphProto* AddGraphAttr(onnx::NodeProto* n, const std::string& name) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(name);
  return a->mutable_g();
}

std::unique_ptr<ir::Model> Load(onnx::ModelProto& proto) {
  proto.set_ir_version(8);
  auto* opset = proto.add_opset_import();
  opset->set_domain("");
  opset->set_version(17);
  auto model = LoadModelFromBytes(proto.SerializeAsString());
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(*model) : nullptr;
}

constexpr int kFloat = onnx::TensorProto::FLOAT;
constexpr int kBool = onnx::TensorProto::BOOL;
constexpr int kInt64 = onnx::TensorProto::INT64;

TEST(Executor, IfBranchesReadOuterScopeValues) {
  // t = Transpose(x) in the main graph; the branches read t (captured), then returns it as is,
  // else returns Concat(t, t). The main graph never reads t itself after the If.
  onnx::ModelProto proto;
  auto* g = proto.mutable_graph();
  g->set_name("main");
  AddValueInfo(g->mutable_input(), "x", kFloat, {2, 3});
  AddValueInfo(g->mutable_input(), "cond", kBool, {});
  AddNode(g, "Transpose", {"x"}, {"t"});
  auto* if_node = AddNode(g, "If", {"cond"}, {"y"});
  auto* then_g = AddGraphAttr(if_node, "then_branch");
  AddNode(then_g, "Identity", {"t"}, {"then_out"});
  AddValueInfo(then_g->mutable_output(), "then_out", kFloat, {});
  then_g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto* else_g = AddGraphAttr(if_node, "else_branch");
  auto* cat = AddNode(else_g, "Concat", {"t", "t"}, {"else_out"});
  AddIntAttr(cat, "axis", 0);
  AddValueInfo(else_g->mutable_output(), "else_out", kFloat, {});
  else_g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  AddValueInfo(g->mutable_output(), "y", kFloat, {});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto model = Load(proto);
  ASSERT_TRUE(model);

  const Tensor x = Tensor::FromVector<float>(DataType::kFloat, {2, 3}, {1, 2, 3, 4, 5, 6});
  Executor executor(*model);
  for (bool cond : {true, false}) {
    const Tensor c =
        Tensor::FromVector<uint8_t>(DataType::kBool, {}, {cond ? uint8_t{1} : uint8_t{0}});
    auto out = executor.Run({{"x", x}, {"cond", c}});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    if (cond) {
      EXPECT_EQ((*out)[0].shape(), (Shape{3, 2}));
      EXPECT_EQ(Floats((*out)[0]), (std::vector<float>{1, 4, 2, 5, 3, 6}));
    } else {
      EXPECT_EQ((*out)[0].shape(), (Shape{6, 2}));
      EXPECT_EQ(Floats((*out)[0]), (std::vector<float>{1, 4, 2, 5, 3, 6, 1, 4, 2, 5, 3, 6}));
    }
  }
}

TEST(Executor, LoopBodyReadsOuterScopeValuesAndStacksScanOutputs) {
  // v starts as x ([1,2]); each of 3 iterations appends w (captured, [1,2]) and emits w as a
  // scan output. Final v: [4,2]; scan output: [3,1,2].
  onnx::ModelProto proto;
  auto* g = proto.mutable_graph();
  g->set_name("main");
  AddValueInfo(g->mutable_input(), "x", kFloat, {1, 2});
  AddValueInfo(g->mutable_input(), "w_in", kFloat, {1, 2});
  AddValueInfo(g->mutable_input(), "trips", kInt64, {});
  AddNode(g, "Identity", {"w_in"}, {"w"});
  auto* loop = AddNode(g, "Loop", {"trips", "", "x"}, {"v_final", "w_stack"});
  auto* body = AddGraphAttr(loop, "body");
  AddValueInfo(body->mutable_input(), "iter", kInt64, {});
  AddValueInfo(body->mutable_input(), "cond_in", kBool, {});
  AddValueInfo(body->mutable_input(), "v_in", kFloat, {});
  body->mutable_input(2)->mutable_type()->mutable_tensor_type()->clear_shape();
  AddNode(body, "Identity", {"cond_in"}, {"cond_out"});
  auto* cat = AddNode(body, "Concat", {"v_in", "w"}, {"v_out"});
  AddIntAttr(cat, "axis", 0);
  AddNode(body, "Identity", {"w"}, {"w_copy"});
  AddValueInfo(body->mutable_output(), "cond_out", kBool, {});
  AddValueInfo(body->mutable_output(), "v_out", kFloat, {});
  body->mutable_output(1)->mutable_type()->mutable_tensor_type()->clear_shape();
  AddValueInfo(body->mutable_output(), "w_copy", kFloat, {1, 2});
  AddValueInfo(g->mutable_output(), "v_final", kFloat, {});
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  AddValueInfo(g->mutable_output(), "w_stack", kFloat, {});
  g->mutable_output(1)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto model = Load(proto);
  ASSERT_TRUE(model);

  Executor executor(*model);
  auto out = executor.Run({{"x", Tensor::FromVector<float>(DataType::kFloat, {1, 2}, {1, 2})},
                           {"w_in", Tensor::FromVector<float>(DataType::kFloat, {1, 2}, {7, 8})},
                           {"trips", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape(), (Shape{4, 2}));
  EXPECT_EQ(Floats((*out)[0]), (std::vector<float>{1, 2, 7, 8, 7, 8, 7, 8}));
  EXPECT_EQ((*out)[1].shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(Floats((*out)[1]), (std::vector<float>{7, 8, 7, 8, 7, 8}));

  // Zero trips: v passes through and the scan output is empty along the stacking axis.
  auto none = executor.Run({{"x", Tensor::FromVector<float>(DataType::kFloat, {1, 2}, {1, 2})},
                            {"w_in", Tensor::FromVector<float>(DataType::kFloat, {1, 2}, {7, 8})},
                            {"trips", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {0})}});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ((*none)[0].shape(), (Shape{1, 2}));
  EXPECT_EQ((*none)[1].shape(), (Shape{0, 1, 2}));
}

TEST(Executor, ScanReversesInputsAndOutputsByDirection) {
  // State s (a [2] vector) accumulates the rows of x ([3,2]) read in reverse; the scan output
  // is each running state, written in reverse order too.
  onnx::ModelProto proto;
  auto* g = proto.mutable_graph();
  g->set_name("main");
  AddValueInfo(g->mutable_input(), "s0", kFloat, {2});
  AddValueInfo(g->mutable_input(), "x", kFloat, {3, 2});
  auto* scan = AddNode(g, "Scan", {"s0", "x"}, {"s_final", "trace"});
  AddIntAttr(scan, "num_scan_inputs", 1);
  auto* dirs = scan->add_attribute();
  dirs->set_name("scan_input_directions");
  dirs->set_type(onnx::AttributeProto::INTS);
  dirs->add_ints(1);
  auto* odirs = scan->add_attribute();
  odirs->set_name("scan_output_directions");
  odirs->set_type(onnx::AttributeProto::INTS);
  odirs->add_ints(1);
  auto* body = AddGraphAttr(scan, "body");
  AddValueInfo(body->mutable_input(), "s_in", kFloat, {2});
  AddValueInfo(body->mutable_input(), "row", kFloat, {2});
  auto* cat = AddNode(body, "Concat", {"s_in", "row"}, {"pair"});
  AddIntAttr(cat, "axis", 0);
  // s_out = s_in[0:2] after placing row first: Slice(Concat(row, s_in)) keeps the new row.
  auto* cat2 = AddNode(body, "Concat", {"row", "s_in"}, {"rs"});
  AddIntAttr(cat2, "axis", 0);
  auto* starts = body->add_initializer();
  starts->set_name("zero");
  starts->set_data_type(kInt64);
  starts->add_dims(1);
  starts->add_int64_data(0);
  auto* ends = body->add_initializer();
  ends->set_name("two");
  ends->set_data_type(kInt64);
  ends->add_dims(1);
  ends->add_int64_data(2);
  AddNode(body, "Slice", {"rs", "zero", "two"}, {"s_out"});
  AddNode(body, "Identity", {"s_out"}, {"s_copy"});
  AddValueInfo(body->mutable_output(), "s_out", kFloat, {2});
  AddValueInfo(body->mutable_output(), "s_copy", kFloat, {2});
  AddValueInfo(g->mutable_output(), "s_final", kFloat, {2});
  AddValueInfo(g->mutable_output(), "trace", kFloat, {3, 2});
  auto model = Load(proto);
  ASSERT_TRUE(model);
  Executor executor(*model);
  auto out = executor.Run(
      {{"s0", Tensor::FromVector<float>(DataType::kFloat, {2}, {0, 0})},
       {"x", Tensor::FromVector<float>(DataType::kFloat, {3, 2}, {1, 2, 3, 4, 5, 6})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Rows read as 5,6 then 3,4 then 1,2; the final state is the last row read.
  EXPECT_EQ(Floats((*out)[0]), (std::vector<float>{1, 2}));
  // Trace in reverse step order: step 2 (1,2), step 1 (3,4), step 0 (5,6).
  EXPECT_EQ(Floats((*out)[1]), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(Executor, RunSingleNodeEvaluatesOneNode) {
  ModelBuilder b(17);
  ir::Value* x = b.Input("x", DataType::kFloat, {2, 2});
  b.Output(b.Op("Transpose", {x}));
  auto model = b.Build();
  const Tensor in = Tensor::FromVector<float>(DataType::kFloat, {2, 2}, {1, 2, 3, 4});
  auto out = RunSingleNode(*model->graph->nodes()[0], {&in}, 17);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Floats((*out)[0]), (std::vector<float>{1, 3, 2, 4}));
}

}  // namespace
}  // namespace graphopt::reference
