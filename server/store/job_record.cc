// JSON form of job options (stored in the jobs table) and the canonical result key.
#include "server/store/job_record.h"

#include <chrono>
#include <nlohmann/json.hpp>

namespace graphopt::server {

const char* JobStateName(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kSucceeded:
      return "succeeded";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

JobEventType TerminalEventType(JobState s) {
  switch (s) {
    case JobState::kSucceeded:
      return JobEventType::kSucceeded;
    case JobState::kCancelled:
      return JobEventType::kCancelled;
    default:
      return JobEventType::kFailed;
  }
}

namespace {

nlohmann::json ResultRelevantJson(const JobOptionsRecord& o) {
  nlohmann::json j;
  j["level"] = o.level;
  j["target"] = o.target;
  j["dims"] = o.dims;
  j["enable"] = o.enable;
  j["disable"] = o.disable;
  j["verify"] = o.verify;
  j["atol"] = o.atol ? nlohmann::json(*o.atol) : nlohmann::json(nullptr);
  j["rtol"] = o.rtol ? nlohmann::json(*o.rtol) : nlohmann::json(nullptr);
  // Only when asked for, so the keys of jobs without conversions stay what they were.
  if (!o.quantize.empty()) j["quantize"] = o.quantize;
  if (!o.precision.empty()) j["precision"] = o.precision;
  if (o.max_error) j["max_error"] = *o.max_error;
  if (o.min_cosine) j["min_cosine"] = *o.min_cosine;
  return j;
}

}  // namespace

std::string JobOptionsRecord::ResultKeyText() const { return ResultRelevantJson(*this).dump(); }

std::string JobOptionsRecord::ToJson() const {
  nlohmann::json j = ResultRelevantJson(*this);
  j["priority"] = priority;
  return j.dump();
}

Result<JobOptionsRecord> JobOptionsRecord::FromJson(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return Internal("stored job options are not JSON");
  try {
    JobOptionsRecord o;
    o.level = j.at("level").get<std::string>();
    o.target = j.at("target").get<std::string>();
    o.dims = j.at("dims").get<std::map<std::string, int64_t>>();
    o.enable = j.at("enable").get<std::set<std::string>>();
    o.disable = j.at("disable").get<std::set<std::string>>();
    o.verify = j.at("verify").get<bool>();
    if (!j.at("atol").is_null()) o.atol = j.at("atol").get<double>();
    if (!j.at("rtol").is_null()) o.rtol = j.at("rtol").get<double>();
    o.quantize = j.value("quantize", "");
    o.precision = j.value("precision", "");
    if (j.contains("max_error")) o.max_error = j.at("max_error").get<double>();
    if (j.contains("min_cosine")) o.min_cosine = j.at("min_cosine").get<double>();
    o.priority = j.value("priority", 0);
    return o;
  } catch (const nlohmann::json::exception& e) {
    return Internal(std::string("stored job options are malformed: ") + e.what());
  }
}

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace graphopt::server
