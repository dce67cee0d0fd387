#include "optimizer/report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>
#include <tuple>

namespace graphopt {

const char* VerificationStatusName(VerificationStatus status) {
  switch (status) {
    case VerificationStatus::kSkipped: return "skipped";
    case VerificationStatus::kPassed: return "passed";
    case VerificationStatus::kFailed: return "failed";
  }
  return "skipped";
}

std::optional<VerificationStatus> ParseVerificationStatus(const std::string& name) {
  for (auto s : {VerificationStatus::kSkipped, VerificationStatus::kPassed,
                 VerificationStatus::kFailed}) {
    if (name == VerificationStatusName(s)) return s;
  }
  return std::nullopt;
}

namespace {

nlohmann::json RewritesJson(const std::vector<RewriteEntry>& rewrites) {
  nlohmann::json out = nlohmann::json::array();
  for (const RewriteEntry& r : rewrites) {
    out.push_back({{"index", r.index}, {"rule", r.rule}, {"from", r.from}, {"to", r.to}});
  }
  return out;
}

nlohmann::json MetricsJson(const ModelMetrics& m) {
  nlohmann::json families = nlohmann::json::object();
  for (const auto& [name, cost] : m.families) {
    families[name] = {{"macs", cost.macs}, {"flops", cost.flops}, {"nodes", cost.nodes}};
  }
  nlohmann::json j = {{"params", m.params},
                      {"weight_bytes", m.weight_bytes},
                      {"macs", m.macs},
                      {"flops", m.flops},
                      {"flops_by_family", families},
                      {"unknown_cost_nodes", m.unknown_cost_nodes},
                      {"peak_activation_bytes", m.peak_activation_bytes},
                      {"naive_activation_bytes", m.naive_activation_bytes},
                      {"in_place_reuses", m.in_place_reuses},
                      {"unplanned_values", m.unplanned_values}};
  if (m.latency_ms >= 0) j["latency_ms"] = m.latency_ms;
  return j;
}

}  // namespace

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
    json rounds = json::array();
    for (const PassRun& r : p.rounds) {
      rounds.push_back({{"round", r.round}, {"nodes_before", r.nodes_before},
                        {"nodes_after", r.nodes_after}, {"applied", r.applied},
                        {"time_ms", r.time_ms}});
    }
    passes_json.back()["rounds"] = rounds;
    passes_json.back()["rewrites"] = RewritesJson(p.record.rewrites);
    if (p.record.rewrites_dropped > 0) {
      passes_json.back()["rewrites_not_listed"] = p.record.rewrites_dropped;
    }
    if (!p.record.near_misses.empty()) {
      json misses = json::array();
      for (const NearMiss& m : p.record.near_misses) {
        misses.push_back({{"rule", m.rule}, {"node", m.node}, {"reason", m.reason}});
      }
      passes_json.back()["near_misses"] = misses;
      if (p.record.near_misses_dropped > 0) {
        passes_json.back()["near_misses_not_listed"] = p.record.near_misses_dropped;
      }
    }
  }
  j["passes"] = passes_json;
  json dropped = json::array();
  for (const DroppedPass& d : dropped_passes) {
    dropped.push_back({{"name", d.name}, {"reason", d.reason}});
  }
  j["dropped_passes"] = dropped;
  j["rewrites_total"] = rewrites_total;
  if (bisect_limit >= 0) j["bisect_limit"] = bisect_limit;
  if (!warnings.empty()) j["warnings"] = warnings;
  if (near_misses_resolved > 0) j["near_misses_resolved"] = near_misses_resolved;
  json outputs = json::array();
  for (const auto& o : verification_outputs) {
    json entry = {{"name", o.name}, {"max_abs_err", o.max_abs_err},
                  {"max_rel_err", o.max_rel_err}, {"match", o.match}};
    if (!o.detail.empty()) entry["detail"] = o.detail;
    outputs.push_back(entry);
  }
  j["verification"] = {{"status", VerificationStatusName(verification_status)},
                       {"kind", verification_kind},
                       {"outputs", outputs}};
  if (verification_kind == "accuracy") {
    json accuracy = json::array();
    for (const auto& o : accuracy_outputs) {
      json entry = {{"name", o.name}, {"max_abs_err", o.max_abs_err},
                    {"max_rel_err", o.max_rel_err}, {"cosine", o.cosine}, {"ok", o.match}};
      if (!o.detail.empty()) entry["detail"] = o.detail;
      accuracy.push_back(entry);
    }
    j["verification"]["accuracy"] = {{"samples", accuracy_samples},
                                     {"min_cosine", min_cosine},
                                     {"outputs", accuracy}};
    if (max_error) j["verification"]["accuracy"]["max_error"] = *max_error;
  }
  if (!conversions.empty()) {
    json list = json::array();
    for (const ConversionStats& c : conversions) {
      list.push_back({{"name", c.name},
                      {"converted", c.converted},
                      {"kept", c.kept},
                      {"weight_bytes_before", c.weight_bytes_before},
                      {"weight_bytes_after", c.weight_bytes_after},
                      {"notes", c.notes}});
    }
    j["conversions"] = list;
  }
  if (verification_status != VerificationStatus::kSkipped) {
    j["verification"]["atol"] = atol;
    j["verification"]["rtol"] = rtol;
  }
  if (!verification_message.empty()) j["verification"]["message"] = verification_message;
  j["verification"]["shapes"] = verification_shapes;
  j["verification"]["int_inputs"] = verification_int_inputs;
  json ifs = json::array();
  for (const IfBranchCoverage& c : verification_ifs) {
    json entry = {{"node", c.node}, {"both_branches", c.both_branches}};
    if (c.both_branches) {
      entry["input"] = c.input;
      entry["then"] = c.then_value;
      entry["else"] = c.else_value;
    } else {
      entry["reason"] = c.reason;
    }
    ifs.push_back(entry);
  }
  j["verification"]["ifs"] = ifs;
  if (culprit) {
    j["verification"]["culprit"] = {{"index", culprit->index},
                                    {"pass", culprit->pass},
                                    {"rule", culprit->rule},
                                    {"nodes", culprit->nodes}};
  }
  if (!bisect_message.empty()) j["verification"]["bisect"] = bisect_message;
  j["dims"] = {{"symbolic", dims_symbolic}, {"fixed", dims_fixed}};
  if (has_metrics) {
    j["metrics"] = {{"dims", metrics_dims},
                    {"before", MetricsJson(metrics_before)},
                    {"after", MetricsJson(metrics_after)}};
  }
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
  if (has_metrics) os << MetricsTable();
  std::snprintf(line, sizeof(line), "%-34s %s\n", "verification",
                VerificationStatusName(verification_status));
  os << line;
  for (const IfBranchCoverage& c : verification_ifs) {
    os << "  If " << c.node << ": ";
    if (c.both_branches) {
      os << "both branches (" << c.input << "=" << c.then_value << " then, " << c.else_value
         << " else)\n";
    } else {
      os << "one branch only: " << c.reason << "\n";
    }
  }
  for (const ConversionStats& c : conversions) {
    std::snprintf(line, sizeof(line), "conversion %-23s %lld converted, %lld kept, weights %.2fM -> %.2fM\n",
                  c.name.c_str(), static_cast<long long>(c.converted),
                  static_cast<long long>(c.kept), static_cast<double>(c.weight_bytes_before) / (1 << 20),
                  static_cast<double>(c.weight_bytes_after) / (1 << 20));
    os << line;
  }
  for (const OutputComparison& o : accuracy_outputs) {
    std::snprintf(line, sizeof(line), "accuracy %-25s cosine %.5f, max abs err %.3g, max rel err %.3g\n",
                  o.name.c_str(), o.cosine, o.max_abs_err, o.max_rel_err);
    os << line;
  }
  if (culprit) {
    os << "culprit: rewrite " << culprit->index << " of " << rewrites_total << ", pass "
       << culprit->pass << ", rule " << culprit->rule << ", nodes";
    for (const auto& n : culprit->nodes) os << " " << n;
    os << "\n  (rerun with --bisect-limit " << culprit->index - 1 << " to stop before it)\n";
  } else if (!bisect_message.empty()) {
    os << "bisect: " << bisect_message << "\n";
  }
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

