// A throw-away PostgreSQL cluster for tests: initdb into a fresh folder, postgres on 127.0.0.1
// and a free port (unix socket inside the folder), stopped and deleted by the destructor. As
// root, initdb and postgres run as the unprivileged `postgres` user (initdb refuses root).
#pragma once

#include <memory>
#include <string>

namespace graphopt::testing {

class TemporaryPostgres {
 public:
  // Null with *error set when the cluster cannot be started; *missing is set when the reason is
  // that PostgreSQL's server binaries are not installed (tests then skip). `durable` keeps
  // fsync on (for benchmarks comparable with SQLite's synchronous=FULL); tests turn it off.
  static std::unique_ptr<TemporaryPostgres> Start(std::string* error, bool* missing,
                                                  bool durable = false);
  ~TemporaryPostgres();

  // Creates database `name` and returns a libpq connection string for it.
  std::string CreateDatabase(const std::string& name);
  int port() const { return port_; }
  // Stops the server (`mode`: pg_ctl's smart, fast or immediate) and starts it again on the same
  // port and data, as an outage or a restart of the database does to its clients.
  bool Stop(const std::string& mode = "fast");
  bool StartAgain();
  bool Restart() { return Stop() && StartAgain(); }

 private:
  TemporaryPostgres() = default;
  // Runs `command` as the cluster's owner; returns the exit code.
  int RunAsOwner(const std::string& command, std::string* output);

  bool StartServer(std::string* output);

  std::string bin_dir_, dir_, run_as_, options_;
  int port_ = 0;
  bool started_ = false;
};

}  // namespace graphopt::testing
