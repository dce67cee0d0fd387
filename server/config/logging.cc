// Renders structured log events as text or JSON lines.
#include "server/config/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <set>

namespace graphopt::server {

namespace {

std::atomic<LogFormat> g_format{LogFormat::kText};

std::string TextValue(const nlohmann::json& value) {
  if (!value.is_string())
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const std::string& s = value.get_ref<const std::string&>();
  bool plain = !s.empty() && s.find_first_of(" \t\n\"=") == std::string::npos;
  return plain ? s
               : value.dump(-1, ' ', false,
                            nlohmann::json::error_handler_t::replace);  // quoted and escaped when
                                                                        // it would be ambiguous
}

}  // namespace

Status InitLogging(const std::string& level, LogFormat format) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level '" + level + "' (trace|debug|info|warn|error|off)");
  }
  auto logger = std::make_shared<spdlog::logger>("graphopt",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  g_format = format;
  if (format == LogFormat::kJson) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l",%v})");
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  }
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

// Every key of a line once: "time", "level" and "event" belong to the line itself, and a field
// named like one of them, or twice, gets a suffix (a last-wins JSON parser would lose a value).
LogFields UniqueKeys(const LogFields& fields) {
  std::set<std::string> taken = {"time", "level", "event"};
  LogFields out;
  out.reserve(fields.size());
  for (const auto& [key, value] : fields) {
    std::string unique = key;
    for (int n = 2; taken.count(unique); ++n) unique = key + "_" + std::to_string(n);
    taken.insert(unique);
    out.emplace_back(std::move(unique), value);
  }
  return out;
}

void LogEvent(spdlog::level::level_enum level, std::string_view event, const LogFields& given) {
  if (!spdlog::default_logger_raw()->should_log(level)) return;
  const LogFields fields = UniqueKeys(given);
  std::string line;
  if (g_format == LogFormat::kJson) {
    line = "\"event\":" + nlohmann::json(std::string(event)).dump();
    for (const auto& [key, value] : fields) {
      line += "," + nlohmann::json(key).dump() + ":" +
              value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  } else {
    line = std::string(event);
    for (const auto& [key, value] : fields) line += " " + key + "=" + TextValue(value);
  }
  spdlog::default_logger_raw()->log(level, "{}", line);
}

void LogJobEvent(spdlog::level::level_enum level, const std::string& job_id, std::string_view event,
                 LogFields fields) {
  fields.insert(fields.begin(), {"job_id", job_id});
  LogEvent(level, event, fields);
}

}  // namespace graphopt::server
