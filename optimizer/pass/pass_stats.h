// What each pass did in one run: the report's per-pass rows. IR-free (names and counts only).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "optimizer/pass/level.h"

namespace graphopt {

// One applied rewrite: which original nodes it consumed and which nodes it created (names;
// an in-place rewrite lists its node in both). `index` counts rewrites across all passes of
// one run from 1: the unit of --bisect-limit.
struct RewriteEntry {
  int64_t index = 0;
  std::string rule;
  std::vector<std::string> from, to;
};

// A near miss: a rule's anchor (its root operator) matched a node, but a condition failed.
struct NearMiss {
  std::string rule;
  std::string node;  // the root's name (its operator type when unnamed)
  std::string reason;
};

// What a pass did, by rule: the report shows these so a user can see why a model shrank.
struct PassRecord {
  static constexpr size_t kMaxReasons = 100;
  static constexpr size_t kMaxNames = 200;
  static constexpr size_t kMaxRewrites = 500;
  static constexpr size_t kMaxNearMisses = 200;

  std::map<std::string, int64_t> rule_counts;
  std::vector<std::string> matched_nodes;  // names of nodes a rewrite consumed (capped)
  // "rule: reason" -> how often a rule declined with that reason (at most kMaxReasons).
  std::map<std::string, int64_t> match_failures;
  // Provenance, in the order applied (at most kMaxRewrites; rewrites_dropped counts the rest).
  std::vector<RewriteEntry> rewrites;
  int64_t rewrites_dropped = 0;
  // Distinct (rule, node, reason) near misses, first seen first (at most kMaxNearMisses).
  std::vector<NearMiss> near_misses;
  int64_t near_misses_dropped = 0;
};

// One run of a pass inside one fixed-point round.
struct PassRun {
  int round = 0;  // from 1
  int64_t nodes_before = 0, nodes_after = 0;
  int64_t applied = 0;
  double time_ms = 0;
};

struct PassStats {
  std::string name;
  Level level = Level::kBasic;
  int64_t applied = 0;
  int64_t runs = 0;
  // The pass's own effect: nodes when it first ran, and that count plus the node changes of
  // its own runs only (other passes' changes in between are not counted).
  int64_t nodes_before = 0;
  int64_t nodes_after = 0;
  double time_ms = 0;
  std::vector<PassRun> rounds;  // every run, with its round
  PassRecord record;
};

// What a precision conversion (--quantize, --precision) changed. Conversions change outputs
// within a measured error; they are not passes of a level.
struct ConversionStats {
  std::string name;
  int64_t converted = 0;  // nodes converted
  int64_t kept = 0;       // candidates left as they were
  int64_t weight_bytes_before = 0, weight_bytes_after = 0;  // of the converted weights
  std::vector<std::string> notes;
};

// A pass the target profile keeps from running, and the profile's reason.
struct DroppedPass {
  std::string name;
  std::string reason;
};

// Counts rewrites across the passes of one run and stops them after `limit` (opt-bisect-limit
// style): a pass asks MayRewrite() before each rewrite. The last rewrite is remembered, so a
// run limited to N names the N-th rewrite.
struct RewriteCounter {
  int64_t limit = -1;  // < 0: no limit
  int64_t count = 0;
  std::string pass;    // the pass running now
  RewriteEntry last;   // the last rewrite applied
  std::string last_pass;

  bool MayRewrite() const { return limit < 0 || count < limit; }
};

}  // namespace graphopt
