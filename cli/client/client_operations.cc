// Upload, follow and download, as used by submit, watch and download.
#include "cli/client/client_operations.h"

#include "resource_labels.h"

#include <google/protobuf/util/json_util.h>
#include <onnx/onnx_pb.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include "cli/client/progress_bar.h"
#include "cli/command.h"

namespace graphopt::cli {

namespace fs = std::filesystem;

namespace {

// Small enough to interleave with other streams, large enough to keep per-message overhead low.
constexpr size_t kUploadChunkBytes = 1 << 20;

void CollectLocations(const onnx::GraphProto& graph, std::set<std::string>* out) {
  auto add = [out](const onnx::TensorProto& t) {
    if (t.data_location() != onnx::TensorProto::EXTERNAL) return;
    for (const auto& entry : t.external_data()) {
      if (entry.key() == "location") out->insert(entry.value());
    }
  };
  for (const auto& t : graph.initializer()) add(t);
  for (const auto& node : graph.node()) {
    for (const auto& attr : node.attribute()) {
      if (attr.has_t()) add(attr.t());
      if (attr.has_g()) CollectLocations(attr.g(), out);
      for (const auto& g : attr.graphs()) CollectLocations(g, out);
    }
  }
}

std::string EventDetail(const api::JobEvent& e) {
  const auto& p = e.progress();
  switch (e.type()) {
    case api::JobEvent::TYPE_QUEUED:
      return "queued";
    case api::JobEvent::TYPE_STARTED:
      return "started";
    case api::JobEvent::TYPE_PASS:
      return PassProgressText(p);
    case api::JobEvent::TYPE_VERIFYING:
      return "verifying";
    default: {
      std::string d = JobStateName(e.state());
      if (!p.stage().empty() && !IsTerminal(e.state())) d += " (" + p.stage() + ")";
      return d;
    }
  }
}

}  // namespace

void PrintJsonLine(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::cout << json << "\n" << std::flush;
}

std::string ParseLabelSpecs(const std::vector<std::string>& specs,
                            std::map<std::string, std::string>* out) {
  for (const auto& spec : specs) {
    std::string key, value;
    if (std::string error = ParseLabelArgument(spec, &key, &value); !error.empty()) return error;
    (*out)[key] = value;
  }
  return CheckLabels(*out, "--label");
}

std::string ParseModelIdentity(const std::string& name, const std::string& version,
                               const std::vector<std::string>& label_specs, ModelIdentity* out) {
  if (std::string error = CheckModelName(name, "--name"); !error.empty()) return error;
  if (std::string error = CheckModelVersion(version, "--version"); !error.empty()) return error;
  if (name.empty() && !version.empty()) return "--version needs --name";
  out->name = name;
  out->version = version;
  return ParseLabelSpecs(label_specs, &out->labels);
}

int UploadFile(api::OptimizerService::Stub& stub, const std::string& server,
               const std::string& path, api::FileKind kind, bool quiet, api::Model* model,
               const ModelIdentity& identity) {
  std::ifstream in(path, std::ios::binary);
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!in || ec) {
    std::cerr << "graphopt: cannot read '" << path << "'\n";
    return kExitError;
  }
  grpc::ClientContext context;
  auto writer = stub.UploadModel(&context, model);
  api::UploadModelRequest request;
  auto* metadata = request.mutable_metadata();
  metadata->set_file_name(fs::path(path).filename().string());
  metadata->set_declared_size(static_cast<int64_t>(size));
  metadata->set_kind(kind);
  metadata->set_name(identity.name);
  metadata->set_version(identity.version);
  metadata->mutable_labels()->insert(identity.labels.begin(), identity.labels.end());
  ProgressBar bar("upload " + fs::path(path).filename().string(), quiet);
  bool open = writer->Write(request);
  std::string buffer(kUploadChunkBytes, '\0');
  uint64_t sent = 0;
  while (open && sent < size) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    request.set_chunk(buffer.data(), n);
    // A false Write means the server already ended the call (e.g. size over its limit):
    // stop sending and let Finish() say why.
    open = writer->Write(request);
    sent += n;
    bar.Update(
        size ? static_cast<double>(sent) / size : 1.0,
        FormatBytes(static_cast<double>(sent)) + " / " + FormatBytes(static_cast<double>(size)));
  }
  if (open) writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) {
    bar.Clear();
    return ReportRpcError(status, server);
  }
  bar.Finish("uploaded " + fs::path(path).filename().string() + " (" +
             FormatBytes(static_cast<double>(model->size_bytes())) + ") as " + model->digest());
  return kExitOk;
}

