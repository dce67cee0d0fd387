// The Dockerfile: Debian 12 stages, a runtime stage that installs exactly the packages whose
// libraries the built binaries link (ldd + dpkg -S + apt-cache), a non-root user, the server as
// entrypoint on the declared ports, and a HEALTHCHECK that really tells a ready server from none.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "clients/client_server_fixture.h"
#include "deploy/deploy_files.h"
#include "deploy/dockerfile_parser.h"
#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

// The C and C++ runtimes every Debian image has; their own dependencies are accepted too.
const std::set<std::string> kBaseRuntimePackages = {"libc6", "libstdc++6", "libgcc-s1"};

DockerStage RuntimeStage() {
  const auto stages = ParseDockerfile(ReadText(SourcePath("Dockerfile")));
  if (stages.empty()) return {};
  return stages.back();
}

// Every file a binary loads at run time, as ldd resolves it (vdso excluded). Fails the test on
// "not found".
std::vector<std::string> LinkedLibraries(const std::string& binary) {
  std::string out, err;
  EXPECT_EQ(RunCommand("ldd " + ShellQuote(binary), &out, &err), 0) << err;
  std::vector<std::string> paths;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    EXPECT_EQ(line.find("not found"), std::string::npos) << binary << ": " << line;
    const auto arrow = line.find("=> ");
    std::string path;
    if (arrow != std::string::npos) {
      path = line.substr(arrow + 3);
    } else {
      path = line.substr(line.find_first_not_of(" \t"));  // the dynamic loader itself
    }
    path = path.substr(0, path.find(" ("));
    if (path.empty() || path.front() != '/') continue;  // linux-vdso.so.1
    paths.push_back(path);
  }
  return paths;
}

// The Debian package owning each of `paths` ("" when none), trying each resolved path and the
// /lib <-> /usr/lib spelling (Debian 12 has a merged /usr; dpkg knows each file under one of
// them). One dpkg-query call for all of them: it is slow per call.
std::map<std::string, std::string> OwningPackages(const std::vector<std::string>& paths) {
  std::map<std::string, std::vector<std::string>> candidates;  // path -> spellings
  std::string all;
  for (const auto& path : paths) {
    std::string resolved;
    RunCommand("readlink -f " + ShellQuote(path), &resolved);
    while (!resolved.empty() && resolved.back() == '\n') resolved.pop_back();
    for (const std::string& p : {path, resolved}) {
      if (p.empty()) continue;
      const std::string other = p.rfind("/usr/", 0) == 0 ? p.substr(4) : "/usr" + p;
      for (const std::string& c : {p, other}) {
        candidates[path].push_back(c);
        all += " " + ShellQuote(c);
      }
    }
  }
  // Exits 1 when some spelling is unknown, which is expected; read what it found.
  std::string out;
  RunCommand("dpkg-query -S" + all, &out);
  std::map<std::string, std::string> owner_of_spelling;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("diversion", 0) == 0) continue;
    // "libfoo1:amd64: /usr/lib/x86_64-linux-gnu/libfoo.so.1"
    const auto sep = line.find(": /");
    if (sep == std::string::npos) continue;
    const std::string package = line.substr(0, line.find(':'));
    if (package.find(' ') == std::string::npos) owner_of_spelling[line.substr(sep + 2)] = package;
  }
  std::map<std::string, std::string> owners;
  for (const auto& path : paths) {
    owners[path] = "";
    for (const auto& c : candidates[path]) {
      if (owner_of_spelling.count(c)) {
        owners[path] = owner_of_spelling[c];
        break;
      }
    }
  }
  return owners;
}

// `packages` and everything they depend on or pre-depend on, recursively (alternatives and
// virtual packages included, as apt-cache lists them).
std::set<std::string> DependencyClosure(const std::set<std::string>& packages) {
  std::string list;
  for (const auto& p : packages) list += " " + ShellQuote(p);
  std::string out, err;
  EXPECT_EQ(RunCommand("apt-cache depends --recurse --no-recommends --no-suggests "
                       "--no-conflicts --no-breaks --no-replaces --no-enhances" +
                           list,
                       &out, &err),
            0)
      << err;
  std::set<std::string> closure(packages.begin(), packages.end());
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() == ' ') continue;  // dependency lines are indented
    std::string name = line;
    if (name.front() == '<') name = name.substr(1, name.size() - 2);
    closure.insert(name.substr(0, name.find(':')));
  }
  return closure;
}

