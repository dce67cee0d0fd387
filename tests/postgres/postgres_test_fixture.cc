// PostgresStoreTest: cluster per program, database per test (see postgres_test_fixture.h).
#include "postgres/postgres_test_fixture.h"

#include <cctype>

namespace graphopt::testing {

TemporaryPostgres* PostgresStoreTest::cluster_ = nullptr;
std::string PostgresStoreTest::start_error_;
bool PostgresStoreTest::missing_ = false;

void PostgresStoreTest::SetUpTestSuite() {
  bool missing = false;
  cluster_ = TemporaryPostgres::Start(&start_error_, &missing).release();
  missing_ = missing;
}

void PostgresStoreTest::TearDownTestSuite() {
  delete cluster_;
  cluster_ = nullptr;
}

void PostgresStoreTest::SetUp() {
  if (missing_) GTEST_SKIP() << start_error_;
  ASSERT_NE(cluster_, nullptr) << start_error_;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = std::string("t_") + info->test_suite_name() + "_" + info->name();
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  dsn_ = cluster_->CreateDatabase(name.substr(0, 63));
}

std::unique_ptr<server::PostgresJobStore> PostgresStoreTest::OpenStore() {
  server::PostgresStoreOptions options;
  options.dsn = dsn_;
  options.max_connections = 4;
  auto store = server::PostgresJobStore::Open(options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

server::JobRecord PostgresStoreTest::NewJob(const std::string& id, int priority) {
  server::JobRecord j;
  j.id = id;
  j.state = server::JobState::kQueued;
  j.model_digest = "sha256:" + std::string(64, 'a');
  j.external_data = {{"weights.bin", "sha256:" + std::string(64, 'b')}};
  j.options.level = "extended";
  j.options.dims = {{"batch", 4}};
  j.options.atol = 1e-4;
  j.options.priority = priority;
  j.result_key = "rk-" + id;
  j.request_key = "rq-" + id;
  j.created_at_ms = 1700000000000;
  j.progress.stage = "queued";
  return j;
}

}  // namespace graphopt::testing
