// What each pass did in one run: the report's per-pass rows. IR-free (names and counts only).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/pass/level.h"

namespace graphopt {

// What a pass did, by rule: the report shows these so a user can see why a model shrank.
struct PassRecord {
  std::map<std::string, int64_t> rule_counts;
  std::vector<std::string> matched_nodes;  // names of nodes a rewrite consumed (capped)
  // "rule: reason" -> how often a rule declined with that reason (at most 100 reasons).
  std::map<std::string, int64_t> match_failures;
};

struct PassStats {
  std::string name;
  Level level = Level::kBasic;
  int64_t applied = 0;
  int64_t runs = 0;
  int64_t nodes_before = 0;  // when the pass first ran
  int64_t nodes_after = 0;   // when it last ran
  double time_ms = 0;
  PassRecord record;
};

}  // namespace graphopt
