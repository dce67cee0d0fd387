// The Prometheus text exposition format, version 0.0.4: what GET /metrics returns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/metrics/sample.h"

namespace graphopt::metrics {

inline constexpr char kTextFormatContentType[] = "text/plain; version=0.0.4; charset=utf-8";

// Renders every family as "# HELP", "# TYPE" and one line per sample.
std::string RenderTextFormat(const std::vector<FamilySnapshot>& families);

// Sample values and "le" bounds: integers without exponent, otherwise the shortest decimal
// that reads back to the same double; "+Inf", "-Inf", "NaN" as Prometheus spells them.
std::string FormatSampleValue(double value);

// Label values escape backslash, double quote and newline; help text escapes backslash and
// newline only.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);

// [a-zA-Z_:][a-zA-Z0-9_:]* and [a-zA-Z_][a-zA-Z0-9_]* (label names starting with "__" are
// reserved for Prometheus itself).
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);

}  // namespace graphopt::metrics
