// Helpers for the deployment tests: paths under the source tree, reading files, YAML to JSON
// (through python3-yaml), and the GRAPHOPT_* variables graphopt-server documents in --help.
#pragma once

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace graphopt::testing {

// `relative` under the project's source root.
std::string SourcePath(const std::string& relative);
std::string ReadText(const std::string& path);
// True when `program` is on PATH.
bool HaveProgram(const std::string& program);
// Every YAML document of `yaml_text` as one JSON array (empty documents dropped). On failure
// returns a discarded value and sets *error.
nlohmann::json YamlDocuments(const std::string& yaml_text, std::string* error);
// Every GRAPHOPT_[A-Z0-9_]+ word in `text`.
std::set<std::string> GraphoptEnvNames(const std::string& text);
// Words of `text` split on blanks.
std::vector<std::string> SplitWords(const std::string& text);

}  // namespace graphopt::testing