std::string Report::MetricsTable() const {
  std::ostringstream os;
  char line[160];
  auto row = [&](const std::string& what, double before, double after, const char* unit) {
    std::snprintf(line, sizeof(line), "%-34s %11.2f%s %11.2f%s\n", what.c_str(), before, unit,
                  after, unit);
    os << line;
  };
  const ModelMetrics &b = metrics_before, &a = metrics_after;
  row("params", b.params / 1e6, a.params / 1e6, "M");
  row("weights (MiB)", b.weight_bytes / double(1 << 20), a.weight_bytes / double(1 << 20), "M");
  std::set<std::string> families;
  for (const auto& [name, cost] : b.families) families.insert(name);
  for (const auto& [name, cost] : a.families) families.insert(name);
  row("GFLOPs", b.flops / 1e9, a.flops / 1e9, "G");
  for (const std::string& f : families) {
    auto flops = [&](const ModelMetrics& m) {
      auto it = m.families.find(f);
      return it == m.families.end() ? 0.0 : it->second.flops / 1e9;
    };
    row("  " + f, flops(b), flops(a), "G");
  }
  row("peak activations (MiB, plan)", b.peak_activation_bytes / double(1 << 20),
      a.peak_activation_bytes / double(1 << 20), "M");
  row("  naive sum (MiB)", b.naive_activation_bytes / double(1 << 20),
      a.naive_activation_bytes / double(1 << 20), "M");
  if (b.latency_ms >= 0 && a.latency_ms >= 0) {
    row("reference latency (ms)", b.latency_ms, a.latency_ms, " ");
  }
  if (!metrics_dims.empty()) {
    os << "  (metrics at";
    for (const auto& [k, v] : metrics_dims) os << " " << k << "=" << v;
    os << ")\n";
  }
  return os.str();
}

