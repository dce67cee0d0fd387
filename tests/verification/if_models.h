// Small If models for the verification tests: a float input `x`, an integer input deciding the
// If through a chain built by the test, and branches computing `x OP constant`.
#pragma once

#include <string>

#include "support/test_support.h"

namespace graphopt::testing {

// A single-element int64 constant (shape []).
inline ir::Value* ScalarInt(ModelBuilder& b, const std::string& name, int64_t v) {
  return b.Init(name, Tensor::FromVector<int64_t>(DataType::kInt64, {}, {v}));
}

// Adds If(cond) whose then branch computes `x then_op then_c` and else branch `x else_op else_c`
// (float ops such as Add, Mul) from the captured `x`, like `x` in type; returns the If's output.
inline ir::Value* AddIf(ModelBuilder& b, ir::Value* cond, ir::Value* x, const std::string& then_op,
                        float then_c, const std::string& else_op, float else_c) {
  ir::Node* if_node = b.graph().AddNode("If", {cond}, 1, "if");
  for (const char* branch : {"then_branch", "else_branch"}) {
    const bool then = std::string(branch) == "then_branch";
    ir::Attribute a;
    a.name = branch;
    a.type = ir::AttrType::kGraph;
    a.g = std::make_unique<ir::Graph>(&b.graph(), if_node);
    a.g->name = branch;
    ir::Value* ref = a.g->OuterRef(x->name());
    ir::Value* c = a.g->NewInitializer(
        std::string(branch) + "_c",
        Tensor::FromVector<float>(DataType::kFloat, {}, {then ? then_c : else_c}));
    ir::Node* op = a.g->AddNode(then ? then_op : else_op, {ref, c}, 1);
    op->output(0)->type() = x->type();
    a.g->AddOutput(op->output(0));
    if_node->mutable_attributes().push_back(std::move(a));
  }
  if_node->AddImplicitInput(x);
  if_node->output(0)->type() = x->type();
  return if_node->output(0);
}

}  // namespace graphopt::testing
