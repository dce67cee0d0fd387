// Helpers for the deployment tests (see deploy_files.h).
#include "deploy/deploy_files.h"

#include <fstream>
#include <regex>
#include <sstream>

#include "clients/client_server_fixture.h"
#include "support/test_support.h"

namespace graphopt::testing {

std::string SourcePath(const std::string& relative) {
  return std::string(GRAPHOPT_SOURCE_DIR) + "/" + relative;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool HaveProgram(const std::string& program) {
  return RunCommand("command -v " + ShellQuote(program)) == 0;
}

nlohmann::json YamlDocuments(const std::string& yaml_text, std::string* error) {
  const std::string dir = TempDir();
  const std::string in_path = dir + "/in.yaml";
  std::ofstream(in_path, std::ios::binary) << yaml_text;
  std::string out, err;
  const int rc = RunCommand(
      "python3 -c 'import json, sys, yaml; "
      "print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d is not None]))' <" +
          ShellQuote(in_path),
      &out, &err);
  if (rc != 0) {
    *error = "python3 yaml conversion failed (is python3-yaml installed?): " + err;
    return nlohmann::json::value_t::discarded;
  }
  nlohmann::json docs = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (docs.is_discarded()) *error = "python3 printed no JSON";
  return docs;
}

std::set<std::string> GraphoptEnvNames(const std::string& text) {
  static const std::regex kName("GRAPHOPT_[A-Z0-9_]+");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert(it->str());
  }
  return names;
}

std::vector<std::string> SplitWords(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

}  // namespace graphopt::testing