std::string Report::ExplainText(size_t top) const {
  std::ostringstream os;
  // Reasons by frequency over all passes: "rule: reason" -> count, with the first nodes.
  struct Reason {
    int64_t count = 0;
    std::string pass;
    std::vector<std::string> nodes;
  };
  std::map<std::string, Reason> reasons;
  size_t total = 0;
  for (const PassStats& p : passes) {
    for (const NearMiss& m : p.record.near_misses) {
      Reason& r = reasons[m.rule + ": " + m.reason];
      r.count++;
      r.pass = p.name;
      if (r.nodes.size() < 3) r.nodes.push_back(m.node);
      ++total;
    }
  }
  std::vector<std::pair<std::string, Reason>> sorted(reasons.begin(), reasons.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second.count > b.second.count; });
  os << "near misses (a pattern's anchor matched, a condition failed): " << total << " at "
     << reasons.size() << " distinct reasons\n";
  for (size_t i = 0; i < sorted.size() && i < top; ++i) {
    const auto& [key, r] = sorted[i];
    os << "  " << r.count << "x " << r.pass << " / " << key << "\n     at";
    for (const auto& n : r.nodes) os << " " << n;
    if (r.count > static_cast<int64_t>(r.nodes.size())) os << " ...";
    os << "\n";
  }
  if (sorted.size() > top) {
    os << "  (" << sorted.size() - top << " more reasons in the JSON report: passes[].near_misses)\n";
  }
  os << "passes the target '" << target << "' drops: " << dropped_passes.size() << "\n";
  for (const DroppedPass& d : dropped_passes) os << "  " << d.name << ": " << d.reason << "\n";
  return os.str();
}

std::string Report::ProvenanceJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const PassStats& p : passes) {
    for (const RewriteEntry& r : p.record.rewrites) {
      out.push_back({{"index", r.index}, {"pass", p.name}, {"rule", r.rule}, {"from", r.from},
                     {"to", r.to}});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["index"].get<int64_t>() < b["index"].get<int64_t>();
  });
  return out.dump();
}

}  // namespace graphopt
