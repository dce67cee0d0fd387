// Golden tests of symbolic dims and symbolic shape inference, per operator family: shapes with
// batch/seq symbols come out as the expressions a reader would write (batch*seq, seq*4,
// (h-1)/2+1), Shape arithmetic is followed through Gather/Concat/Reshape, and unnamed dims get
// fresh symbols.
#include <gtest/gtest.h>

#include "optimizer/ir/shape_inference.h"
#include "optimizer/ir/symbolic_dim.h"
#include "optimizer/ir/symbolic_shape_inference.h"
#include "support/test_support.h"
#include "support/torch_export_chains.h"

namespace graphopt {
namespace {

using ir::Dim;
using ir::SymbolicDim;
using testing::ModelBuilder;

std::string ShapeString(const ir::Value* v) {
  if (!v->type().shape) return "?";
  std::string out = "[";
  for (const Dim& d : *v->type().shape) {
    if (out.size() > 1) out += ",";
    out += d.known() ? std::to_string(d.value) : (d.param.empty() ? "?" : d.param);
  }
  return out + "]";
}

Dim Sym(const std::string& name) { return Dim{-1, name}; }
Dim N(int64_t v) { return Dim{v, ""}; }

TEST(SymbolicDim, CanonicalFormsAndRoundTrip) {
  const SymbolicDim batch = SymbolicDim::Symbol("batch"), seq = SymbolicDim::Symbol("seq");
  EXPECT_EQ((seq * 4).ToString(), "seq*4");
  EXPECT_EQ((SymbolicDim(4) * seq), seq * 4);
  EXPECT_EQ((batch * SymbolicDim::Symbol("heads")).ToString(), "batch*heads");
  const SymbolicDim h = SymbolicDim::Symbol("h");
  const SymbolicDim conv = (h - 1).FloorDiv(2) + 1;
  EXPECT_EQ(conv.ToString(), "(h-1)/2+1");
  for (const SymbolicDim& d : {seq * 4, batch * seq - 1, conv, conv * batch, (h * 3).FloorDiv(h)}) {
    EXPECT_EQ(SymbolicDim::Parse(d.ToString()), d) << d.ToString();
  }
  // Exact divisions simplify; inexact ones stay opaque but evaluate.
  EXPECT_EQ((batch * seq * 256).FloorDiv(256), batch * seq);
  EXPECT_EQ((batch * seq * 256).FloorDiv(seq * 64), batch * 4);
  EXPECT_EQ(conv.Evaluate({{"h", 224}}), 112);
  EXPECT_EQ(conv.Evaluate({}), std::nullopt);
  EXPECT_EQ(conv.Symbols(), (std::set<std::string>{"h"}));
  EXPECT_TRUE((seq - seq).is_constant());
  // Any other dim_param is one symbol, spelled as it was.
  EXPECT_EQ(SymbolicDim::Parse("p2o.DynamicDimension.0").ToString(), "p2o.DynamicDimension.0");
  EXPECT_EQ(SymbolicDim::Parse("batch size").ToString(), "batch size");
  EXPECT_EQ((SymbolicDim::Parse("batch size") * 2).Evaluate({{"batch size", 3}}), 6);
}

TEST(SymbolicShapeInference, ElementwiseBroadcastAndMatMul) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), Sym("seq"), N(8)});
  auto* col = b.InputSymbolic("col", DataType::kFloat, {Sym("batch"), N(1), N(1)});
  auto* sum = b.Op("Add", {x, b.Floats("bias", {8}, std::vector<float>(8, 1.f))});
  auto* bc = b.Op("Mul", {sum, col});
  auto* mm = b.Op("MatMul", {bc, b.Floats("w", {8, 16}, std::vector<float>(128, 0.5f))});
  auto* sel = b.Op(
      "Where", {b.Op("Greater", {mm, b.Floats("z", {}, {0.f})}), mm, b.Floats("zero", {1}, {0.f})});
  b.Output(sel);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(bc), "[batch,seq,8]");
  EXPECT_EQ(ShapeString(mm), "[batch,seq,16]");
  EXPECT_EQ(ShapeString(sel), "[batch,seq,16]");
}

