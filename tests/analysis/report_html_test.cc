// The HTML report (issue 16 item 6): model-provided strings are escaped, and the page renders
// in a real headless browser (Debian's chromium, installed by scripts/setup.sh) with its
// script run and no console message.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "optimizer/report.h"
#include "support/test_support.h"

namespace graphopt {
namespace {

using testing::RunCommand;
using testing::TempDir;

const std::string kHostile = "<script>alert(1)</script>";
const std::string kHostileEscaped = "&lt;script&gt;alert(1)&lt;/script&gt;";

// A report with every section filled and a hostile name wherever the model provides one.
Report HostileReport() {
  Report r;
  r.level = "extended";
  r.target = "cpu";
  r.nodes_before = 3;
  r.nodes_after = 1;
  r.ops_before = {{"Relu", 2}, {"evil.\"'&" + kHostile, 1}};
  r.ops_after = {{"Relu", 1}};
  PassStats p;
  p.name = "fuse_" + kHostile;
  p.applied = 2;
  p.runs = 1;
  p.nodes_before = 3;
  p.nodes_after = 1;
  p.time_ms = 1.5;
  p.record.near_misses.push_back(NearMiss{"rule", kHostile, "reason " + kHostile});
  r.passes.push_back(p);
  r.verification_status = VerificationStatus::kFailed;
  r.verification_message = "not all 1 outputs match " + kHostile;
  r.verification_outputs.push_back(OutputComparison{kHostile, 0.5, 0.25, false, kHostile});
  r.rewrites_total = 2;
  r.culprit = Culprit{2, "fuse_x", "rule_" + kHostile, {kHostile}};
  r.has_metrics = true;
  r.metrics_dims = {{kHostile, 1}};
  r.metrics_before.params = 10;
  r.metrics_before.flops = 100;
  r.metrics_before.families["conv"] = OpCost{50, 100, 1};
  r.metrics_after = r.metrics_before;
  r.metrics_before.latency_ms = 2;
  r.metrics_after.latency_ms = 1;
  r.dropped_passes.push_back(DroppedPass{kHostile, kHostile});
  return r;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ReportHtml, ModelStringsAreEscaped) {
  const std::string html = HostileReport().ToHtml();
  EXPECT_EQ(html.find(kHostile), std::string::npos) << "an unescaped model string";
  // Op type, pass, near-miss node and reason, output name and detail, message, culprit rule and
  // node, metric dim, dropped pass name and reason: each escaped.
  EXPECT_GE(Count(html, kHostileEscaped), 12u);
  EXPECT_NE(html.find("evil.&quot;&#39;&amp;"), std::string::npos);
  // Exactly one script element: ours.
  EXPECT_EQ(Count(html, "<script>"), 1u);
  EXPECT_NE(html.find("id=\"culprit\""), std::string::npos);
  EXPECT_NE(html.find("<svg id=\"pass-chart\""), std::string::npos);
}

// Runs headless chromium on `path`: the DOM after scripts ran, and its console lines.
void Render(const std::string& path, std::string* dom, std::string* console) {
  std::string chromium;
  for (const char* name : {"chromium", "chromium-browser"}) {
    std::string out;
    if (RunCommand(std::string("command -v ") + name, &out) == 0) {
      chromium = name;
      break;
    }
  }
  // Not a skip: scripts/setup.sh installs chromium, so its absence is a broken setup.
  ASSERT_FALSE(chromium.empty()) << "chromium is not installed (scripts/setup.sh installs it)";
  std::string err;
  const int rc =
      RunCommand("timeout 120 " + chromium +
                     " --headless --disable-gpu --no-sandbox --no-first-run "
                     "--user-data-dir=" +
                     TempDir() + " --enable-logging=stderr --v=0 --dump-dom file://" + path,
                 dom, &err);
  ASSERT_EQ(rc, 0) << err;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(":CONSOLE") != std::string::npos) *console += line + "\n";
  }
}

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::string path = std::filesystem::absolute(TempDir() + "/" + name).string();
  std::ofstream(path) << text;
  return path;
}

TEST(ReportHtml, ConsoleCheckCatchesAScriptError) {
  // The negative control: a page whose script throws is reported.
  const std::string path = WriteFile(
      "bad.html", "<!DOCTYPE html><html><body><script>notDefined();</script></body></html>");
  std::string dom, console;
  ASSERT_NO_FATAL_FAILURE(Render(path, &dom, &console));
  EXPECT_NE(console.find("Uncaught"), std::string::npos) << console;
}

TEST(ReportHtml, HostileReportRendersInChromiumWithoutConsoleMessages) {
  const std::string path = WriteFile("hostile.html", HostileReport().ToHtml());
  std::string dom, console;
  ASSERT_NO_FATAL_FAILURE(Render(path, &dom, &console));
  EXPECT_EQ(console, "");
  // The script ran (it sets the marker) and the hostile names stayed text.
  EXPECT_NE(dom.find("data-rendered=\"yes\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("rendered 3 tables"), std::string::npos);
  EXPECT_EQ(dom.find(kHostile), std::string::npos);
  EXPECT_NE(dom.find(kHostileEscaped), std::string::npos);
}

TEST(ReportHtml, CliWritesAPageThatRendersForASharedModel) {
  const std::string model = testing::SharedModel("text_encoder.raw.onnx");
  ASSERT_TRUE(std::filesystem::exists(model)) << model;
  const std::string dir = std::filesystem::absolute(TempDir()).string();
  std::string out, err;
  ASSERT_EQ(RunCommand(testing::CliPath() + " optimize " + model + " -o " + dir +
                           "/o.onnx --level extended --report-html " + dir + "/r.html",
                       &out, &err),
            0)
      << err;
  // The table shows the metrics too.
  EXPECT_NE(out.find("GFLOPs"), std::string::npos) << out;
  EXPECT_NE(out.find("peak activations"), std::string::npos) << out;
  std::string dom, console;
  ASSERT_NO_FATAL_FAILURE(Render(dir + "/r.html", &dom, &console));
  EXPECT_EQ(console, "");
  EXPECT_NE(dom.find("data-rendered=\"yes\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"pass-chart\""), std::string::npos);
  EXPECT_NE(dom.find("id=\"metrics\""), std::string::npos);
  EXPECT_NE(dom.find("reference executor latency"), std::string::npos);
  // text_encoder without --dim leaves attention unfused: the near misses say why.
  EXPECT_NE(dom.find("id=\"near-misses\""), std::string::npos);
  EXPECT_NE(dom.find("passed"), std::string::npos);
}

}  // namespace
}  // namespace graphopt
