// `graphopt download JOB -o OUT.onnx [--report R.json]`: fetch a succeeded job's results.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace {

struct DownloadArgs {
  std::string server, job_id, output, report, report_html;
  bool quiet = false;
};

int RunDownload(const DownloadArgs& a) {
  if (a.output.empty() && a.report.empty() && a.report_html.empty()) {
    std::cerr << "graphopt: nothing to download: give -o OUT.onnx, --report R.json and/or "
                 "--report-html R.html\n";
    return kExitError;
  }
  auto stub = MakeStub(a.server);
  if (!a.output.empty()) {
    if (int rc =
            DownloadToFile(*stub, a.server, a.job_id, api::ARTIFACT_KIND_MODEL, a.output, a.quiet);
        rc != kExitOk) {
      return rc;
    }
  }
  if (!a.report.empty()) {
    if (int rc =
            DownloadToFile(*stub, a.server, a.job_id, api::ARTIFACT_KIND_REPORT, a.report, a.quiet);
        rc != kExitOk) {
      return rc;
    }
  }
  if (!a.report_html.empty()) {
    return DownloadToFile(*stub, a.server, a.job_id, api::ARTIFACT_KIND_REPORT_HTML,
                          a.report_html, a.quiet);
  }
  return kExitOk;
}

CommandSetup Setup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<DownloadArgs>();
  CLI::App* cmd = app.add_subcommand("download", "download a job's optimized model and report");
  cmd->add_option("job", a->job_id, "job id")->required();
  AddServerOption(cmd, &a->server);
  cmd->add_option("-o,--output", a->output, "where to write the optimized model");
  cmd->add_option("--report", a->report, "where to write the JSON report");
  cmd->add_option("--report-html", a->report_html, "where to write the report as an HTML page");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
  return [a] { return RunDownload(*a); };
};

GRAPHOPT_REGISTER_COMMAND("download", 65, Setup);

}  // namespace

}  // namespace graphopt::cli