// Reshape targets built the way exporters build them: Shape -> Gather -> (Mul) -> Unsqueeze ->
// Concat, and 0 / -1 entries.
TEST(SymbolicShapeInference, ShapeArithmeticIntoReshape) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), Sym("seq"), N(8)});
  auto* shape = b.Op("Shape", {x});
  auto dim = [&](int64_t i) {
    auto* g =
        b.Op("Gather", {shape, b.Init("i" + std::to_string(i),
                                      Tensor::FromVector<int64_t>(DataType::kInt64, {}, {i}))});
    return g;
  };
  auto unsq = [&](ir::Value* v) {
    auto* u = b.Op("Unsqueeze", {v, b.Ints("axes" + v->name(), {0})});
    return u;
  };
  auto* seq_times_heads =
      b.Op("Mul", {dim(1), b.Init("two", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {2}))});
  auto* target = b.Op("Concat", {unsq(dim(0)), unsq(seq_times_heads), b.Ints("four", {4})});
  b.LastNode()->SetInt("axis", 0);
  auto* heads = b.Op("Reshape", {x, target});
  auto* flat = b.Op("Reshape", {x, b.Ints("flat", {-1, 8})});
  auto* keep = b.Op("Reshape", {x, b.Ints("keep", {0, 0, 2, -1})});
  auto* transposed = b.Op("Transpose", {keep});
  b.LastNode()->SetInts("perm", {0, 2, 1, 3});
  auto* size = b.Op("Size", {x});
  b.Output(heads);
  b.Output(flat);
  b.Output(transposed);
  b.Output(size);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(heads), "[batch,seq*2,4]");
  EXPECT_EQ(ShapeString(flat), "[batch*seq,8]");
  EXPECT_EQ(ShapeString(transposed), "[batch,2,seq,4]");
  const ir::SymbolicShapes shapes(*model);
  auto contents = shapes.contents(target);
  ASSERT_TRUE(contents);
  EXPECT_EQ(ir::ToDims(*contents), (std::vector<Dim>{Sym("batch"), Sym("seq*2"), N(4)}));
  EXPECT_EQ(shapes.contents(size)->at(0).ToString(), "batch*seq*8");
}

TEST(SymbolicShapeInference, ConcatSplitSliceGatherSqueeze) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), Sym("seq"), N(12)});
  auto* cat = b.Op("Concat", {x, x});
  b.LastNode()->SetInt("axis", 1);
  ir::Node* split = b.graph().AddNode("Split", {x, b.Ints("sizes", {4, 8})}, 2, "split");
  split->SetInt("axis", 2);
  auto* tail = b.Op("Slice", {x, b.Ints("s0", {1}), b.Ints("s1", {INT64_MAX}), b.Ints("s2", {1})});
  auto* last = b.Op("Slice", {x, b.Ints("t0", {-1}), b.Ints("t1", {INT64_MAX}), b.Ints("t2", {1})});
  auto* row =
      b.Op("Gather", {x, b.Init("zero", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {0}))});
  b.LastNode()->SetInt("axis", 1);
  auto* un = b.Op("Unsqueeze", {row, b.Ints("ax", {1})});
  auto* sq = b.Op("Squeeze", {un, b.Ints("ax2", {1})});
  for (ir::Value* v : {cat, split->output(0), split->output(1), tail, last, sq}) b.Output(v);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(cat), "[batch,seq*2,12]");
  EXPECT_EQ(ShapeString(split->output(0)), "[batch,seq,4]");
  EXPECT_EQ(ShapeString(split->output(1)), "[batch,seq,8]");
  EXPECT_EQ(ShapeString(tail), "[batch,seq-1,12]");
  EXPECT_EQ(ShapeString(last), "[batch,1,12]");
  EXPECT_EQ(ShapeString(sq), "[batch,12]");
}