TEST(Dockerfile, BuildsOnDebian12AndRunsTheServerAsNonRoot) {
  const auto stages = ParseDockerfile(ReadText(SourcePath("Dockerfile")));
  ASSERT_GE(stages.size(), 2u) << "expected a build stage and a runtime stage";
  for (const auto& stage : stages) {
    EXPECT_TRUE(stage.base == "debian:bookworm" || stage.base == "debian:bookworm-slim")
        << stage.base;
  }
  const DockerStage& runtime = stages.back();
  EXPECT_EQ(runtime.name, "runtime");

  // The runtime stage copies the binaries from the build stage and installs no -dev package.
  bool copies_from_build = false;
  for (const auto& copy : runtime.All("COPY")) {
    copies_from_build |= copy.find("--from=" + stages.front().name) != std::string::npos;
  }
  EXPECT_TRUE(copies_from_build);
  for (const auto& package : runtime.AptInstalledPackages()) {
    EXPECT_EQ(package.find("-dev"), std::string::npos) << package;
  }
  // The build stage builds both programs.
  bool builds_server = false;
  for (const auto& run : stages.front().All("RUN")) {
    builds_server |= run.find("--target graphopt graphopt-server") != std::string::npos;
  }
  EXPECT_TRUE(builds_server);

  const auto users = runtime.All("USER");
  ASSERT_FALSE(users.empty());
  const std::string user = users.back().substr(0, users.back().find(':'));
  EXPECT_NE(user, "root");
  EXPECT_NE(user, "0");

  const auto entrypoints = runtime.All("ENTRYPOINT");
  ASSERT_EQ(entrypoints.size(), 1u);
  auto entrypoint = nlohmann::json::parse(entrypoints[0], nullptr, false);
  ASSERT_TRUE(entrypoint.is_array() && !entrypoint.empty()) << "use the exec (JSON) form";
  EXPECT_EQ(entrypoint[0], "/usr/local/bin/graphopt-server");
}

