// Checks of issue 17's store calls (names, labels, selectors, deletes, storage collection) run
// against any JobStore and BlobStore: tests/server runs them on SQLite and files,
// tests/postgres on PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "server/jobs/storage_collector.h"
#include "server/store/blob_store.h"
#include "server/store/job_store.h"

namespace graphopt::testing::resources {

using graphopt::StatusCode;
using server::BlobStore;
using server::JobListQuery;
using server::JobRecord;
using server::JobState;
using server::JobStore;
using server::ModelListQuery;
using server::ModelRecord;

inline std::string Digest(char c) { return "sha256:" + std::string(64, c); }

inline ModelRecord Model(const std::string& digest, const std::string& name,
                         const std::string& version, std::map<std::string, std::string> labels,
                         const std::string& tenant = server::kDefaultTenant) {
  ModelRecord m;
  m.digest = digest;
  m.file_name = "m.onnx";
  m.size = 100;
  m.created_at_ms = 1000;
  m.tenant = tenant;
  m.name = name;
  m.version = version;
  m.labels = std::move(labels);
  return m;
}

inline JobRecord Job(const std::string& id, JobState state,
                     std::map<std::string, std::string> labels, const std::string& model_name = "",
                     int64_t created_at_ms = 1000) {
  JobRecord j;
  j.id = id;
  j.state = state;
  j.model_digest = Digest('a');
  j.external_data = {{"w.bin", Digest('e')}};
  j.result_key = "rk-" + id;
  j.request_key = "rq-" + id;
  j.created_at_ms = created_at_ms;
  j.labels = std::move(labels);
  j.model_name = model_name;
  j.model_version = model_name.empty() ? "" : "1";
  return j;
}

inline std::vector<std::string> Digests(const std::vector<ModelRecord>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) out.push_back(m.digest);
  return out;
}

inline std::vector<std::string> Ids(const std::vector<JobRecord>& jobs) {
  std::vector<std::string> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

inline std::vector<graphopt::LabelRequirement> Selector(const std::string& text) {
  std::vector<graphopt::LabelRequirement> out;
  EXPECT_EQ(ParseLabelSelector(text, &out), "") << text;
  return out;
}

inline std::vector<std::string> ListModelDigests(JobStore& store, ModelListQuery query) {
  auto page = store.ListModels(query);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? Digests(page->models) : std::vector<std::string>{};
}

inline std::vector<std::string> ListJobIds(JobStore& store, JobListQuery query) {
  auto page = store.ListJobs(query);
  EXPECT_TRUE(page.ok()) << page.status().ToString();
  return page.ok() ? Ids(page->jobs) : std::vector<std::string>{};
}

inline void CheckModelNamesLabelsAndListing(JobStore& store) {
  using V = std::vector<std::string>;
  ASSERT_TRUE(store.PutModel(Model(Digest('a'), "resnet", "1", {{"team", "vision"}})).ok());
  auto a = store.GetModel(Digest('a'));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->name, "resnet");
  EXPECT_EQ(a->version, "1");
  EXPECT_EQ(a->labels, (std::map<std::string, std::string>{{"team", "vision"}}));
  // (name, version) names one digest per tenant.
  EXPECT_EQ(store.PutModel(Model(Digest('b'), "resnet", "1", {})).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store.GetModel(Digest('b')).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(store.PutModel(Model(Digest('b'), "resnet", "2", {{"team", "nlp"}})).ok());
  ASSERT_TRUE(store.PutModel(Model(Digest('c'), "", "", {})).ok());
  ASSERT_TRUE(store.PutModel(Model(Digest('a'), "resnet", "1", {}, "other")).ok());
  // The same bytes again: labels replaced, the name kept when none is sent.
  ASSERT_TRUE(store.PutModel(Model(Digest('a'), "", "", {{"stage", "prod"}})).ok());
  a = store.GetModel(Digest('a'));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->name, "resnet");
  EXPECT_EQ(a->labels, (std::map<std::string, std::string>{{"stage", "prod"}}));

  ModelListQuery all;
  EXPECT_EQ(ListModelDigests(store, all), (V{Digest('c'), Digest('b'), Digest('a')}));
  ModelListQuery named = all;
  named.name = "resnet";
  EXPECT_EQ(ListModelDigests(store, named), (V{Digest('b'), Digest('a')}));
  ModelListQuery nlp = all;
  nlp.selector = Selector("team=nlp");
  EXPECT_EQ(ListModelDigests(store, nlp), (V{Digest('b')}));
  ModelListQuery no_team = all;
  no_team.selector = Selector("!team");
  EXPECT_EQ(ListModelDigests(store, no_team), (V{Digest('c'), Digest('a')}));
  ModelListQuery not_nlp = all;
  not_nlp.selector = Selector("team!=nlp,stage");
  EXPECT_EQ(ListModelDigests(store, not_nlp), (V{Digest('a')}));
  ModelListQuery other;
  other.tenant = "other";
  EXPECT_EQ(ListModelDigests(store, other), (V{Digest('a')}));

  // Pages of one, chained by the cursor, cover every model once.
  V paged;
  ModelListQuery page_query = all;
  page_query.page_size = 1;
  for (int guard = 0; guard < 10; ++guard) {
    auto page = store.ListModels(page_query);
    ASSERT_TRUE(page.ok());
    for (const auto& m : page->models) paged.push_back(m.digest);
    if (page->next_before_seq == 0) break;
    page_query.before_seq = page->next_before_seq;
  }
  EXPECT_EQ(paged, (V{Digest('c'), Digest('b'), Digest('a')}));
}

