#include "optimizer/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <set>
#include <sstream>

namespace graphopt {

std::string Report::ToJson(int indent) const {
  using nlohmann::json;
  json j;
  j["level"] = level;
  j["target"] = target;
  if (!isa.empty()) j["isa"] = {{"name", isa}, {"from_host", isa_from_host}};
  j["graphopt_version"] = graphopt_version;
  j["model"] = {{"nodes_before", nodes_before}, {"nodes_after", nodes_after},
                {"ops_before", ops_before},     {"ops_after", ops_after},
                {"bytes_before", bytes_before}, {"bytes_after", bytes_after}};
  json passes_json = json::array();
  for (const auto& p : passes) {
    passes_json.push_back({{"name", p.name},
                           {"level", LevelName(p.level)},
                           {"applied", p.applied},
                           {"runs", p.runs},
                           {"nodes_before", p.nodes_before},
                           {"nodes_after", p.nodes_after},
                           {"time_ms", p.time_ms},
                           {"rules", p.record.rule_counts},
                           {"matched_nodes", p.record.matched_nodes}});
    // Why rules declined, "rule: reason" -> count: what a "why was this not fused" report reads.
    if (!p.record.match_failures.empty()) {
      passes_json.back()["match_failures"] = p.record.match_failures;
    }
  }
  j["passes"] = passes_json;
  if (!warnings.empty()) j["warnings"] = warnings;
  json outputs = json::array();
  for (const auto& o : verification_outputs) {
    json entry = {{"name", o.name}, {"max_abs_err", o.max_abs_err},
                  {"max_rel_err", o.max_rel_err}, {"match", o.match}};
    if (!o.detail.empty()) entry["detail"] = o.detail;
    outputs.push_back(entry);
  }
  j["verification"] = {{"status", verification_status}, {"outputs", outputs}};
  if (verification_status != "skipped") {
    j["verification"]["atol"] = atol;
    j["verification"]["rtol"] = rtol;
  }
  if (!verification_message.empty()) j["verification"]["message"] = verification_message;
  j["verification"]["shapes"] = verification_shapes;
  j["dims"] = {{"symbolic", dims_symbolic}, {"fixed", dims_fixed}};
  j["timing_ms"] = {{"load", load_ms}, {"optimize", optimize_ms}, {"verify", verify_ms},
                    {"save", save_ms}};
  return j.dump(indent);
}

std::string Report::ToTable() const {
  std::ostringstream os;
  char line[160];
  std::snprintf(line, sizeof(line), "%-34s %12s %12s\n", "op type", "before", "after");
  os << line << std::string(60, '-') << "\n";
  std::set<std::string> ops;
  for (const auto& [k, v] : ops_before) ops.insert(k);
  for (const auto& [k, v] : ops_after) ops.insert(k);
  for (const auto& op : ops) {
    auto b = ops_before.count(op) ? ops_before.at(op) : 0;
    auto a = ops_after.count(op) ? ops_after.at(op) : 0;
    std::snprintf(line, sizeof(line), "%-34s %12lld %12lld\n", op.c_str(),
                  static_cast<long long>(b), static_cast<long long>(a));
    os << line;
  }
  os << std::string(60, '-') << "\n";
  std::snprintf(line, sizeof(line), "%-34s %12lld %12lld\n", "nodes", static_cast<long long>(nodes_before),
                static_cast<long long>(nodes_after));
  os << line;
  std::snprintf(line, sizeof(line), "%-34s %11.2fM %11.2fM\n", "model size (MiB)",
                static_cast<double>(bytes_before) / (1 << 20), static_cast<double>(bytes_after) / (1 << 20));
  os << line;
  std::snprintf(line, sizeof(line), "%-34s %s\n", "verification", verification_status.c_str());
  os << line;
  if (!isa.empty()) {
    std::snprintf(line, sizeof(line), "%-34s %s, %s%s\n", "target", target.c_str(), isa.c_str(),
                  isa_from_host ? " (this machine's)" : "");
    os << line;
  }
  std::snprintf(line, sizeof(line),
                "time: load %.0f ms, optimize %.0f ms, verify %.0f ms, save %.0f ms\n", load_ms,
                optimize_ms, verify_ms, save_ms);
  os << line;
  return os.str();
}

}  // namespace graphopt
