// SqliteJobStore and FileBlobStore: round trips, constraints, paging, and reopening (restart).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "server/store/file_blob_store.h"
#include "server/store/sha256.h"
#include "server/store/sqlite_job_store.h"
#include "support/test_support.h"

namespace graphopt::server {
namespace {

using graphopt::testing::TempDir;

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 streamed;
  streamed.Update("a");
  streamed.Update("bc");
  EXPECT_EQ(streamed.FinishHex(), Sha256Hex("abc"));
  EXPECT_TRUE(IsValidDigest("sha256:" + Sha256Hex("x")));
  EXPECT_FALSE(IsValidDigest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(IsValidDigest("md5:" + std::string(64, 'a')));
  EXPECT_FALSE(IsValidDigest("sha256:" + std::string(64, 'A')));
}

JobRecord MakeJob(const std::string& id, JobState state, const std::string& key = "") {
  JobRecord job;
  job.id = id;
  job.state = state;
  job.model_digest = "sha256:" + std::string(64, 'a');
  job.external_data = {{"w.bin", "sha256:" + std::string(64, 'b')}};
  job.options.level = "extended";
  job.options.dims = {{"batch", 4}};
  job.options.disable = {"fuse_gelu"};
  job.options.atol = 0.5;
  job.options.priority = 3;
  job.result_key = "rk-" + id;
  job.request_key = "rq-" + id;
  job.idempotency_key = key;
  job.created_at_ms = 1000;
  return job;
}

TEST(SqliteJobStoreTest, JobsRoundTripAndSurviveReopen) {
  const std::string path = TempDir() + "/jobs.db";
  {
    auto store = SqliteJobStore::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto inserted = (*store)->InsertJob(MakeJob("j1", JobState::kQueued));
    ASSERT_TRUE(inserted.ok());
    EXPECT_GT(inserted->seq, 0);
    JobRecord running = *inserted;
    running.state = JobState::kRunning;
    running.attempts = 1;
    running.started_at_ms = 2000;
    ASSERT_TRUE((*store)->UpdateJob(running).ok());
    ASSERT_TRUE((*store)->InsertJob(MakeJob("j2", JobState::kQueued)).ok());
    ASSERT_TRUE((*store)->InsertJob(MakeJob("j3", JobState::kSucceeded)).ok());
    ASSERT_TRUE((*store)->PutModel({"sha256:" + std::string(64, 'a'), "m.onnx", 10, 1, 5}).ok());
    JobEventRecord event;
    event.job_id = "j1";
    event.type = JobEventType::kStarted;
    event.state = JobState::kRunning;
    event.time_ms = 2000;
    ASSERT_TRUE((*store)->AppendEvent(event).ok());
  }
  auto store = SqliteJobStore::Open(path);  // as after a restart
  ASSERT_TRUE(store.ok());
  auto j1 = (*store)->GetJob("j1");
  ASSERT_TRUE(j1.ok());
  EXPECT_EQ(j1->state, JobState::kRunning);
  EXPECT_EQ(j1->attempts, 1);
  EXPECT_EQ(j1->options.level, "extended");
  EXPECT_EQ(j1->options.dims.at("batch"), 4);
  EXPECT_EQ(j1->options.disable.count("fuse_gelu"), 1u);
  EXPECT_DOUBLE_EQ(j1->options.atol.value(), 0.5);
  EXPECT_FALSE(j1->options.rtol.has_value());
  EXPECT_EQ(j1->options.priority, 3);
  EXPECT_EQ(j1->external_data.at("w.bin"), "sha256:" + std::string(64, 'b'));
  auto unfinished = (*store)->ListUnfinishedJobs();
  ASSERT_TRUE(unfinished.ok());
  ASSERT_EQ(unfinished->size(), 2u);
  EXPECT_EQ((*unfinished)[0].id, "j1");  // oldest first
  EXPECT_EQ((*unfinished)[1].id, "j2");
  auto events = (*store)->ListEvents("j1");
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, JobEventType::kStarted);
  auto model = (*store)->GetModel("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ(model->file_name, "m.onnx");
  EXPECT_EQ((*store)->GetModel("sha256:" + std::string(64, 'c')).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ((*store)->GetJob("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*store)->UpdateJob(MakeJob("nope", JobState::kFailed)).code(), StatusCode::kNotFound);
}

TEST(SqliteJobStoreTest, IdempotencyKeyIsUniqueAndResultCacheFindsNewestSuccess) {
  auto store = SqliteJobStore::Open(TempDir() + "/jobs.db");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->InsertJob(MakeJob("a", JobState::kQueued, "key-1")).ok());
  ASSERT_TRUE((*store)->InsertJob(MakeJob("b", JobState::kQueued)).ok());  // no key: no conflict
  ASSERT_TRUE((*store)->InsertJob(MakeJob("c", JobState::kQueued)).ok());
  auto duplicate = (*store)->InsertJob(MakeJob("d", JobState::kQueued, "key-1"));
  EXPECT_EQ(duplicate.status().code(), StatusCode::kAlreadyExists);
  auto found = (*store)->FindJobByIdempotencyKey("key-1");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, "a");
  EXPECT_FALSE((*store)->FindJobByIdempotencyKey("key-2")->has_value());

  JobRecord old_success = MakeJob("s1", JobState::kSucceeded);
  old_success.result_key = "same";
  JobRecord new_success = MakeJob("s2", JobState::kSucceeded);
  new_success.result_key = "same";
  JobRecord failure = MakeJob("f", JobState::kFailed);
  failure.result_key = "same";
  ASSERT_TRUE((*store)->InsertJob(old_success).ok());
  ASSERT_TRUE((*store)->InsertJob(new_success).ok());
  ASSERT_TRUE((*store)->InsertJob(failure).ok());
  auto hit = (*store)->FindSucceededJob("same");
  ASSERT_TRUE(hit.ok() && hit->has_value());
  EXPECT_EQ((*hit)->id, "s2");
  EXPECT_FALSE((*store)->FindSucceededJob("other")->has_value());
}

TEST(SqliteJobStoreTest, ListJobsPagesNewestFirstWithStateFilter) {
  auto store = SqliteJobStore::Open(TempDir() + "/jobs.db");
  ASSERT_TRUE(store.ok());
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE((*store)
                    ->InsertJob(MakeJob("j" + std::to_string(i),
                                        i % 2 ? JobState::kFailed : JobState::kQueued))
                    .ok());
  }
  JobListQuery query;
  query.page_size = 3;
  std::vector<std::string> ids;
  int pages = 0;
  do {
    auto page = (*store)->ListJobs(query);
    ASSERT_TRUE(page.ok());
    for (const auto& job : page->jobs) ids.push_back(job.id);
    query.before_seq = page->next_before_seq;
    ++pages;
  } while (query.before_seq != 0);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids, (std::vector<std::string>{"j6", "j5", "j4", "j3", "j2", "j1", "j0"}));

