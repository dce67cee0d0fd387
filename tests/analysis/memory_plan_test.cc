// The static memory plan (issue 16 item 5): lifetimes over a topological order, greedy best-fit
// offsets and in-place reuse, on graphs whose plan is worked out by hand in the comments.
#include <gtest/gtest.h>

#include "optimizer/analysis/memory_plan.h"
#include "optimizer/ir/shape_inference.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using analysis::MemoryPlan;
using analysis::PlanMemory;
using analysis::PlannedBuffer;
using testing::ModelBuilder;

const PlannedBuffer& Buffer(const MemoryPlan& plan, const std::string& value) {
  for (const PlannedBuffer& b : plan.buffers) {
    if (b.value == value) return b;
  }
  ADD_FAILURE() << "no buffer for " << value;
  static PlannedBuffer none;
  return none;
}

TEST(MemoryPlan, ChainWithInPlaceReluAndReuseOfFreedBlocks) {
  // Conv 4096 B -> Relu 4096 B (in place: the Conv output dies at the Relu) -> Flatten 4096 B
  // -> MatMul 40 B -> Add 40 B (graph output).
  //   step 0 Conv    @0     arena [0,4096)
  //   step 1 Relu    @0     in place
  //   step 2 Flatten @4096  arena 8192; then the Relu output dies: free [0,4096)
  //   step 3 MatMul  @0     best fit in [0,4096); then Flatten's dies: free [40,8192)
  //   step 4 Add     @40
  // peak 8192 against a naive 3*4096 + 2*40.
  ModelBuilder b(13);
  ir::Value* x = b.Input("x", DataType::kFloat, {1, 1, 16, 16});
  ir::Value* conv = b.Op("Conv", {x, b.Init("w", testing::RandomFloats({4, 1, 3, 3}))});
  b.LastNode()->SetInts("pads", {1, 1, 1, 1});
  ir::Value* relu = b.Op("Relu", {conv});
  ir::Value* flat = b.Op("Flatten", {relu});  // [1, 1024]
  ir::Value* mm = b.Op("MatMul", {flat, b.Init("w2", testing::RandomFloats({1024, 10}))});
  ir::Value* out = b.Op("Add", {mm, b.Init("b2", testing::RandomFloats({10}))});
  b.Output(out);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());

  const MemoryPlan plan = PlanMemory(*model->graph, {});
  EXPECT_EQ(plan.unplanned_values, 0);
  EXPECT_EQ(plan.naive_bytes, 3 * 4096 + 2 * 40);
  EXPECT_EQ(plan.arena_bytes, 2 * 4096);
  EXPECT_EQ(plan.peak_live_bytes, 2 * 4096);
  EXPECT_EQ(plan.in_place_reuses, 1);
  EXPECT_TRUE(Buffer(plan, relu->name()).in_place);
  EXPECT_EQ(Buffer(plan, relu->name()).offset, Buffer(plan, conv->name()).offset);
  EXPECT_EQ(Buffer(plan, flat->name()).offset, 4096);
  EXPECT_EQ(Buffer(plan, mm->name()).offset, 0);
  EXPECT_EQ(Buffer(plan, out->name()).offset, 40);
  EXPECT_EQ(Buffer(plan, out->name()).last_step, 5);  // read by the caller after the last step
}

TEST(MemoryPlan, BestFitTakesTheSmallestFreeBlockThatFits) {
  // x1 400 B, x2 200 B, x3 100 B inputs (not activations, so never in place).
  //   step 0 a = Neg(x1) 400 @0       step 1 s = Neg(x3) 100 @400 (output)
  //   step 2 b = Neg(x2) 200 @500     step 3 t = Neg(x3) 100 @700 (output)
  //   step 4 c = Concat(a, b) 600 @800, arena 1400; a and b die: free [0,400) and [500,700)
  //   step 5 d = Neg(x2) 200 @500: the exact fit, where first fit would take @0
  //   step 6 e = Neg(x1) 400 @0
  // peak 1400 against a naive 400+100+200+100+600+200+400 = 2000.
  ModelBuilder b(13);
  ir::Value* x1 = b.Input("x1", DataType::kFloat, {100});
  ir::Value* x2 = b.Input("x2", DataType::kFloat, {50});
  ir::Value* x3 = b.Input("x3", DataType::kFloat, {25});
  ir::Value* a = b.Op("Neg", {x1});
  ir::Value* s = b.Op("Neg", {x3});
  ir::Value* bb = b.Op("Neg", {x2});
  ir::Value* t = b.Op("Neg", {x3});
  ir::Value* c = b.Op("Concat", {a, bb});
  b.LastNode()->SetInt("axis", 0);
  ir::Value* d = b.Op("Neg", {x2});
  ir::Value* e = b.Op("Neg", {x1});
  for (ir::Value* v : {s, t, c, d, e}) b.Output(v);
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());

  const MemoryPlan plan = PlanMemory(*model->graph, {});
  EXPECT_EQ(plan.naive_bytes, 2000);
  EXPECT_EQ(plan.arena_bytes, 1400);
  EXPECT_EQ(plan.in_place_reuses, 0);
  EXPECT_EQ(Buffer(plan, bb->name()).offset, 500);
  EXPECT_EQ(Buffer(plan, c->name()).offset, 800);
  EXPECT_EQ(Buffer(plan, d->name()).offset, 500);
  EXPECT_EQ(Buffer(plan, e->name()).offset, 0);
  // No two buffers live at the same step overlap in the arena.
  for (const PlannedBuffer& p : plan.buffers) {
    for (const PlannedBuffer& q : plan.buffers) {
      if (&p == &q || p.last_step < q.first_step || q.last_step < p.first_step) continue;
      EXPECT_TRUE(p.offset + p.bytes <= q.offset || q.offset + q.bytes <= p.offset)
          << p.value << " and " << q.value;
    }
  }
}

TEST(MemoryPlan, InPlaceOnlyWhenTheInputDiesThere) {
  // y = Sigmoid(a) while a is still read later: Sigmoid must not overwrite it.
  ModelBuilder b(13);
  ir::Value* x = b.Input("x", DataType::kFloat, {64});
  ir::Value* a = b.Op("Neg", {x});
  ir::Value* y = b.Op("Sigmoid", {a});
  b.Output(b.Op("Add", {y, a}));
  auto model = b.Build();
  ASSERT_TRUE(ir::InferShapes(*model).ok());
  const MemoryPlan plan = PlanMemory(*model->graph, {});
  EXPECT_EQ(plan.in_place_reuses, 0);
  EXPECT_NE(Buffer(plan, y->name()).offset, Buffer(plan, a->name()).offset);
  EXPECT_EQ(plan.arena_bytes, 3 * 256);  // a, y and the output all live at the Add
  EXPECT_LE(plan.arena_bytes, plan.naive_bytes);
}

}  // namespace
}  // namespace graphopt
