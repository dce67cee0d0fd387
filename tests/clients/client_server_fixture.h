// A real graphopt-server on free loopback ports (gRPC and metrics) with its own data folder,
// for the client tests; plus running the CLI and Python against it.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "metrics/child_process.h"

namespace graphopt::testing {

class RunningServer {
 public:
  // Starts graphopt-server with `extra_args` and waits (at most 60 s) for /readyz. Returns null
  // with *error set when it cannot.
  static std::unique_ptr<RunningServer> Start(const std::vector<std::string>& extra_args,
                                              std::string* error);
  ~RunningServer();

  const std::string& address() const { return address_; }  // "127.0.0.1:PORT" (gRPC)
  uint16_t metrics_port() const { return metrics_port_; }
  std::string Log() const;
  // "--server 127.0.0.1:PORT"
  std::string ServerFlag() const { return "--server " + address_; }

 private:
  ChildProcess process_;
  std::string address_, log_path_;
  uint16_t metrics_port_ = 0;
};

// The graphopt-server binary, or "" when the build has none (the tests then skip).
std::string ServerBinary();

// Single-quotes `s` for /bin/sh.
std::string ShellQuote(const std::string& s);

// First line of `text` (without the newline).
std::string FirstLine(const std::string& text);

std::string ReadBytes(const std::string& path);

}  // namespace graphopt::testing
