#include "optimizer/passes/basic/merge_transposes.h"

#include "optimizer/pass/rewrite_util.h"
#include "optimizer/pass/transpose_util.h"

namespace graphopt {

namespace {

// Transpose(Transpose(x, a), b) -> Transpose(x, a∘b), or x when that is the identity. The inner
// Transpose stays only while something else reads it.
RewriteResult MergePair(PassContext& ctx, Rewriter& rw, ir::Node* outer) {
  ir::Node* inner = outer->input(0) ? outer->input(0)->producer() : nullptr;
  if (!inner || !inner->Is("Transpose")) return false;
  const auto a = TransposePerm(inner);
  const auto b = TransposePerm(outer);
  if (!a || !b || a->size() != b->size()) return MatchFailure("perm unknown");
  ir::Value* x = inner->input(0);
  const Perm q = ComposePerms(*a, *b);
  if (IsIdentityPerm(q)) {
    if (!CanReplaceValue(rw.graph(), outer->output(0), x)) {
      return MatchFailure("graph input would become a graph output");
    }
    outer->SetInput(0, x);
    const bool done = rw.Bypass(outer);
    rw.EraseIfDead(inner);
    return done;
  }
  outer->SetInput(0, x);
  outer->SetInts("perm", q);
  rw.EraseIfDead(inner);
  return true;
}

// Transpose(constant) -> a permuted initializer, within the constant-folding size cap.
RewriteResult FoldConstant(PassContext& ctx, Rewriter& rw, ir::Node* n) {
  const Tensor* t = ConstantValue(n->input(0));
  if (!t) return false;
  const auto p = TransposePerm(n);
  if (!p) return MatchFailure("perm unknown");
  if (static_cast<int64_t>(t->nbytes()) > ctx.options.fold_size_cap_bytes) {
    return MatchFailure("constant above the folding size cap");
  }
  auto permuted = PermuteTensor(*t, *p);
  if (!permuted) return MatchFailure("string constant");
  ir::Value* folded = rw.CreateInitializer(n->output(0)->name(), std::move(*permuted));
  return rw.ReplaceNode(n, {folded});
}

bool IsMatrix(const ir::Value* v) {
  return v && v->type().shape && v->type().shape->size() == 2;
}

bool IsGemmType(DataType t) {
  return t == DataType::kFloat || t == DataType::kDouble || t == DataType::kFloat16;
}

// MatMul(Transpose(A), B) of matrices -> Gemm(A, B, transA=1) (likewise for B). A MatMul whose
// only reader is an Add is left to fuse_matmul_add_into_gemm, which then takes the bias too.
RewriteResult MatMulToGemm(PassContext& ctx, Rewriter& rw, ir::Node* mm) {
  ir::Value* out = mm->output(0);
  if (ctx.opset() < 11) return MatchFailure("Gemm needs C before opset 11");
  if (!IsMatrix(mm->input(0)) || !IsMatrix(mm->input(1)) || !IsGemmType(out->elem_type())) {
    return false;
  }
  bool trans[2] = {false, false};
  ir::Value* in[2] = {mm->input(0), mm->input(1)};
  for (int i = 0; i < 2; ++i) {
    ir::Node* t = in[i]->producer();
    const auto p = TransposePerm(t);
    if (p && *p == Perm{1, 0}) {
      trans[i] = true;
      in[i] = t->input(0);
    }
  }
  if (!trans[0] && !trans[1]) return false;
  if (out->uses().size() == 1 && !out->is_graph_output() && out->uses()[0].node->Is("Add")) {
    return MatchFailure("left to fuse_matmul_add_into_gemm");
  }
  ir::Node* gemm = rw.CreateNode("Gemm", {in[0], in[1]}, 1, mm->name());
  if (trans[0]) gemm->SetInt("transA", 1);
  if (trans[1]) gemm->SetInt("transB", 1);
  gemm->output(0)->type() = out->type();
  return rw.ReplaceNode(mm, {gemm->output(0)});
}

}  // namespace

MergeTransposes::MergeTransposes()
    : RulePass({{"transpose_pair", "Transpose", "", MergePair},
                {"transpose_constant", "Transpose", "", FoldConstant},
                {"transpose_into_matmul", "MatMul", "", MatMulToGemm}}) {}

GRAPHOPT_REGISTER_PASS(MergeTransposes, "merge_transposes", kBasic, 14,
                       "merge consecutive Transposes, cancel inverse pairs, fold Transposes into "
                       "constants and into 2-D MatMul as Gemm transA/transB");

}  // namespace graphopt