inline void CheckJobListFilters(JobStore& store) {
  using V = std::vector<std::string>;
  ASSERT_TRUE(
      store.InsertJob(Job("j1", JobState::kSucceeded, {{"team", "vision"}}, "resnet", 1000)).ok());
  ASSERT_TRUE(store.InsertJob(Job("j2", JobState::kQueued, {{"team", "nlp"}}, "bert", 2000)).ok());
  ASSERT_TRUE(store.InsertJob(Job("j3", JobState::kSucceeded, {}, "resnet", 3000)).ok());
  ASSERT_TRUE(store
                  .InsertJob(Job("j4", JobState::kFailed, {{"team", "vision"}, {"stage", "canary"}},
                                 "", 4000))
                  .ok());
  auto stored = store.GetJob("j4");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->labels.at("stage"), "canary");
  auto j1 = store.GetJob("j1");
  ASSERT_TRUE(j1.ok());
  EXPECT_EQ(j1->model_name, "resnet");
  EXPECT_EQ(j1->model_version, "1");

  auto query = [](const std::string& selector) {
    JobListQuery q;
    q.tenant = server::kDefaultTenant;
    q.selector = Selector(selector);
    return q;
  };
  EXPECT_EQ(ListJobIds(store, query("team=vision")), (V{"j4", "j1"}));
  EXPECT_EQ(ListJobIds(store, query("team==vision,stage!=canary")), (V{"j1"}));
  EXPECT_EQ(ListJobIds(store, query("team!=vision")), (V{"j3", "j2"}));  // absent key too
  EXPECT_EQ(ListJobIds(store, query("team")), (V{"j4", "j2", "j1"}));
  EXPECT_EQ(ListJobIds(store, query("!team")), (V{"j3"}));
  EXPECT_EQ(ListJobIds(store, query("nobody=here")), (V{}));
  JobListQuery by_model = query("");
  by_model.model_name = "resnet";
  EXPECT_EQ(ListJobIds(store, by_model), (V{"j3", "j1"}));
  JobListQuery by_time = query("");
  by_time.created_after_ms = 2000;   // inclusive
  by_time.created_before_ms = 4000;  // exclusive
  EXPECT_EQ(ListJobIds(store, by_time), (V{"j3", "j2"}));
  JobListQuery combined = query("team=vision");
  combined.state = JobState::kSucceeded;
  combined.model_name = "resnet";
  EXPECT_EQ(ListJobIds(store, combined), (V{"j1"}));
  // Filters hold across pages.
  JobListQuery paged = query("team");
  paged.page_size = 2;
  auto first = store.ListJobs(paged);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Ids(first->jobs), (V{"j4", "j2"}));
  ASSERT_GT(first->next_before_seq, 0);
  paged.before_seq = first->next_before_seq;
  auto second = store.ListJobs(paged);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Ids(second->jobs), (V{"j1"}));
  EXPECT_EQ(second->next_before_seq, 0);
}

