// Dockerfile reading for the container tests (see dockerfile_parser.h).
#include "deploy/dockerfile_parser.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "deploy/deploy_files.h"

namespace graphopt::testing {

std::vector<std::string> DockerStage::All(const std::string& keyword) const {
  std::vector<std::string> out;
  for (const auto& i : instructions) {
    if (i.keyword == keyword) out.push_back(i.args);
  }
  return out;
}

std::vector<std::string> DockerStage::AptInstalledPackages() const {
  std::vector<std::string> packages;
  for (const std::string& run : All("RUN")) {
    const std::vector<std::string> words = SplitWords(run);
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] != "apt-get" || words[i + 1] != "install") continue;
      // Arguments up to the end of this shell command; options start with '-'.
      for (size_t j = i + 2; j < words.size(); ++j) {
        const std::string& w = words[j];
        if (w == "&&" || w == ";" || w == "||" || w == "|" || w == "\\") break;
        if (w.front() == '-') continue;
        packages.push_back(w);
      }
    }
  }
  return packages;
}

std::vector<DockerStage> ParseDockerfile(const std::string& text) {
  // Join continuation lines first; comment lines inside a continuation are dropped, as Docker
  // does.
  std::vector<std::string> logical;
  std::istringstream in(text);
  std::string current;
  bool continuing = false;
  for (std::string line; std::getline(in, line);) {
    std::string trimmed = line;
    trimmed.erase(0, trimmed.find_first_not_of(" \t"));
    if (trimmed.empty() && !continuing) continue;
    if (!trimmed.empty() && trimmed.front() == '#') continue;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.pop_back();
    }
    const bool continues = !line.empty() && line.back() == '\\';
    if (continues) line.pop_back();
    current += (continuing ? " " : "") + line;
    continuing = continues;
    if (!continuing) {
      logical.push_back(current);
      current.clear();
    }
  }
  if (!current.empty()) logical.push_back(current);

  std::vector<DockerStage> stages;
  for (const std::string& l : logical) {
    const size_t start = l.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    const size_t end = l.find_first_of(" \t", start);
    std::string keyword =
        l.substr(start, end == std::string::npos ? std::string::npos : end - start);
    std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    std::string args = end == std::string::npos ? "" : l.substr(end);
    args.erase(0, args.find_first_not_of(" \t"));
    if (keyword == "FROM") {
      DockerStage stage;
      const std::vector<std::string> words = SplitWords(args);
      for (size_t i = 0; i < words.size(); ++i) {
        if (words[i].rfind("--", 0) == 0) continue;  // --platform=...
        if (stage.base.empty()) {
          stage.base = words[i];
        } else if ((words[i] == "AS" || words[i] == "as") && i + 1 < words.size()) {
          stage.name = words[i + 1];
        }
      }
      stages.push_back(stage);
      continue;
    }
    if (stages.empty()) continue;  // ARG before FROM
    stages.back().instructions.push_back({keyword, args});
  }
  return stages;
}

}  // namespace graphopt::testing
