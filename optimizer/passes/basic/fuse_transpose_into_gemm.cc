#include "optimizer/passes/basic/fuse_transpose_into_gemm.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// True for a Transpose swapping the two axes of a matrix: perm [1,0], or no perm (reverse)
// on an input known to be 2-D.
bool IsMatrixTranspose(const ir::Node* n) {
  if (!n || !n->Is("Transpose")) return false;
  const auto perm = n->GetInts("perm");
  if (perm.empty()) {
    const auto& shape = n->input(0)->type().shape;
    return shape && shape->size() == 2;
  }
  return perm == std::vector<int64_t>{1, 0};
}

// Other readers of the Transpose keep it (it is removed once nobody reads it); this Gemm just
// reads the untransposed matrix with the flag flipped, so no precondition on sharing.
RewriteResult FoldTranspose(Rewriter& rw, ir::Node* gemm, size_t input, const char* flag) {
  ir::Value* v = gemm->input(input);
  ir::Node* transpose = v ? v->producer() : nullptr;
  if (!IsMatrixTranspose(transpose) || !transpose->input(0)) return false;
  gemm->SetInput(input, transpose->input(0));
  gemm->SetInt(flag, gemm->GetInt(flag, 0) != 0 ? 0 : 1);
  rw.EraseIfDead(transpose);
  return true;
}

RewriteResult TransposeA(PassContext& ctx, Rewriter& rw, ir::Node* gemm) { return FoldTranspose(rw, gemm, 0, "transA"); }
RewriteResult TransposeB(PassContext& ctx, Rewriter& rw, ir::Node* gemm) { return FoldTranspose(rw, gemm, 1, "transB"); }

}  // namespace

FuseTransposeIntoGemm::FuseTransposeIntoGemm()
    : RulePass({{"transpose_into_gemm_a", "Gemm", "", TransposeA},
                {"transpose_into_gemm_b", "Gemm", "", TransposeB}}) {}

GRAPHOPT_REGISTER_PASS(FuseTransposeIntoGemm, "fuse_transpose_into_gemm", kBasic, 150,
                       "fold matrix Transposes feeding Gemm into transA/transB");

}  // namespace graphopt
