// A pass made of small rewrite rules keyed by the root operator: one walk over the graph
// tries, for each node, the rules registered for its op type. Each rule either rewrites and
// returns true, or returns false having changed nothing.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "optimizer/pass/pass.h"

namespace graphopt {

struct RewriteRule {
  const char* name;     // shown in the report: "nop_transpose"
  const char* op_type;  // root operator in the default domain
  bool (*apply)(PassContext& ctx, ir::Node* node);
};

class RuleSetPass : public Pass {
 public:
  explicit RuleSetPass(std::vector<RewriteRule> rules);
  Result<int64_t> Run(PassContext& ctx) override;

 private:
  std::unordered_map<std::string, std::vector<RewriteRule>> by_op_;
};

}  // namespace graphopt
