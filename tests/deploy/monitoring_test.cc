// deploy/prometheus and deploy/grafana: the rules pass promtool's checks and unit tests, the
// dashboard's queries are valid PromQL, and every metric either of them queries is one a real
// graphopt-server exports after running a job.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>

#include "clients/client_server_fixture.h"
#include "deploy/deploy_files.h"
#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

const char* kRules = "deploy/prometheus/graphopt-rules.yml";
const char* kDashboard = "deploy/grafana/graphopt-dashboard.json";

#define PROMTOOL_OR_SKIP()      \
  if (!HaveProgram("promtool")) \
  GTEST_SKIP() << "promtool (Debian package prometheus) is not installed: rules not checked"

struct Queries {
  std::vector<std::string> exprs;  // PromQL as written (dashboard variables included)
  std::set<std::string> recorded;  // names of recording rules
};

Queries RuleQueries() {
  Queries q;
  std::string error;
  const auto docs = YamlDocuments(ReadText(SourcePath(kRules)), &error);
  EXPECT_TRUE(error.empty()) << error;
  if (!docs.is_array() || docs.empty()) return q;
  for (const auto& group : docs[0]["groups"]) {
    for (const auto& rule : group["rules"]) {
      q.exprs.push_back(rule["expr"].get<std::string>());
      if (rule.contains("record")) q.recorded.insert(rule["record"].get<std::string>());
    }
  }
  return q;
}

nlohmann::json Dashboard() {
  auto d = nlohmann::json::parse(ReadText(SourcePath(kDashboard)), nullptr, false);
  EXPECT_FALSE(d.is_discarded()) << kDashboard << " is not JSON";
  return d;
}

std::vector<std::string> DashboardQueries(const nlohmann::json& dashboard) {
  std::vector<std::string> exprs;
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      exprs.push_back(target["expr"].get<std::string>());
    }
  }
  for (const auto& variable : dashboard["templating"]["list"]) {
    if (variable.value("type", "") == "query") {
      exprs.push_back(variable["query"]["query"].get<std::string>());
    }
  }
  return exprs;
}

// Dashboard variables replaced by what Grafana would put there, so promtool can parse it.
std::string WithVariablesFilledIn(std::string expr) {
  expr = std::regex_replace(expr, std::regex(R"(\$__rate_interval)"), "5m");
  expr = std::regex_replace(expr, std::regex(R"(\$(job|instance))"), ".+");
  // label_values(...) is Grafana's, not PromQL: keep its metric selector.
  std::smatch m;
  if (std::regex_match(expr, m, std::regex(R"(label_values\((.*), *\w+\))"))) return m[1];
  return expr;
}

// Metric names queried: graphopt_* and process_* identifiers (not label values or recording
// rule names, which contain ':').
std::set<std::string> MetricNames(const std::string& expr) {
  static const std::regex kName(R"((^|[^A-Za-z0-9_:"])((graphopt|process)_[a-z0-9_]+))");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[2].str());
  }
  return names;
}