std::string ContentsString(const ir::SymbolicShapes& shapes, const ir::Value* v) {
  auto c = shapes.contents(v);
  if (!c) return "?";
  std::string out;
  for (const SymbolicDim& d : *c) out += (out.empty() ? "" : ",") + d.ToString();
  return out;
}

// torchvision Swin's F.pad to whole windows: the pads come out of a (4, 2) table that is
// reversed and transposed, so Pad's output is known only if the table's elements are followed.
TEST(SymbolicShapeInference, TorchPadsThroughReshapeReverseTranspose) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), N(5), N(3), N(8)});
  auto* pads = testing::TorchSwinPads(b, x, 7);
  auto* padded = b.Op("Pad", {x, pads});
  b.Output(padded);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(padded), "[batch,7,7,8]");
  const ir::SymbolicShapes shapes(*model);
  EXPECT_EQ(ContentsString(shapes, pads), "0,0,0,0,0,2,4,0");
}

// Small integer tables of any rank keep their elements (row-major) through Concat on any axis,
// Transpose and Slice with a negative step, symbols included.
TEST(SymbolicShapeInference, SmallIntegerTablesKeepTheirElements) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), N(5), N(8)});
  auto* row0 = b.Op("Unsqueeze", {b.Op("Shape", {x}), b.Ints("a0", {0})});
  auto* row1 = b.Init("row1", Tensor::FromVector<int64_t>(DataType::kInt64, {1, 3}, {1, 2, 3}));
  auto* table = testing::ExportedConcat(b, {row0, row1}, 0);
  auto* transposed = b.Op("Transpose", {table});
  b.LastNode()->SetInts("perm", {1, 0});
  auto* every_other_reversed = b.Op("Slice", {table, b.Ints("s", {-1}), b.Ints("e", {INT64_MIN}),
                                              b.Ints("ax", {1}), b.Ints("st", {-2})});
  auto* wide = testing::ExportedConcat(b, {table, table}, 1);
  auto* flat = b.Op("Reshape", {wide, b.Ints("flat", {-1})});
  for (ir::Value* v : {transposed, every_other_reversed, flat}) b.Output(v);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(transposed), "[3,2]");
  EXPECT_EQ(ShapeString(every_other_reversed), "[2,2]");
  EXPECT_EQ(ShapeString(flat), "[12]");
  const ir::SymbolicShapes shapes(*model);
  EXPECT_EQ(ContentsString(shapes, table), "batch,5,8,1,2,3");
  EXPECT_EQ(ContentsString(shapes, transposed), "batch,1,5,2,8,3");
  EXPECT_EQ(ContentsString(shapes, every_other_reversed), "8,batch,3,1");
  EXPECT_EQ(ContentsString(shapes, flat), "batch,5,8,batch,5,8,1,2,3,1,2,3");
}

// Where(Equal(shape, -1), 1, shape), the exporter's Expand target: a symbol is a size, never -1,
// so the target is the shape itself. Integer Div and Mod of numbers follow ONNX (truncation;
// Mod takes the divisor's sign unless fmod=1).
TEST(SymbolicShapeInference, WhereEqualAndIntegerDivision) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), N(4)});
  auto* shape = b.Op("Shape", {x});
  auto* target = b.Op(
      "Where", {b.Op("Equal", {shape, b.Ints("minus", {-1, -1})}), b.Ints("ones", {1, 1}), shape});
  auto* expanded = b.Op("Expand", {b.Floats("bias", {4}, {1, 2, 3, 4}), target});
  auto* four =
      b.Op("Gather", {shape, b.Init("i1", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {1}))});
  auto* minus7 =
      b.Op("Sub", {four, b.Init("c11", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {11}))});
  auto* two = b.Init("c2", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {2}));
  auto* div = b.Op("Div", {minus7, two});
  auto* mod = b.Op("Mod", {minus7, two});
  auto* fmod = b.Op("Mod", {minus7, two});
  b.LastNode()->SetInt("fmod", 1);
  for (ir::Value* v : {expanded, div, mod, fmod}) b.Output(v);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(expanded), "[batch,4]");
  const ir::SymbolicShapes shapes(*model);
  EXPECT_EQ(ContentsString(shapes, target), "batch,4");
  EXPECT_EQ(ContentsString(shapes, div), "-3");
  EXPECT_EQ(ContentsString(shapes, mod), "1");
  EXPECT_EQ(ContentsString(shapes, fmod), "-1");
}

