#include "optimizer/passes/basic/eliminate_identity.h"

#include "optimizer/pass/rewrite_util.h"

namespace graphopt {

namespace {

bool Identity(PassContext& ctx, ir::Node* n) { return BypassNode(*ctx.model.graph, n); }

}  // namespace

EliminateIdentity::EliminateIdentity() : RuleSetPass({{"identity", "Identity", Identity}}) {}

GRAPHOPT_REGISTER_PASS(EliminateIdentity, "eliminate_identity", kBasic, 10,
                       "remove Identity nodes (consumers read the input directly)");

}  // namespace graphopt
