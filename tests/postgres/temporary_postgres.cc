// Starting and stopping the temporary PostgreSQL cluster of the store tests.
#include "postgres/temporary_postgres.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "clients/client_server_fixture.h"
#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

namespace fs = std::filesystem;

// The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl.
std::string FindBinDir() {
  std::string best;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    const std::string bin = entry.path().string() + "/bin";
    if (fs::exists(bin + "/initdb") && fs::exists(bin + "/pg_ctl") && bin > best) best = bin;
  }
  return best;
}

}  // namespace

std::unique_ptr<TemporaryPostgres> TemporaryPostgres::Start(std::string* error, bool* missing,
                                                            bool durable) {
  *missing = false;
  auto pg = std::unique_ptr<TemporaryPostgres>(new TemporaryPostgres());
  pg->bin_dir_ = FindBinDir();
  if (pg->bin_dir_.empty()) {
    *missing = true;
    *error =
        "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql; "
        "install Debian's postgresql package (scripts/setup.sh)";
    return nullptr;
  }
  char templ[] = "/tmp/graphopt-pg-XXXXXX";
  if (mkdtemp(templ) == nullptr) {
    *error = "mkdtemp failed";
    return nullptr;
  }
  pg->dir_ = templ;
  if (geteuid() == 0) {
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      *error = "running as root and there is no 'postgres' user to run initdb as";
      return nullptr;
    }
    pg->run_as_ = "postgres";
    if (chown(pg->dir_.c_str(), user->pw_uid, user->pw_gid) != 0) {
      *error = "cannot hand " + pg->dir_ + " to the postgres user";
      return nullptr;
    }
  }
  chmod(pg->dir_.c_str(), 0700);
  std::string out;
  if (pg->RunAsOwner(pg->bin_dir_ + "/initdb -D " + ShellQuote(pg->dir_ + "/data") +
                         " --auth=trust --username=postgres --encoding=UTF8 --no-sync",
                     &out) != 0) {
    *error = "initdb failed:\n" + out;
    return nullptr;
  }
  pg->port_ = FreeLoopbackPort();
  // fsync off unless asked: a test cluster need not survive a power cut.
  pg->options_ = "-c listen_addresses=127.0.0.1 -p " + std::to_string(pg->port_) + " -k " +
                 pg->dir_ + " -c max_connections=100" +
                 (durable ? "" : " -c fsync=off -c synchronous_commit=off");
  if (!pg->StartServer(&out)) {
    *error = "pg_ctl start failed:\n" + out + "\n" + ReadFileOrEmpty(pg->dir_ + "/postgres.log");
    return nullptr;
  }
  pg->started_ = true;
  return pg;
}

bool TemporaryPostgres::StartServer(std::string* output) {
  return RunAsOwner(bin_dir_ + "/pg_ctl -D " + ShellQuote(dir_ + "/data") + " -l " +
                        ShellQuote(dir_ + "/postgres.log") + " -w -t 60 -o " +
                        ShellQuote(options_) + " start",
                    output) == 0;
}

bool TemporaryPostgres::Stop(const std::string& mode) {
  std::string out;
  if (!started_) return true;
  if (RunAsOwner(bin_dir_ + "/pg_ctl -D " + ShellQuote(dir_ + "/data") + " -m " + mode + " -w stop",
                 &out) != 0) {
    return false;
  }
  started_ = false;
  return true;
}

bool TemporaryPostgres::StartAgain() {
  std::string out;
  if (!started_) started_ = StartServer(&out);
  return started_;
}

TemporaryPostgres::~TemporaryPostgres() {
  std::string out;
  if (started_) {
    RunAsOwner(bin_dir_ + "/pg_ctl -D " + ShellQuote(dir_ + "/data") + " -m immediate -w stop",
               &out);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

int TemporaryPostgres::RunAsOwner(const std::string& command, std::string* output) {
  const std::string full = run_as_.empty() ? command : "runuser -u " + run_as_ + " -- " + command;
  std::string err;
  const int rc = RunCommand("cd /tmp && " + full, output, &err);
  *output += err;
  return rc;
}

std::string TemporaryPostgres::CreateDatabase(const std::string& name) {
  std::string out;
  RunAsOwner(bin_dir_ + "/createdb -h 127.0.0.1 -p " + std::to_string(port_) + " -U postgres " +
                 ShellQuote(name),
             &out);
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + name +
         " connect_timeout=10";
}

}  // namespace graphopt::testing
