#include "server/worker/worker_protocol.h"

#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

namespace graphopt::server {

using nlohmann::json;

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::string EncodeWorkerRequest(const RunRequest& request) {
  return json{{"job_id", request.job_id},
              {"model_path", request.model_path},
              {"output_path", request.output_path},
              {"options", request.options.ToJson()},
              {"pass_delay_ms", request.pass_delay_ms}}
      .dump();
}

Status DecodeWorkerRequest(const std::string& text, RunRequest* request) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("worker request is not JSON");
  try {
    request->job_id = j.at("job_id").get<std::string>();
    request->model_path = j.at("model_path").get<std::string>();
    request->output_path = j.at("output_path").get<std::string>();
    request->pass_delay_ms = j.at("pass_delay_ms").get<int>();
    ASSIGN_OR_RETURN(request->options,
                     JobOptionsRecord::FromJson(j.at("options").get<std::string>()));
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("worker request: ") + e.what());
  }
  return Status::Ok();
}

std::string EncodeProgressMessage(const RunProgress& p) {
  return json{{"progress",
               {{"stage", p.stage},
                {"pass_index", p.pass_index},
                {"pass_count", p.pass_count},
                {"pass_name", p.pass_name},
                {"round", p.round}}}}
             .dump() +
         "\n";
}

std::string EncodeResultMessage(Result<RunOutcome> result) {
  json j;
  if (!result.ok()) {
    j["error"] = {{"code", static_cast<int>(result.status().code())},
                  {"message", result.status().message()}};
  } else {
    const RunOutcome& o = *result;
    json passes = json::array();
    for (const auto& pass : o.passes) {
      passes.push_back({{"name", pass.name}, {"seconds", pass.seconds}, {"applied", pass.applied}});
    }
    j["outcome"] = {
        {"report_json", o.report_json},           {"report_html", o.report_html},
        {"nodes_before", o.nodes_before},
        {"nodes_after", o.nodes_after},           {"bytes_before", o.bytes_before},
        {"bytes_after", o.bytes_after},           {"verification_status", o.verification_status},
        {"graphopt_version", o.graphopt_version}, {"passes", passes}};
    if (!o.failure.ok()) {
      j["outcome"]["failure"] = {{"code", static_cast<int>(o.failure.code())},
                                 {"message", o.failure.message()}};
    }
  }
  return j.dump() + "\n";
}

namespace {

// Reads an error status as the worker sends it ({"code": N, "message": "..."}, never ok) into
// `*out`; the return value says whether the message was well formed.
Status DecodeStatus(const json& j, Status* out) {
  const int code = j.at("code").get<int>();
  if (code <= 0 || code > static_cast<int>(StatusCode::kUnavailable)) {
    return Internal("worker sent an unknown status code");
  }
  *out = Status(static_cast<StatusCode>(code), j.at("message").get<std::string>());
  return Status::Ok();
}

}  // namespace

Result<WorkerMessage> DecodeWorkerMessage(const std::string& line) {
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Internal("worker sent a line that is not JSON");
  WorkerMessage m;
  try {
    if (j.contains("progress")) {
      const json& p = j["progress"];
      m.kind = WorkerMessage::kProgress;
      m.progress = RunProgress{p.at("stage").get<std::string>(), p.at("pass_index").get<int>(),
                               p.at("pass_count").get<int>(), p.at("pass_name").get<std::string>(),
                               p.value("round", 0)};
    } else if (j.contains("error")) {
      m.kind = WorkerMessage::kResult;
      RETURN_IF_ERROR(DecodeStatus(j["error"], &m.status));
    } else if (j.contains("outcome")) {
      m.kind = WorkerMessage::kResult;
      const json& o = j["outcome"];
      m.outcome.report_json = o.at("report_json").get<std::string>();
      m.outcome.report_html = o.value("report_html", std::string());
      m.outcome.nodes_before = o.at("nodes_before").get<int64_t>();
      m.outcome.nodes_after = o.at("nodes_after").get<int64_t>();
      m.outcome.bytes_before = o.at("bytes_before").get<int64_t>();
      m.outcome.bytes_after = o.at("bytes_after").get<int64_t>();
      m.outcome.verification_status = o.at("verification_status").get<std::string>();
      m.outcome.graphopt_version = o.at("graphopt_version").get<std::string>();
      for (const json& pass : o.at("passes")) {
        m.outcome.passes.push_back({pass.at("name").get<std::string>(),
                                    pass.at("seconds").get<double>(),
                                    pass.at("applied").get<int64_t>()});
      }
      if (o.contains("failure")) RETURN_IF_ERROR(DecodeStatus(o["failure"], &m.outcome.failure));
    } else {
      return Internal("worker sent an unknown message");
    }
  } catch (const json::exception& e) {
    return Internal(std::string("worker message: ") + e.what());
  }
  return m;
}

}  // namespace graphopt::server