std::set<std::string> RecordedNames(const std::string& expr) {
  static const std::regex kName(R"(graphopt:[a-z0-9_:]+)");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(expr.begin(), expr.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

// Series names a /metrics exposition offers, from its TYPE lines (histograms as their _bucket,
// _sum and _count series; a histogram's bare name is not a series).
std::set<std::string> ExportedSeries(const std::string& exposition) {
  std::set<std::string> series;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    const auto words = SplitWords(line.substr(7));
    if (words.size() != 2) continue;
    if (words[1] == "histogram" || words[1] == "summary") {
      for (const char* suffix : {"_sum", "_count"}) series.insert(words[0] + suffix);
      if (words[1] == "histogram") series.insert(words[0] + "_bucket");
    } else {
      series.insert(words[0]);
    }
  }
  return series;
}

TEST(PrometheusRules, PassPromtoolCheck) {
  PROMTOOL_OR_SKIP();
  std::string out, err;
  EXPECT_EQ(RunCommand("promtool check rules " + ShellQuote(SourcePath(kRules)), &out, &err), 0)
      << out << err;
}

// graphopt-rules.test.yml feeds series to every alert: each fires on its situation, none on a
// healthy replica.
TEST(PrometheusRules, PassTheirUnitTests) {
  PROMTOOL_OR_SKIP();
  std::string out, err;
  EXPECT_EQ(RunCommand("cd " + ShellQuote(SourcePath("deploy/prometheus")) +
                           " && promtool test rules graphopt-rules.test.yml",
                       &out, &err),
            0)
      << out << err;
  // Every alert of the rules file is exercised by the unit tests.
  std::string error;
  const auto rules = YamlDocuments(ReadText(SourcePath(kRules)), &error);
  const std::string tests = ReadText(SourcePath("deploy/prometheus/graphopt-rules.test.yml"));
  int alerts = 0;
  for (const auto& group : rules[0]["groups"]) {
    for (const auto& rule : group["rules"]) {
      if (!rule.contains("alert")) continue;
      ++alerts;
      const std::string name = rule["alert"];
      EXPECT_NE(tests.find("alertname: " + name + "\n"), std::string::npos)
          << name << " has no firing test";
    }
  }
  EXPECT_GE(alerts, 6);
}

TEST(PrometheusRules, ExampleConfigPassesPromtoolCheck) {
  PROMTOOL_OR_SKIP();
  std::string out, err;
  EXPECT_EQ(RunCommand("cd " + ShellQuote(SourcePath("deploy/prometheus")) +
                           " && promtool check config prometheus.yml",
                       &out, &err),
            0)
      << out << err;
}

TEST(PrometheusRules, AlertsUseOnlyRecordingRulesDefinedHere) {
  const Queries q = RuleQueries();
  ASSERT_FALSE(q.exprs.empty());
  for (const auto& expr : q.exprs) {
    for (const auto& name : RecordedNames(expr)) {
      EXPECT_TRUE(q.recorded.count(name)) << name << " is not recorded in " << kRules;
    }
  }
}

TEST(GrafanaDashboard, PanelsAreWellFormedAndQueriesAreValidPromql) {
  const auto dashboard = Dashboard();
  ASSERT_TRUE(dashboard.is_object());
  EXPECT_FALSE(dashboard.value("uid", "").empty());
  std::set<int> ids;
  int queries = 0;
  for (const auto& panel : dashboard["panels"]) {
    EXPECT_TRUE(ids.insert(panel["id"].get<int>()).second) << "duplicate panel id " << panel["id"];
    const auto& pos = panel["gridPos"];
    EXPECT_LE(pos["x"].get<int>() + pos["w"].get<int>(), 24) << panel["title"];
    if (panel["type"] == "row") continue;
    ASSERT_TRUE(panel.contains("targets")) << panel["title"];
    for (const auto& target : panel["targets"]) {
      EXPECT_FALSE(target.value("expr", "").empty()) << panel["title"];
      ++queries;
    }
  }
  EXPECT_GE(queries, 10);

  // promtool parses each query as the expression of a recording rule.
  if (!HaveProgram("promtool")) {
    GTEST_SKIP() << "promtool (Debian package prometheus) is not installed: PromQL not parsed";
  }
  nlohmann::json rules = {{"groups", nlohmann::json::array()}};
  nlohmann::json group = {{"name", "dashboard"}, {"rules", nlohmann::json::array()}};
  int n = 0;
  for (const auto& expr : DashboardQueries(dashboard)) {
    group["rules"].push_back({{"record", "dashboard:query_" + std::to_string(n++)},
                              {"expr", WithVariablesFilledIn(expr)}});
  }
  rules["groups"].push_back(group);
  const std::string path = TempDir() + "/dashboard-rules.yml";
  std::ofstream(path) << rules.dump(2);  // JSON is YAML
  std::string out, err;
  EXPECT_EQ(RunCommand("promtool check rules " + ShellQuote(path), &out, &err), 0) << out << err;
}

// The dashboard shows what an operator asks for first.
TEST(GrafanaDashboard, CoversThroughputQueueLatencyFailuresAndMemory) {
  std::set<std::string> names;
  for (const auto& expr : DashboardQueries(Dashboard())) {
    for (const auto& n : MetricNames(expr)) names.insert(n);
  }
  for (const std::string wanted :
       {"graphopt_jobs_total", "graphopt_queue_depth", "graphopt_job_duration_seconds_bucket",
        "graphopt_pass_duration_seconds_bucket", "graphopt_nodes_removed_total",
        "graphopt_verification_failures_total", "process_resident_memory_bytes"}) {
    EXPECT_TRUE(names.count(wanted)) << wanted << " is on no panel";
  }
  bool quantiles = false;
  for (const auto& expr : DashboardQueries(Dashboard())) {
    quantiles |= expr.find("histogram_quantile(0.99") != std::string::npos;
  }
  EXPECT_TRUE(quantiles);
}

// A stream's duration is its lifetime (a WatchJob lasts as long as its job), so a p99 mixing
// them with unary calls says nothing: each latency panel selects one kind by grpc_type. And every
// quantile of a *_seconds histogram is drawn in seconds.
TEST(GrafanaDashboard, SplitsUnaryFromStreamingRpcsAndDrawsDurationsInSeconds) {
  int unary = 0, streaming = 0;
  const auto dashboard = Dashboard();
  for (const auto& panel : dashboard["panels"]) {
    for (const auto& target : panel.value("targets", nlohmann::json::array())) {
      const std::string expr = target["expr"].get<std::string>();
      if (expr.find("graphopt_grpc_request_duration_seconds_bucket") != std::string::npos) {
        const bool is_unary = expr.find("grpc_type=\"unary\"") != std::string::npos;
        const bool is_stream = expr.find("grpc_type!=\"unary\"") != std::string::npos;
        EXPECT_TRUE(is_unary != is_stream) << panel["title"] << ": " << expr;
        unary += is_unary;
        streaming += is_stream;
      }
      if (expr.find("histogram_quantile(") != std::string::npos &&
          expr.find("_seconds_bucket") != std::string::npos) {
        EXPECT_EQ(panel["fieldConfig"]["defaults"].value("unit", ""), "s") << panel["title"];
      }
    }
  }
  EXPECT_EQ(unary, 1);
  EXPECT_EQ(streaming, 1);
}

// Runs one job through a real server (so labelled families have series), then compares every
// name the dashboard and the rules query with the names its /metrics exposition declares.
TEST(MonitoringMetricNames, AreAllExportedByARealServer) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::string error;
  auto running = RunningServer::Start({}, &error);
  ASSERT_NE(running, nullptr) << error;

  // Outcome series exist at 0 before the first job, so failure ratios read 0, not "no data".
  const HttpResponse at_start = HttpRequest(running->metrics_port(), "GET", "/metrics");
  ASSERT_EQ(at_start.status, 200) << at_start.error;
  // Every terminal state, requeue reason and store operation, likewise.
  for (const std::string line : {
           "graphopt_jobs_total{state=\"failed\",level=\"basic\",target=\"generic\"} 0",
           "graphopt_jobs_total{state=\"succeeded\",level=\"basic\",target=\"generic\"} 0",
           "graphopt_jobs_total{state=\"cancelled\",level=\"extended\",target=\"generic\"} 0",
           "graphopt_jobs_total{state=\"cached\",level=\"basic\",target=\"generic\"} 0",
           "graphopt_jobs_requeued_total{reason=\"lease_expired\"} 0",
           "graphopt_jobs_requeued_total{reason=\"shutdown\"} 0",
           "graphopt_store_errors_total{operation=\"finish_job\"} 0",
           "graphopt_store_errors_total{operation=\"write_probe\"} 0",
           "graphopt_store_operation_duration_seconds_count{operation=\"claim_job\"} 0",
       }) {
    EXPECT_NE(at_start.body.find("\n" + line + "\n"), std::string::npos)
        << "missing at start: " << line << "\n"
        << at_start.body;
  }

  const std::string model = SharedModel("squeezenet1_1.raw.onnx");
  std::string out, err;
  ASSERT_EQ(RunCommand(ShellQuote(CliPath()) + " submit " + ShellQuote(model) + " " +
                           running->ServerFlag() + " --wait -q",
                       &out, &err),
            0)
      << out << err << running->Log();

  const HttpResponse metrics = HttpRequest(running->metrics_port(), "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.error;
  // The label the dashboard splits RPC latency by, on the calls the job made.
  for (const std::string series :
       {"graphopt_grpc_requests_total{method=\"UploadModel\",grpc_type=\"client_stream\",",
        "graphopt_grpc_requests_total{method=\"CreateJob\",grpc_type=\"unary\","}) {
    EXPECT_NE(metrics.body.find(series), std::string::npos) << series << "\n" << metrics.body;
  }
  const std::set<std::string> exported = ExportedSeries(metrics.body);
  ASSERT_TRUE(exported.count("graphopt_jobs_total")) << metrics.body;

  std::vector<std::pair<std::string, std::string>> queried;  // (source, expr)
  for (const auto& expr : RuleQueries().exprs) queried.emplace_back(kRules, expr);
  for (const auto& expr : DashboardQueries(Dashboard())) queried.emplace_back(kDashboard, expr);
  int checked = 0;
  for (const auto& [source, expr] : queried) {
    for (const auto& name : MetricNames(expr)) {
      ++checked;
      EXPECT_TRUE(exported.count(name))
          << source << " queries " << name << ", which graphopt-server does not export:\n"
          << expr;
    }
  }
  EXPECT_GE(checked, 30);
}

// The extraction above must see what it is meant to, and nothing else.
TEST(MonitoringMetricNames, ExtractionFindsMetricsNotLabelsOrRecordedNames) {
  const auto names = MetricNames(
      R"(sum(rate(graphopt_jobs_total{job="graphopt_x"}[5m])) / graphopt:workers:sum + )"
      R"(process_open_fds)");
  EXPECT_EQ(names, (std::set<std::string>{"graphopt_jobs_total", "process_open_fds"}));
  EXPECT_EQ(
      ExportedSeries("# TYPE a_seconds histogram\n# TYPE b_total counter\n"),
      (std::set<std::string>{"a_seconds_bucket", "a_seconds_sum", "a_seconds_count", "b_total"}));
}

}  // namespace
}  // namespace graphopt::testing