int ExternalDataLocations(const std::string& path, std::vector<std::string>* locations) {
  std::ifstream in(path, std::ios::binary);
  onnx::ModelProto proto;
  if (!in) {
    std::cerr << "graphopt: cannot read '" << path << "'\n";
    return kExitError;
  }
  // Not parseable: upload it anyway and let the server's validation give the verdict, so the
  // CLI and every other client see the same error.
  if (!proto.ParseFromIstream(&in)) return kExitOk;
  std::set<std::string> found;
  CollectLocations(proto.graph(), &found);
  locations->assign(found.begin(), found.end());
  return kExitOk;
}

int FollowJob(api::OptimizerService::Stub& stub, const std::string& server,
              const std::string& job_id, bool quiet, bool json_events, api::Job* job) {
  ProgressBar bar("job " + job_id, quiet);
  grpc::ClientContext context;
  api::WatchJobRequest request;
  request.set_job_id(job_id);
  auto reader = stub.WatchJob(&context, request);
  api::JobEvent event;
  bool finished = false;
  while (reader->Read(&event)) {
    if (json_events) PrintJsonLine(event);
    if (event.has_job()) *job = event.job();
    const double fraction = PassFraction(event.progress());
    const bool terminal =
        IsTerminal(event.state()) && event.type() != api::JobEvent::TYPE_UNSPECIFIED;
    if (terminal) {
      if (!event.has_job()) {
        job->set_id(job_id);
        job->set_state(event.state());
        *job->mutable_error() = event.error();
      }
      finished = true;
      context.TryCancel();  // nothing more to wait for
      break;
    }
    // Pass events are no milestones: in plain mode a line per quarter of a round, not one per
    // pass of every fixed-point round.
    bar.Update(fraction, EventDetail(event), /*milestone=*/event.type() != api::JobEvent::TYPE_PASS);
  }
  const grpc::Status status = reader->Finish();
  if (!finished) {
    bar.Clear();
    if (!status.ok()) return ReportRpcError(status, server);
    // The server ended the stream early (it is shutting down): ask once more.
    grpc::ClientContext get_context;
    SetUnaryDeadline(&get_context);
    api::GetJobRequest get;
    get.set_job_id(job_id);
    const grpc::Status get_status = stub.GetJob(&get_context, get, job);
    if (!get_status.ok()) return ReportRpcError(get_status, server);
    if (!IsTerminal(job->state())) {
      std::cerr << "graphopt: the server stopped the watch of job " << job_id
                << " before it finished (state " << JobStateName(job->state())
                << "); run `graphopt watch " << job_id << "` again\n";
      return kExitError;
    }
  }
  bar.Finish(DescribeOutcome(*job));
  return kExitOk;
}

int DownloadToFile(api::OptimizerService::Stub& stub, const std::string& server,
                   const std::string& job_id, api::ArtifactKind kind, const std::string& path,
                   bool quiet) {
  const std::string what = kind == api::ARTIFACT_KIND_REPORT        ? "report"
                           : kind == api::ARTIFACT_KIND_REPORT_HTML ? "HTML report"
                                                                    : "model";
  const std::string partial = path + ".part";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::cerr << "graphopt: cannot write '" << partial << "'\n";
    return kExitError;
  }
  grpc::ClientContext context;
  api::DownloadArtifactRequest request;
  request.set_job_id(job_id);
  request.set_kind(kind);
  auto reader = stub.DownloadArtifact(&context, request);
  api::ArtifactChunk chunk;
  int64_t total = -1, received = 0;
  ProgressBar bar("download " + what, quiet);
  bool offsets_ok = true;
  while (reader->Read(&chunk)) {
    if (total < 0) total = chunk.total_size();
    if (chunk.offset() != received) offsets_ok = false;
    out.write(chunk.data().data(), static_cast<std::streamsize>(chunk.data().size()));
    received += static_cast<int64_t>(chunk.data().size());
    bar.Update(total > 0 ? static_cast<double>(received) / total : -1,
               FormatBytes(static_cast<double>(received)));
  }
  const grpc::Status status = reader->Finish();
  out.close();
  std::error_code ignored;
  if (!status.ok()) {
    fs::remove(partial, ignored);
    bar.Clear();
    return ReportRpcError(status, server);
  }
  if (!out || !offsets_ok || (total >= 0 && received != total)) {
    fs::remove(partial, ignored);
    bar.Clear();
    std::cerr << "graphopt: the " << what << " of job " << job_id << " arrived incomplete ("
              << received << " of " << total << " bytes)\n";
    return kExitError;
  }
  std::error_code ec;
  fs::rename(partial, path, ec);
  if (ec) {
    std::cerr << "graphopt: cannot write '" << path << "': " << ec.message() << "\n";
    return kExitError;
  }
  bar.Finish("wrote " + what + " " + path + " (" + FormatBytes(static_cast<double>(received)) +
             ")");
  return kExitOk;
}

}  // namespace graphopt::cli