TEST(SymbolicShapeInference, ConvPoolOutputSizes) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("n"), N(3), Sym("h"), Sym("w")});
  auto* conv = b.Op("Conv", {x, b.Floats("k", {4, 3, 3, 3}, std::vector<float>(108, 0.1f))});
  b.LastNode()->SetInts("strides", {2, 2});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  auto* pool = b.Op("MaxPool", {conv});
  b.LastNode()->SetInts("kernel_shape", {2, 2});
  b.LastNode()->SetInts("strides", {2, 2});
  auto* gap = b.Op("GlobalAveragePool", {pool});
  auto* flat = b.Op("Flatten", {gap});
  b.Output(pool);
  b.Output(flat);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(conv), "[n,4,(h-1)/2+1,(w-1)/2+1]");
  EXPECT_EQ(ShapeString(pool), "[n,4,((h-1)/2-1)/2+1,((w-1)/2-1)/2+1]");
  EXPECT_EQ(ShapeString(flat), "[n,4]");
}

TEST(SymbolicShapeInference, RangeExpandConstantOfShape) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), Sym("seq")});
  auto* shape = b.Op("Shape", {x});
  auto* seq = b.Op("Gather",
                   {shape, b.Init("one", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {1}))});
  auto* range =
      b.Op("Range", {b.Init("start", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {0})), seq,
                     b.Init("step", Tensor::FromVector<int64_t>(DataType::kInt64, {}, {1}))});
  auto* expanded = b.Op("Expand", {b.Op("Unsqueeze", {range, b.Ints("a0", {0})}), shape});
  auto* zeros = b.Op("ConstantOfShape", {shape});
  b.Output(expanded);
  b.Output(zeros);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(range), "[seq]");
  EXPECT_EQ(ShapeString(expanded), "[batch,seq]");
  EXPECT_EQ(ShapeString(zeros), "[batch,seq]");
}

TEST(SymbolicShapeInference, MicrosoftOperators) {
  ModelBuilder b(14);
  b.model().SetOpsetVersion("com.microsoft", 1);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Sym("batch"), Sym("seq"), N(8)});
  auto* att = b.Op("Attention",
                   {x, b.Floats("w", {8, 24}, std::vector<float>(192, 0.1f)),
                    b.Floats("bias", {24}, std::vector<float>(24, 0.f))},
                   "com.microsoft");
  b.LastNode()->SetInt("num_heads", 2);
  auto* fm = b.Op("FusedMatMul", {att, b.Floats("w2", {16, 8}, std::vector<float>(128, 0.1f))},
                  "com.microsoft");
  b.LastNode()->SetInt("transB", 1);
  b.Output(fm);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(att), "[batch,seq,8]");
  EXPECT_EQ(ShapeString(fm), "[batch,seq,16]");
}

TEST(SymbolicShapeInference, UnnamedDimsGetFreshSymbols) {
  ModelBuilder b(14);
  auto* x = b.InputSymbolic("x", DataType::kFloat, {Dim{}, N(4)});
  auto* y = b.Op("Relu", {x});
  b.Output(y);
  auto model = b.Build();
  ir::NameUnknownInputDims(*model);
  EXPECT_EQ(ShapeString(x), "[unk__0,4]");
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  EXPECT_EQ(ShapeString(y), "[unk__0,4]");
  EXPECT_EQ(ir::InputSymbols(*model->graph), (std::set<std::string>{"unk__0"}));
}

}  // namespace
}  // namespace graphopt
