#include "optimizer/passes/basic/eliminate_identity.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

RewriteResult Identity(PassContext& ctx, Rewriter& rw, ir::Node* n) { return rw.Bypass(n); }

}  // namespace

EliminateIdentity::EliminateIdentity() : RulePass({{"identity", "Identity", "", Identity}}) {}

GRAPHOPT_REGISTER_PASS(EliminateIdentity, "eliminate_identity", kBasic, 10,
                       "remove Identity nodes (consumers read the input directly)");

}  // namespace graphopt
