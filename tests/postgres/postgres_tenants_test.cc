// Tenant isolation in the PostgreSQL store (migration 2): uploads recorded per tenant, idempotency
// keys unique per tenant, listings filtered by tenant, usage for quotas, and leased claims
// keeping a job's tenant.
#include <gtest/gtest.h>

#include "postgres/postgres_test_fixture.h"

namespace graphopt::testing {
namespace {

using server::JobRecord;

TEST_F(PostgresStoreTest, TenantsOwnTheirModelsJobsAndKeys) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const std::string digest = "sha256:" + std::string(64, 'd');
  ASSERT_TRUE(store->PutModel({digest, "a.onnx", 100, 1, 5, "a"}).ok());
  EXPECT_TRUE(store->GetModel("a", digest).ok());
  EXPECT_EQ(store->GetModel("b", digest).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->GetModel(digest).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store->PutModel({digest, "b.onnx", 100, 1, 6, "b"}).ok());
  EXPECT_EQ(store->GetModel("b", digest)->file_name, "b.onnx");
  EXPECT_EQ(store->GetModel("a", digest)->file_name, "a.onnx");

  JobRecord a = NewJob("job-a");
  a.tenant = "a";
  a.idempotency_key = "key";
  JobRecord b = NewJob("job-b");
  b.tenant = "b";
  b.idempotency_key = "key";
  ASSERT_TRUE(store->InsertJob(a).ok());
  ASSERT_TRUE(store->EnqueueJob(b).ok());  // same key, other tenant
  JobRecord again = NewJob("job-a2");
  again.tenant = "a";
  again.idempotency_key = "key";
  EXPECT_EQ(store->InsertJob(again).status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ((*store->FindJobByIdempotencyKey("b", "key"))->id, "job-b");
  EXPECT_FALSE(store->FindJobByIdempotencyKey("key")->has_value());
  EXPECT_EQ(store->GetJob("job-b")->tenant, "b");

  server::JobListQuery query;
  query.tenant = "b";
  auto page = store->ListJobs(query);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->jobs.size(), 1u);
  EXPECT_EQ(page->jobs[0].id, "job-b");

  auto usage = store->GetTenantUsage("a");
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_EQ(usage->unfinished_jobs, 1);
  EXPECT_EQ(usage->stored_bytes, 100);

  // A claimed job keeps its owner through the lease and the finish.
  auto claimed = store->ClaimNextJob("replica", std::chrono::seconds(30));
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  EXPECT_EQ((*claimed)->tenant, (*claimed)->id == "job-a" ? "a" : "b");
}

}  // namespace
}  // namespace graphopt::testing
