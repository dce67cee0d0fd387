// `graphopt upload` (a model with an optional name, version and labels) and `graphopt models
// list|get|delete`.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/client/client_operations.h"
#include "cli/command.h"
#include "resource_labels.h"

namespace graphopt::cli {

namespace {

struct UploadArgs {
  std::string server, input, name, version;
  std::vector<std::string> labels;
  bool external_data = false, json = false, quiet = false;
};

std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels) {
  std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  std::string text;
  for (const auto& [k, v] : sorted) text += (text.empty() ? "" : ",") + k + "=" + v;
  return text.empty() ? "-" : text;
}

void PrintModel(const api::Model& m) {
  std::printf("%s  %-24s  %-10s  %10s  %-20s  %s\n", m.digest().c_str(),
              m.name().empty() ? "-" : m.name().c_str(),
              m.version().empty() ? "-" : m.version().c_str(),
              FormatBytes(static_cast<double>(m.size_bytes())).c_str(),
              FormatTimestamp(m.created_at()).c_str(), LabelsText(m.labels()).c_str());
}

void PrintModelHeader() {
  std::printf("%-71s  %-24s  %-10s  %10s  %-20s  %s\n", "DIGEST", "NAME", "VERSION", "SIZE",
              "CREATED", "LABELS");
}

int RunUpload(const UploadArgs& a) {
  ModelIdentity identity;
  if (std::string bad = ParseModelIdentity(a.name, a.version, a.labels, &identity); !bad.empty()) {
    std::cerr << "graphopt: " << bad << "\n";
    return kExitError;
  }
  auto stub = MakeStub(a.server);
  api::Model model;
  const auto kind = a.external_data ? api::FILE_KIND_EXTERNAL_DATA : api::FILE_KIND_ONNX_MODEL;
  if (int rc = UploadFile(*stub, a.server, a.input, kind, a.quiet, &model, identity);
      rc != kExitOk) {
    return rc;
  }
  if (a.json) {
    PrintJsonLine(model);
  } else {
    std::printf("%s\n", model.digest().c_str());
  }
  return kExitOk;
}

CommandSetup UploadSetup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<UploadArgs>();
  CLI::App* cmd =
      app.add_subcommand("upload", "upload a model to graphopt-server, print its digest");
  AddServerOption(cmd, &a->server);
  cmd->add_option("input", a->input, "the file (.onnx)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--name", a->name, "name of the model ([A-Za-z0-9._/-], up to 128)");
  cmd->add_option("--version", a->version, "version of --name ([A-Za-z0-9._+-], up to 64)");
  cmd->add_option("--label", a->labels, "KEY=VALUE (repeatable; replaces earlier labels)")
      ->allow_extra_args(false);  // one KEY=VALUE per --label, any number of --label
  cmd->add_flag("--external-data", a->external_data, "the file is external data, not a model");
  cmd->add_flag("--json", a->json, "print the model as one JSON line");
  cmd->add_flag("-q,--quiet", a->quiet, "no progress on stderr");
  return [a] { return RunUpload(*a); };
};

struct ModelsArgs {
  std::string server, name, selector, digest;
  int limit = 50;
  bool json = false;
};

int RunModelsList(const ModelsArgs& a) {
  if (std::string bad = CheckModelName(a.name, "--name"); !bad.empty()) {
    std::cerr << "graphopt: " << bad << "\n";
    return kExitError;
  }
  std::vector<LabelRequirement> selector;
  if (std::string bad = ParseLabelSelector(a.selector, &selector); !bad.empty()) {
    std::cerr << "graphopt: --label: " << bad << "\n";
    return kExitError;
  }
  auto stub = MakeStub(a.server);
  api::ListModelsRequest request;
  request.set_name(a.name);
  request.set_label_selector(a.selector);
  std::vector<api::Model> models;
  while (static_cast<int>(models.size()) < a.limit) {
    request.set_page_size(std::min(500, a.limit - static_cast<int>(models.size())));
    api::ListModelsResponse response;
    const grpc::Status status =
        CallUnary(*stub, &api::OptimizerService::Stub::ListModels, request, &response);
    if (!status.ok()) return ReportRpcError(status, a.server);
    for (const auto& m : response.models()) models.push_back(m);
    if (response.next_page_token().empty() || response.models().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  if (!a.json) PrintModelHeader();
  for (const auto& m : models) a.json ? PrintJsonLine(m) : PrintModel(m);
  return kExitOk;
}

int RunModelsGet(const ModelsArgs& a) {
  auto stub = MakeStub(a.server);
  api::GetModelRequest request;
  request.set_digest(a.digest);
  api::Model model;
  const grpc::Status status =
      CallUnary(*stub, &api::OptimizerService::Stub::GetModel, request, &model);
  if (!status.ok()) return ReportRpcError(status, a.server);
  if (a.json) {
    PrintJsonLine(model);
  } else {
    PrintModelHeader();
    PrintModel(model);
  }
  return kExitOk;
}

int RunModelsDelete(const ModelsArgs& a) {
  auto stub = MakeStub(a.server);
  api::DeleteModelRequest request;
  request.set_digest(a.digest);
  api::DeleteModelResponse response;
  const grpc::Status status =
      CallUnary(*stub, &api::OptimizerService::Stub::DeleteModel, request, &response);
  if (!status.ok()) return ReportRpcError(status, a.server);
  PrintDeleted(a.digest, response.reclaimed_bytes());
  return kExitOk;
}

CommandSetup ModelsSetup = [](CLI::App& app) -> std::function<int()> {
  auto a = std::make_shared<ModelsArgs>();
  auto action = std::make_shared<std::function<int()>>();
  CLI::App* cmd = app.add_subcommand("models", "the models uploaded to graphopt-server");
  cmd->require_subcommand(1);
  CLI::App* list = cmd->add_subcommand("list", "uploaded models, newest first");
  AddServerOption(list, &a->server);
  list->add_option("--name", a->name, "only this name");
  list->add_option("--label", a->selector, "label selector: k=v,k!=v,k,!k (all must hold)");
  list->add_option("--limit", a->limit, "at most this many (default 50)");
  list->add_flag("--json", a->json, "one JSON line per model");
  list->callback([a, action] { *action = [a] { return RunModelsList(*a); }; });
  CLI::App* get = cmd->add_subcommand("get", "one model's name, version, labels and size");
  AddServerOption(get, &a->server);
  get->add_option("digest", a->digest, "sha256:...")->required();
  get->add_flag("--json", a->json, "as one JSON line");
  get->callback([a, action] { *action = [a] { return RunModelsGet(*a); }; });
  CLI::App* del = cmd->add_subcommand(
      "delete", "forget an upload and free its bytes (refused while a job uses it)");
  AddServerOption(del, &a->server);
  del->add_option("digest", a->digest, "sha256:...")->required();
  del->callback([a, action] { *action = [a] { return RunModelsDelete(*a); }; });
  return [action] { return *action ? (*action)() : kExitError; };
};

GRAPHOPT_REGISTER_COMMAND("upload", 61, UploadSetup);
GRAPHOPT_REGISTER_COMMAND("models", 63, ModelsSetup);

}  // namespace

}  // namespace graphopt::cli
