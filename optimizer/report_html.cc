// Report::ToHtml: the report as one page a browser opens from disk. Everything is inline (no
// network); node, pass and output names come from the model, so every string goes through
// Escape, and none is ever placed inside the script.
#include <algorithm>
#include <cstdio>
#include <set>
#include <sstream>

#include "optimizer/report.h"

namespace graphopt {

namespace {

std::string Escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Number(double v, const char* format = "%.2f") {
  char buf[64];
  std::snprintf(buf, sizeof(buf), format, v);
  return buf;
}

std::string Int(int64_t v) { return std::to_string(v); }

const char* kStyle = R"(
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{padding:2px 10px;border-bottom:1px solid #eee}
th{text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
.passed{color:#17692a}.failed{color:#b00020}.skipped{color:#8a6d00}
.culprit{background:#fdecea;border:1px solid #b00020;padding:.6em}
svg text{font-size:11px;font-family:system-ui,sans-serif}
)";

// Sortable tables and the marker a test reads to know the script ran (headless --dump-dom).
const char* kScript = R"(
(function(){
  var tables=document.querySelectorAll('table.sortable');
  tables.forEach(function(t){
    t.querySelectorAll('th').forEach(function(th,col){
      th.style.cursor='pointer';
      th.addEventListener('click',function(){
        var body=t.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){
          var x=a.cells[col].textContent,y=b.cells[col].textContent;
          var nx=parseFloat(x),ny=parseFloat(y);
          return (isNaN(nx)||isNaN(ny))?x.localeCompare(y):ny-nx;});
        rows.forEach(function(r){body.appendChild(r);});});});});
  var marker=document.getElementById('render-status');
  marker.setAttribute('data-rendered','yes');
  marker.textContent='rendered '+tables.length+' tables';
})();
)";

void OpCountTable(const Report& r, std::ostringstream& os) {
  os << "<h2>Operators</h2><table class=\"sortable\"><thead><tr><th>op type</th><th>before</th>"
        "<th>after</th></tr></thead><tbody>";
  std::set<std::string> ops;
  for (const auto& [k, v] : r.ops_before) ops.insert(k);
  for (const auto& [k, v] : r.ops_after) ops.insert(k);
  for (const std::string& op : ops) {
    auto count = [&](const std::map<std::string, int64_t>& m) {
      auto it = m.find(op);
      return it == m.end() ? int64_t{0} : it->second;
    };
    os << "<tr><td>" << Escape(op) << "</td><td class=\"n\">" << count(r.ops_before)
       << "</td><td class=\"n\">" << count(r.ops_after) << "</td></tr>";
  }
  os << "</tbody><tfoot><tr><th>nodes</th><th>" << r.nodes_before << "</th><th>" << r.nodes_after
     << "</th></tr></tfoot></table>";
}

// One row per pass: a bar of its time (scaled to the slowest pass) and its nodes before/after.
void PassChart(const Report& r, std::ostringstream& os) {
  os << "<h2>Passes</h2>";
  if (r.passes.empty()) {
    os << "<p>No pass ran.</p>";
    return;
  }
  double max_ms = 0;
  for (const PassStats& p : r.passes) max_ms = std::max(max_ms, p.time_ms);
  const int row = 18, label = 240, bar = 360, height = row * static_cast<int>(r.passes.size()) + 24;
  os << "<svg id=\"pass-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << label + bar + 260
     << "\" height=\"" << height << "\" role=\"img\" aria-label=\"time and nodes per pass\">"
     << "<text x=\"" << label << "\" y=\"12\">time (bar, ms)</text><text x=\"" << label + bar + 10
     << "\" y=\"12\">nodes before &#8594; after, rewrites</text>";
  int y = 20;
  for (const PassStats& p : r.passes) {
    const double width = max_ms > 0 ? bar * p.time_ms / max_ms : 0;
    os << "<g><title>" << Escape(p.name) << ": " << Number(p.time_ms, "%.3f") << " ms, " << p.runs
       << " runs</title><text x=\"" << label - 6 << "\" y=\"" << y + 12 << "\" text-anchor=\"end\">"
       << Escape(p.name) << "</text><rect x=\"" << label << "\" y=\"" << y + 2 << "\" width=\""
       << Number(std::max(width, 1.0)) << "\" height=\"" << row - 4 << "\" fill=\""
       << (p.applied > 0 ? "#3b6fb6" : "#a9b8cc") << "\"/><text x=\"" << label + bar + 10
       << "\" y=\"" << y + 12 << "\">" << p.nodes_before << " &#8594; " << p.nodes_after << ", "
       << p.applied << " applied, " << Number(p.time_ms, "%.2f") << " ms</text></g>";
    y += row;
  }
  os << "</svg>";
}

void MetricsSection(const Report& r, std::ostringstream& os) {
  os << "<h2>Model metrics</h2>";
  if (!r.has_metrics) {
    os << "<p>Not measured.</p>";
    return;
  }
  os << "<p>At";
  for (const auto& [k, v] : r.metrics_dims) os << " " << Escape(k) << "=" << v;
  if (r.metrics_dims.empty()) os << " the model's static shapes";
  os << ".</p><table id=\"metrics\"><thead><tr><th>metric</th><th>before</th><th>after</th>"
        "</tr></thead><tbody>";
  const ModelMetrics &b = r.metrics_before, &a = r.metrics_after;
  auto row = [&](const std::string& what, const std::string& x, const std::string& y) {
    os << "<tr><td>" << what << "</td><td class=\"n\">" << x << "</td><td class=\"n\">" << y
       << "</td></tr>";
  };
  row("parameters", Int(b.params), Int(a.params));
  row("weight bytes", Int(b.weight_bytes), Int(a.weight_bytes));
  row("MACs", Int(b.macs), Int(a.macs));
  row("FLOPs", Int(b.flops), Int(a.flops));
  std::set<std::string> families;
  for (const auto& [k, v] : b.families) families.insert(k);
  for (const auto& [k, v] : a.families) families.insert(k);
  for (const std::string& f : families) {
    auto flops = [&](const ModelMetrics& m) {
      auto it = m.families.find(f);
      return it == m.families.end() ? int64_t{0} : it->second.flops;
    };
    row("&nbsp;&nbsp;FLOPs " + Escape(f), Int(flops(b)), Int(flops(a)));
  }
  row("nodes of unknown cost", Int(b.unknown_cost_nodes), Int(a.unknown_cost_nodes));
  row("peak activation bytes (plan)", Int(b.peak_activation_bytes), Int(a.peak_activation_bytes));
  row("activation bytes (naive sum)", Int(b.naive_activation_bytes), Int(a.naive_activation_bytes));
  row("in-place reuses", Int(b.in_place_reuses), Int(a.in_place_reuses));
  if (b.latency_ms >= 0 && a.latency_ms >= 0) {
    row("reference executor latency (ms)", Number(b.latency_ms), Number(a.latency_ms));
  }
  os << "</tbody></table>";
}

void VerificationSection(const Report& r, std::ostringstream& os) {
  const char* status = VerificationStatusName(r.verification_status);
  os << "<h2>Verification: <span class=\"" << status << "\">" << status << "</span></h2>";
  if (!r.verification_message.empty()) os << "<p>" << Escape(r.verification_message) << "</p>";
  if (!r.verification_ifs.empty()) {
    os << "<ul id=\"ifs\">";
    for (const IfBranchCoverage& c : r.verification_ifs) {
      os << "<li>If <code>" << Escape(c.node) << "</code>: ";
      if (c.both_branches) {
        os << "both branches (<code>" << Escape(c.input) << "</code> = " << c.then_value
           << " then, " << c.else_value << " else)";
      } else {
        os << "one branch only: " << Escape(c.reason);
      }
      os << "</li>";
    }
    os << "</ul>";
  }
  if (r.culprit) {
    const Culprit& c = *r.culprit;
    os << "<div class=\"culprit\" id=\"culprit\"><b>Culprit:</b> rewrite " << c.index << " of "
       << r.rewrites_total << ", pass " << Escape(c.pass) << ", rule " << Escape(c.rule)
       << ", nodes";
    for (const std::string& n : c.nodes) os << " <code>" << Escape(n) << "</code>";
    os << ". Rerun with <code>--bisect-limit " << c.index - 1 << "</code> to stop before it.</div>";
  } else if (!r.bisect_message.empty()) {
    os << "<p>Bisect: " << Escape(r.bisect_message) << "</p>";
  }
  if (r.verification_outputs.empty()) return;
  os << "<table class=\"sortable\"><thead><tr><th>output</th><th>max abs err</th>"
        "<th>max rel err</th><th>match</th><th>detail</th></tr></thead><tbody>";
  for (const OutputComparison& o : r.verification_outputs) {
    os << "<tr><td>" << Escape(o.name) << "</td><td class=\"n\">" << Number(o.max_abs_err, "%.3g")
       << "</td><td class=\"n\">" << Number(o.max_rel_err, "%.3g") << "</td><td class=\""
       << (o.match ? "passed\">yes" : "failed\">no") << "</td><td>" << Escape(o.detail)
       << "</td></tr>";
  }
  os << "</tbody></table>";
}

void NearMisses(const Report& r, std::ostringstream& os) {
  os << "<h2>Near misses</h2>";
  size_t total = 0;
  for (const PassStats& p : r.passes) total += p.record.near_misses.size();
  if (total == 0) {
    os << "<p>None recorded.</p>";
  } else {
    os << "<table class=\"sortable\" id=\"near-misses\"><thead><tr><th>pass</th><th>rule</th>"
          "<th>node</th><th>reason</th></tr></thead><tbody>";
    for (const PassStats& p : r.passes) {
      for (const NearMiss& m : p.record.near_misses) {
        os << "<tr><td>" << Escape(p.name) << "</td><td>" << Escape(m.rule) << "</td><td>"
           << Escape(m.node) << "</td><td>" << Escape(m.reason) << "</td></tr>";
      }
    }
    os << "</tbody></table>";
  }
  if (!r.dropped_passes.empty()) {
    os << "<h2>Passes the target drops</h2><ul>";
    for (const DroppedPass& d : r.dropped_passes) {
      os << "<li><code>" << Escape(d.name) << "</code>: " << Escape(d.reason) << "</li>";
    }
    os << "</ul>";
  }
}

}  // namespace

std::string Report::ToHtml() const {
  std::ostringstream os;
  os << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
        "<title>graphopt report</title><style>"
     << kStyle << "</style></head><body><h1>graphopt report</h1><p>level <b>" << Escape(level)
     << "</b>, target <b>" << Escape(target) << "</b>";
  if (!isa.empty()) os << " (" << Escape(isa) << ")";
  os << ", graphopt " << Escape(graphopt_version) << "; nodes " << nodes_before << " &#8594; "
     << nodes_after << ", size " << bytes_before << " &#8594; " << bytes_after
     << " bytes; time: load " << Number(load_ms, "%.0f") << " ms, optimize "
     << Number(optimize_ms, "%.0f") << " ms, verify " << Number(verify_ms, "%.0f") << " ms</p>";
  VerificationSection(*this, os);
  MetricsSection(*this, os);
  OpCountTable(*this, os);
  PassChart(*this, os);
  NearMisses(*this, os);
  if (!warnings.empty()) {
    os << "<h2>Warnings</h2><ul>";
    for (const std::string& w : warnings) os << "<li>" << Escape(w) << "</li>";
    os << "</ul>";
  }
  os << "<p id=\"render-status\" data-rendered=\"no\"></p><script>" << kScript
     << "</script></body></html>\n";
  return os.str();
}

}  // namespace graphopt
