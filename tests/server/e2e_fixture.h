// Shared setup of the end-to-end tests: temp folders, tiny models written to disk, and job
// requests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "server/server_process.h"
#include "support/test_support.h"

namespace graphopt::testing {

class ServerE2eTest : public ::testing::Test {
 protected:
  void SetUp() override { root_ = TempDir(); }
  std::string DataDir(const std::string& name = "data") const { return root_ + "/" + name; }
  // A small valid model: y = Relu((x + c) * 2) with an Identity the basic level removes; `seed`
  // changes the constant so models differ byte for byte.
  std::string WriteTinyModel(const std::string& name, int seed);
  static graphopt::v1::CreateJobRequest JobRequest(const std::string& digest,
                                                   const std::string& level = "basic",
                                                   bool fresh = false);

  std::string root_;
};

}  // namespace graphopt::testing
