// Structured server logs through spdlog: one line per event, "event key=value ..." as text or one
// JSON object per line with --log-format json. Every line about a job carries its job_id.
#pragma once

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "optimizer/util/status.h"

namespace graphopt::server {

enum class LogFormat { kText, kJson };

// Configures the default spdlog logger (stderr). `level`: trace|debug|info|warn|error|off.
Status InitLogging(const std::string& level, LogFormat format);

using LogFields = std::vector<std::pair<std::string, nlohmann::json>>;

void LogEvent(spdlog::level::level_enum level, std::string_view event,
              const LogFields& fields = {});

// A job's event: `job_id` comes first in every such line.
void LogJobEvent(spdlog::level::level_enum level, const std::string& job_id, std::string_view event,
                 LogFields fields = {});

}  // namespace graphopt::server