  JobListQuery failed;
  failed.state = JobState::kFailed;
  failed.page_size = 10;
  auto page = (*store)->ListJobs(failed);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->jobs.size(), 3u);
  EXPECT_EQ(page->next_before_seq, 0);
  for (const auto& job : page->jobs) EXPECT_EQ(job.state, JobState::kFailed);
}

TEST(SqliteJobStoreTest, RefusesDatabaseFromNewerServer) {
  const std::string path = TempDir() + "/jobs.db";
  ASSERT_TRUE(SqliteJobStore::Open(path).ok());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto reopened = SqliteJobStore::Open(path);
  EXPECT_EQ(reopened.status().code(), StatusCode::kFailedPrecondition);
}

TEST(FileBlobStoreTest, WriteCommitReadDedupeAndReopen) {
  const std::string root = TempDir() + "/blobs";
  std::string digest;
  {
    auto store = FileBlobStore::Create(root);
    ASSERT_TRUE(store.ok());
    auto writer = (*store)->NewWriter();
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Append("hello ").ok());
    ASSERT_TRUE((*writer)->Append("world").ok());
    auto back = (*writer)->ReadBack();
    ASSERT_TRUE(back.ok());
    char buffer[64];
    EXPECT_EQ((*back)->Read(buffer, sizeof(buffer)).value(), 11u);
    auto info = (*writer)->Commit();
    ASSERT_TRUE(info.ok());
    digest = info->digest;
    EXPECT_EQ(digest, "sha256:" + Sha256Hex("hello world"));
    EXPECT_EQ(info->size, 11);

    // The same bytes again: one copy.
    auto again = (*store)->NewWriter();
    ASSERT_TRUE((*again)->Append("hello world").ok());
    EXPECT_EQ((*again)->Commit()->digest, digest);

    // A writer dropped without Commit leaves nothing behind.
    {
      auto abandoned = (*store)->NewWriter();
      ASSERT_TRUE((*abandoned)->Append("partial").ok());
    }
    EXPECT_FALSE((*store)->Contains("sha256:" + Sha256Hex("partial")));
    EXPECT_TRUE(std::filesystem::is_empty(root + "/tmp"));
  }
  auto store = FileBlobStore::Create(root);
  ASSERT_TRUE(store.ok());
  EXPECT_TRUE((*store)->Contains(digest));
  auto reader = (*store)->Open(digest);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ((*reader)->size(), 11);
  std::string content(11, '\0');
  EXPECT_EQ((*reader)->Read(content.data(), content.size()).value(), 11u);
  EXPECT_EQ(content, "hello world");
  EXPECT_EQ((*store)->Open("sha256:" + std::string(64, '0')).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ((*store)->Open("../../etc/passwd").status().code(), StatusCode::kInvalidArgument);

  const std::string copy = TempDir() + "/copy/blob.bin";
  ASSERT_TRUE((*store)->MaterializeAt(digest, copy).ok());
  EXPECT_EQ(std::filesystem::file_size(copy), 11u);
}

TEST(FileBlobStoreTest, ImportFileMovesItIn) {
  auto store = FileBlobStore::Create(TempDir() + "/blobs");
  ASSERT_TRUE(store.ok());
  const std::string path = TempDir() + "/artifact.onnx";
  {
    std::ofstream out(path, std::ios::binary);
    out << "artifact bytes";
  }
  auto info = (*store)->ImportFile(path);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->digest, "sha256:" + Sha256Hex("artifact bytes"));
  EXPECT_EQ(info->size, 14);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE((*store)->Contains(info->digest));
}

}  // namespace
}  // namespace graphopt::server