inline void CheckDeletes(JobStore& store) {
  ASSERT_TRUE(store.PutModel(Model(Digest('a'), "m", "1", {})).ok());
  ASSERT_TRUE(store.PutModel(Model(Digest('e'), "", "", {})).ok());
  ASSERT_TRUE(store.InsertJob(Job("queued", JobState::kQueued, {})).ok());
  server::JobEventRecord event;
  event.job_id = "done";
  event.type = server::JobEventType::kSucceeded;
  event.state = JobState::kSucceeded;
  event.time_ms = 1000;
  ASSERT_TRUE(store.InsertJob(Job("done", JobState::kSucceeded, {})).ok());
  ASSERT_TRUE(store.AppendEvent(event).ok());

  // Unfinished jobs are neither deleted nor lose their inputs (model or external data).
  EXPECT_EQ(store.DeleteJob("queued").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.DeleteModel(server::kDefaultTenant, Digest('a')).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.DeleteModel(server::kDefaultTenant, Digest('e')).code(),
            StatusCode::kFailedPrecondition);
  // Another tenant's upload of the same bytes is its own.
  ASSERT_TRUE(store.PutModel(Model(Digest('a'), "", "", {}, "other")).ok());
  EXPECT_TRUE(store.DeleteModel("other", Digest('a')).ok());

  ASSERT_TRUE(store.DeleteJob("done").ok());
  EXPECT_EQ(store.GetJob("done").status().code(), StatusCode::kNotFound);
  auto events = store.ListEvents("done");
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
  EXPECT_EQ(store.DeleteJob("done").code(), StatusCode::kNotFound);

  auto queued = store.GetJob("queued");
  ASSERT_TRUE(queued.ok());
  queued->state = JobState::kCancelled;
  queued->finished_at_ms = 2000;
  ASSERT_TRUE(store.UpdateJob(*queued).ok());
  EXPECT_TRUE(store.DeleteModel(server::kDefaultTenant, Digest('a')).ok());
  EXPECT_TRUE(store.DeleteModel(server::kDefaultTenant, Digest('e')).ok());
  EXPECT_EQ(store.GetModel(Digest('a')).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store.DeleteModel(server::kDefaultTenant, Digest('a')).code(), StatusCode::kNotFound);
  // The name is free again.
  EXPECT_TRUE(store.PutModel(Model(Digest('b'), "m", "1", {})).ok());
  EXPECT_TRUE(store.DeleteJob("queued").ok());
}

inline std::string Commit(BlobStore& blobs, const std::string& bytes) {
  auto writer = blobs.NewWriter();
  EXPECT_TRUE(writer.ok());
  if (!writer.ok()) return "";
  EXPECT_TRUE((*writer)->Append(bytes).ok());
  auto info = (*writer)->Commit();
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  return info.ok() ? info->digest : "";
}

// A commit or touch that lands after the collector chose its cutoff wins over the delete.
inline void CheckCollectorSparesTouchedBlobs(BlobStore& blobs) {
  const std::string recommitted = Commit(blobs, "bytes uploaded twice");
  const std::string touched = Commit(blobs, "bytes a job is about to use");
  const std::string idle = Commit(blobs, "bytes nobody touches");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const int64_t cutoff = server::NowMillis();  // the collector's view: all three look old
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(Commit(blobs, "bytes uploaded twice"), recommitted);  // a concurrent upload
  ASSERT_TRUE(blobs.Touch(touched).ok());                         // a concurrent CreateJob
  auto r1 = blobs.DeleteIfUntouchedSince(recommitted, cutoff);
  auto r2 = blobs.DeleteIfUntouchedSince(touched, cutoff);
  auto r3 = blobs.DeleteIfUntouchedSince(idle, cutoff);
  ASSERT_TRUE(r1.ok() && r2.ok() && r3.ok());
  EXPECT_EQ(*r1, 0);
  EXPECT_EQ(*r2, 0);
  EXPECT_EQ(*r3, static_cast<int64_t>(std::string("bytes nobody touches").size()));
  EXPECT_TRUE(blobs.Contains(recommitted));
  EXPECT_TRUE(blobs.Contains(touched));
  EXPECT_FALSE(blobs.Contains(idle));
  // Gone means gone: a touch says so (CreateJob refuses), and a new commit stores it again.
  EXPECT_EQ(blobs.Touch(idle).code(), StatusCode::kNotFound);
  EXPECT_EQ(Commit(blobs, "bytes nobody touches"), idle);
  EXPECT_TRUE(blobs.Contains(idle));
}