// ENV's GRAPHOPT_LISTEN / GRAPHOPT_METRICS_LISTEN listen on all interfaces, on the EXPOSEd ports,
// and every GRAPHOPT_* variable the image sets is one graphopt-server reads.
TEST(Dockerfile, ListensOnEveryInterfaceOnTheExposedPorts) {
  const DockerStage runtime = RuntimeStage();
  std::map<std::string, std::string> env;
  for (const auto& line : runtime.All("ENV")) {
    for (const auto& word : SplitWords(line)) {
      const auto eq = word.find('=');
      if (eq != std::string::npos) env[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  std::set<std::string> exposed;
  for (const auto& line : runtime.All("EXPOSE")) {
    for (const auto& word : SplitWords(line)) exposed.insert(word.substr(0, word.find('/')));
  }
  for (const std::string key : {"GRAPHOPT_LISTEN", "GRAPHOPT_METRICS_LISTEN"}) {
    ASSERT_TRUE(env.count(key)) << key;
    std::string host;
    int port = 0;
    const std::string& value = env[key];
    host = value.substr(0, value.rfind(':'));
    port = std::stoi(value.substr(value.rfind(':') + 1));
    EXPECT_EQ(host, "0.0.0.0") << key;
    EXPECT_TRUE(exposed.count(std::to_string(port))) << key << " port " << port << " not EXPOSEd";
  }
  EXPECT_EQ(exposed.size(), 2u);

  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::string help;
  ASSERT_EQ(RunCommand(ShellQuote(server) + " --help", &help), 0);
  const auto known = GraphoptEnvNames(help);
  for (const auto& [key, value] : env) {
    if (key.rfind("GRAPHOPT_", 0) != 0) continue;
    EXPECT_TRUE(known.count(key)) << key << " is not a flag of graphopt-server";
  }
}

void ExpectRuntimeStageProvides(const std::string& binary) {
  const DockerStage runtime = RuntimeStage();
  const auto listed = runtime.AptInstalledPackages();
  ASSERT_FALSE(listed.empty()) << "the runtime stage installs nothing";
  std::set<std::string> roots(listed.begin(), listed.end());
  roots.insert(kBaseRuntimePackages.begin(), kBaseRuntimePackages.end());
  const std::set<std::string> installed = DependencyClosure(roots);

  const auto libraries = LinkedLibraries(binary);
  ASSERT_GT(libraries.size(), 5u) << "ldd found too little in " << binary;
  const auto owners = OwningPackages(libraries);
  for (const auto& library : libraries) {
    const std::string package = owners.at(library);
    ASSERT_FALSE(package.empty()) << library << " (linked by " << binary
                                  << ") belongs to no Debian package";
    EXPECT_TRUE(installed.count(package))
        << library << " comes from " << package
        << ", which the runtime stage neither installs nor gets as a dependency";
  }
}

TEST(Dockerfile, RuntimeStageProvidesEveryLibraryTheServerLinks) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  ExpectRuntimeStageProvides(server);
}

TEST(Dockerfile, RuntimeStageProvidesEveryLibraryTheCliLinks) {
  ExpectRuntimeStageProvides(CliPath());
}

// No passenger packages: each one installed provides a library one of the binaries links
// directly or indirectly (so removing a dependency from the build shrinks the image too).
TEST(Dockerfile, RuntimeStageInstallsOnlyLinkedLibraries) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::set<std::string> providing;
  for (const std::string& binary : {server, CliPath()}) {
    for (const auto& [library, package] : OwningPackages(LinkedLibraries(binary))) {
      providing.insert(package);
    }
  }
  const auto packages = RuntimeStage().AptInstalledPackages();
  std::string list, out, err;
  for (const auto& package : packages) list += " " + ShellQuote(package);
  EXPECT_EQ(RunCommand("apt-cache show --no-all-versions" + list, &out, &err), 0)
      << "not all are Debian 12 packages:" << list << "\n"
      << err;
  for (const auto& package : packages) {
    EXPECT_TRUE(providing.count(package)) << package << " provides no library the binaries link";
  }
}

// HEALTHCHECK's command, run as Docker would (exec form), succeeds against a ready server and
// fails when nothing listens.
TEST(Dockerfile, HealthcheckTellsAReadyServerFromNone) {
  const std::string server = ServerBinary();
  if (server.empty()) GTEST_SKIP() << "graphopt-server is not built";
  const auto checks = RuntimeStage().All("HEALTHCHECK");
  ASSERT_EQ(checks.size(), 1u);
  const auto cmd = checks[0].find("CMD ");
  ASSERT_NE(cmd, std::string::npos);
  auto argv = nlohmann::json::parse(checks[0].substr(cmd + 4), nullptr, false);
  ASSERT_TRUE(argv.is_array() && !argv.empty()) << checks[0];
  std::string command;
  for (const auto& a : argv) command += " " + ShellQuote(a.get<std::string>());

  std::string error;
  auto running = RunningServer::Start({}, &error);
  ASSERT_NE(running, nullptr) << error;
  const std::string env =
      "GRAPHOPT_METRICS_LISTEN=0.0.0.0:" + std::to_string(running->metrics_port());
  std::string out, err;
  EXPECT_EQ(RunCommand(env + command, &out, &err), 0) << out << err;

  const std::string closed =
      "GRAPHOPT_METRICS_LISTEN=0.0.0.0:" + std::to_string(FreeLoopbackPort());
  EXPECT_NE(RunCommand(closed + command, &out, &err), 0);
  running.reset();
  EXPECT_NE(RunCommand(env + command, &out, &err), 0);
}

TEST(Dockerfile, DockerignoreKeepsBuildTreesAndGitOut) {
  const auto words = SplitWords(ReadText(SourcePath(".dockerignore")));
  const std::set<std::string> entries(words.begin(), words.end());
  for (const std::string e : {".git", "build", "build-*", "graphopt-data"}) {
    EXPECT_TRUE(entries.count(e)) << e;
  }
}

}  // namespace
}  // namespace graphopt::testing
