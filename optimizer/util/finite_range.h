// A CLI11 check for numeric options that must be finite: CLI::Range lets "nan" through (every
// comparison with NaN is false) and "inf" whenever the upper bound is the largest double.
#pragma once

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <sstream>
#include <string>

namespace graphopt {

// `hi` defaults to the largest double: then the description reads ">= lo".
inline CLI::Validator FiniteRange(double lo, double hi = std::numeric_limits<double>::max()) {
  std::ostringstream range;
  if (hi == std::numeric_limits<double>::max()) {
    range << ">= " << lo;
  } else {
    range << "in [" << lo << ", " << hi << "]";
  }
  const std::string description = "a finite number " + range.str();
  return CLI::Validator(
      [lo, hi, description](std::string& input) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(input.c_str(), &end);
        if (input.empty() || end != input.c_str() + input.size() || !std::isfinite(v) || v < lo ||
            v > hi) {
          return "'" + input + "' is not " + description;
        }
        return std::string();
      },
      "FINITE " + range.str());
}

}  // namespace graphopt
