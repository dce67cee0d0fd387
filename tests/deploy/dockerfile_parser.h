// A small Dockerfile reader for the container tests: instructions (continuations joined,
// comments dropped) grouped into build stages, and the packages a stage installs with apt-get.
#pragma once

#include <string>
#include <vector>

namespace graphopt::testing {

struct DockerInstruction {
  std::string keyword;  // upper case: FROM, RUN, ENV, ...
  std::string args;     // the rest of the logical line
};

struct DockerStage {
  std::string base;  // image of FROM
  std::string name;  // after AS, or ""
  std::vector<DockerInstruction> instructions;
  // Every instruction with `keyword`.
  std::vector<std::string> All(const std::string& keyword) const;
  // Package names given to `apt-get install` in this stage's RUN instructions.
  std::vector<std::string> AptInstalledPackages() const;
};

std::vector<DockerStage> ParseDockerfile(const std::string& text);

}  // namespace graphopt::testing
