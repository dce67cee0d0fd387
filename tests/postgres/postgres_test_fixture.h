// The fixture of the PostgreSQL store tests: one temporary cluster per test program, a fresh
// database per test (named after it), stores opened on it, and a job record to insert.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "postgres/temporary_postgres.h"
#include "server/store/postgres_job_store.h"

namespace graphopt::testing {

class PostgresStoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  // Skips (visibly) when PostgreSQL is not installed; fails when it is but cannot start.
  void SetUp() override;

  std::unique_ptr<server::PostgresJobStore> OpenStore();
  // A queued job with options and external data filled in, so round trips check every field.
  static server::JobRecord NewJob(const std::string& id, int priority = 0);

  static TemporaryPostgres* cluster_;
  static std::string start_error_;
  static bool missing_;
  std::string dsn_;
};

}  // namespace graphopt::testing