// Retention, unreferenced blobs and the storage limit, on a clock `offset_ms` ahead of the
// blobs' touch times.
inline void CheckCollector(JobStore& store, BlobStore& blobs) {
  const std::string model = Commit(blobs, std::string(1000, 'm'));
  const std::string old_artifact = Commit(blobs, std::string(2000, 'o'));
  const std::string old_report = Commit(blobs, std::string(300, 'r'));
  const std::string new_artifact = Commit(blobs, std::string(4000, 'n'));
  const std::string orphan = Commit(blobs, std::string(500, 'x'));
  ASSERT_TRUE(store.PutModel(Model(model, "m", "1", {})).ok());
  const int64_t day = 86400000;
  const int64_t now = server::NowMillis();
  JobRecord old_job = Job("old", JobState::kSucceeded, {});
  old_job.model_digest = model;
  old_job.external_data.clear();
  old_job.artifact_digest = old_artifact;
  old_job.report_digest = old_report;
  old_job.finished_at_ms = now - 3 * day;
  ASSERT_TRUE(store.InsertJob(old_job).ok());
  JobRecord new_job = old_job;
  new_job.id = "new";
  new_job.result_key = "rk-new";
  new_job.artifact_digest = new_artifact;
  new_job.report_digest = "";
  new_job.finished_at_ms = now - 1000;
  ASSERT_TRUE(store.InsertJob(new_job).ok());

  server::StorageCollectorOptions options;
  options.retention = std::chrono::milliseconds(day);
  options.grace = std::chrono::milliseconds(60000);
  // Right now every blob is within the grace period: retention deletes the old job, but no
  // bytes go yet.
  {
    server::StorageCollector collector(store, blobs, nullptr, options);
    auto result = collector.RunOnce();
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_TRUE(result->ran);
    EXPECT_EQ(result->jobs_deleted, 1);
    EXPECT_EQ(result->reclaimed_bytes, 0);
    EXPECT_EQ(store.GetJob("old").status().code(), StatusCode::kNotFound);
    EXPECT_TRUE(blobs.Contains(old_artifact));
  }
  // Two minutes later (an injected clock), the unreferenced ones go.
  options.retention = std::chrono::milliseconds(day);
  server::StorageCollector later(store, blobs, nullptr, options,
                                 [] { return server::NowMillis() + 120000; });
  auto result = later.RunOnce();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->jobs_deleted, 0);
  EXPECT_EQ(result->blobs_deleted, 3);
  EXPECT_EQ(result->reclaimed_bytes, 2000 + 300 + 500);
  EXPECT_FALSE(blobs.Contains(old_artifact));
  EXPECT_FALSE(blobs.Contains(old_report));
  EXPECT_FALSE(blobs.Contains(orphan));
  EXPECT_TRUE(blobs.Contains(model));         // still uploaded
  EXPECT_TRUE(blobs.Contains(new_artifact));  // its job is within retention
  EXPECT_GE(result->stored_bytes, 1000 + 4000);

  // A storage limit: the oldest finished job goes first, then uploads no unfinished job uses;
  // an upload a queued job uses stays.
  const std::string busy_model = Commit(blobs, std::string(700, 'b'));
  ASSERT_TRUE(store.PutModel(Model(busy_model, "busy", "1", {})).ok());
  JobRecord queued = Job("queued", JobState::kQueued, {});
  queued.model_digest = busy_model;
  queued.external_data.clear();
  ASSERT_TRUE(store.InsertJob(queued).ok());
  options.max_storage_bytes = 800;
  server::StorageCollector limited(store, blobs, nullptr, options,
                                   [] { return server::NowMillis() + 120000; });
  result = limited.RunOnce();
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->jobs_deleted, 1);
  EXPECT_EQ(result->models_deleted, 1);
  EXPECT_EQ(result->reclaimed_bytes, 4000 + 1000);
  EXPECT_EQ(store.GetJob("new").status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(blobs.Contains(new_artifact));
  EXPECT_FALSE(blobs.Contains(model));
  EXPECT_TRUE(blobs.Contains(busy_model));
  EXPECT_TRUE(store.GetModel(busy_model).ok());
  EXPECT_EQ(result->stored_bytes, 700);

  // Reclaim (after an explicit delete) frees only what nothing references.
  EXPECT_EQ(*limited.Reclaim({busy_model}), 0);
  EXPECT_TRUE(blobs.Contains(busy_model));
}

// An uploader re-stores and re-registers the same bytes while a collector runs back to back:
// with a grace period longer than the moment between commit and PutModel, the bytes are never
// missing right after an upload (the race the touch times settle); once nothing references
// them, a later run frees them.
inline void CheckConcurrentUploadsSurviveCollector(JobStore& store, BlobStore& blobs) {
  const std::string bytes(3000, 'u');
  std::atomic<bool> done{false};
  std::atomic<int> runs{0};
  server::StorageCollectorOptions options;
  options.grace = std::chrono::milliseconds(500);
  server::StorageCollector collector(store, blobs, nullptr, options);
  std::thread collecting([&] {
    while (!done) {
      auto result = collector.RunOnce();
      EXPECT_TRUE(result.ok()) << result.status().ToString();
      ++runs;
    }
  });
  int missing = 0;
  std::string digest;
  for (int i = 0; i < 100; ++i) {
    digest = Commit(blobs, bytes);
    ASSERT_TRUE(store.PutModel(Model(digest, "", "", {})).ok());
    if (!blobs.Contains(digest)) ++missing;
    ASSERT_TRUE(store.DeleteModel(server::kDefaultTenant, digest).ok());
  }
  done = true;
  collecting.join();
  EXPECT_EQ(missing, 0);
  EXPECT_GT(runs.load(), 0);
  // Unreferenced now: freed once its last touch is older than the grace period.
  server::StorageCollector later(store, blobs, nullptr, options,
                                 [] { return server::NowMillis() + 1000; });
  auto result = later.RunOnce();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->reclaimed_bytes, 3000);
  EXPECT_FALSE(blobs.Contains(digest));
}

}  // namespace graphopt::testing::resources
