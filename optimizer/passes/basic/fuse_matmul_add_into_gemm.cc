#include "optimizer/passes/basic/fuse_matmul_add_into_gemm.h"

#include "optimizer/pass/fusion_util.h"
#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

// The rank of `v` when known.
std::optional<size_t> Rank(const ir::Value* v) {
  if (!v || !v->type().shape) return std::nullopt;
  return v->type().shape->size();
}

// True when `d` is known to equal `n` (a dim of the product).
bool DimIs(int64_t d, const ir::Dim& n) { return n.known() && n.value == d; }

// Preconditions: A and B both exactly 2-D (N-D MatMul would need Reshapes around the Gemm,
// which costs nodes: not done); float types (Gemm's integer forms vary by opset); the
// MatMul's output read only by the Add; the bias of static shape and unidirectionally
// broadcastable to [M, N] without growing the result (Gemm's C rule): rank <= 2, each dim 1
// or equal to the product's.
RewriteResult MatMulAdd(PassContext& ctx, Rewriter& rw, ir::Node* add) {
  if (ctx.opset() < 7 || add->inputs().size() != 2) return false;
  for (size_t side = 0; side < 2; ++side) {
    ir::Value* product = add->input(side);
    ir::Node* matmul = product ? product->producer() : nullptr;
    if (!matmul || !matmul->Is("MatMul") || !HasSingleUse(product)) continue;
    ir::Value* a = matmul->input(0);
    ir::Value* b = matmul->input(1);
    if (Rank(a) != 2u || Rank(b) != 2u || !IsFoldableFloatType(a->elem_type())) return false;
    // A MatMul of two DequantizeLinear outputs is a QDQ node unit: a Gemm would take the float
    // bias in, and neither QLinearMatMul nor ONNX Runtime's QGemm selector (int32 bias only)
    // could then quantize it.
    if (a->producer() && a->producer()->Is("DequantizeLinear") && b->producer() &&
        b->producer()->Is("DequantizeLinear")) {
      return MatchFailure("MatMul of a QDQ node unit");
    }
    if (a->elem_type() == DataType::kBfloat16 && ctx.opset() < 13) return false;
    ir::Value* bias = add->input(1 - side);
    auto bias_shape = StaticShape(bias);
    if (!bias_shape || bias_shape->size() > 2 || bias->elem_type() != a->elem_type()) return false;
    const ir::Dim m = (*a->type().shape)[0], n = (*b->type().shape)[1];
    const Shape& c = *bias_shape;
    if (!c.empty() && c.back() != 1 && !DimIs(c.back(), n)) return false;
    if (c.size() == 2 && c[0] != 1 && !DimIs(c[0], m)) return false;

    ir::Node* gemm =
        rw.CreateNode("Gemm", {a, b, bias}, 1, matmul->name().empty() ? "gemm" : matmul->name());
    gemm->output(0)->type() = add->output(0)->type();
    // Cannot fail: the Gemm's output is a fresh node output, so it may take the Add's name.
    return AbsorbConsumer(rw, add, gemm->output(0));
  }
  return false;
}

}  // namespace

FuseMatMulAddIntoGemm::FuseMatMulAddIntoGemm()
    : RulePass({{"matmul_add_to_gemm", "Add", "", MatMulAdd}}) {}

GRAPHOPT_REGISTER_PASS(FuseMatMulAddIntoGemm, "fuse_matmul_add_into_gemm", kBasic, 140,
                       "rewrite 2-D MatMul + bias Add as Gemm");

}  // namespace graphopt
