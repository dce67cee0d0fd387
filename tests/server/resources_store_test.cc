// Issue 17 on the embedded stores (SQLite + files): names, labels, selectors, deletes, storage
// collection; the label selector parser and the page tokens.
#include <gtest/gtest.h>

#include "resource_labels.h"
#include "server/resource_store_checks.h"
#include "server/service/page_token.h"
#include "server/store/file_blob_store.h"
#include "server/store/sqlite_job_store.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using Op = LabelRequirement::Op;

std::unique_ptr<server::SqliteJobStore> OpenSqlite() {
  auto store = server::SqliteJobStore::Open(TempDir() + "/jobs.db");
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(*store) : nullptr;
}

std::unique_ptr<server::FileBlobStore> OpenBlobs() {
  auto blobs = server::FileBlobStore::Create(TempDir() + "/blobs");
  EXPECT_TRUE(blobs.ok());
  return blobs.ok() ? std::move(*blobs) : nullptr;
}

TEST(LabelSelectorTest, ParsesEveryOperator) {
  std::vector<LabelRequirement> s;
  ASSERT_EQ(ParseLabelSelector(" team=vision, stage != canary ,gpu,!deprecated,a==b", &s), "");
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0].op, Op::kEquals);
  EXPECT_EQ(s[0].key, "team");
  EXPECT_EQ(s[0].value, "vision");
  EXPECT_EQ(s[1].op, Op::kNotEquals);
  EXPECT_EQ(s[1].key, "stage");
  EXPECT_EQ(s[1].value, "canary");
  EXPECT_EQ(s[2].op, Op::kExists);
  EXPECT_EQ(s[2].key, "gpu");
  EXPECT_EQ(s[3].op, Op::kNotExists);
  EXPECT_EQ(s[3].key, "deprecated");
  EXPECT_EQ(s[4].op, Op::kEquals);
  EXPECT_EQ(s[4].value, "b");
  ASSERT_EQ(ParseLabelSelector("", &s), "");
  EXPECT_TRUE(s.empty());
  ASSERT_EQ(ParseLabelSelector("k=", &s), "");  // empty values are allowed
  EXPECT_EQ(s[0].value, "");
}

TEST(LabelSelectorTest, RefusesBadSyntax) {
  std::vector<LabelRequirement> s;
  for (const char* bad :
       {"a=b,,c", ",", "=v", "a=b=c", "a!b", "!", "-a=b", "a=b c", "a=v!", "a b", "k=v/w", "!=v"}) {
    EXPECT_NE(ParseLabelSelector(bad, &s), "") << bad;
  }
  EXPECT_NE(ParseLabelSelector(std::string(64, 'k') + "=v", &s), "");
  EXPECT_NE(ParseLabelSelector("k=" + std::string(64, 'v'), &s), "");
}

TEST(LabelSelectorTest, MatchesWithKubernetesSemantics) {
  std::vector<LabelRequirement> s;
  ASSERT_EQ(ParseLabelSelector("team=vision,stage!=canary,!deprecated", &s), "");
  EXPECT_TRUE(MatchesLabels({{"team", "vision"}}, s));  // stage absent: != holds
  EXPECT_TRUE(MatchesLabels({{"team", "vision"}, {"stage", "prod"}}, s));
  EXPECT_FALSE(MatchesLabels({{"team", "vision"}, {"stage", "canary"}}, s));
  EXPECT_FALSE(MatchesLabels({{"team", "vision"}, {"deprecated", ""}}, s));
  EXPECT_FALSE(MatchesLabels({{"team", "nlp"}}, s));
  EXPECT_FALSE(MatchesLabels({}, s));
}

TEST(ResourceNamesTest, ValidatesNamesVersionsAndLabels) {
  EXPECT_EQ(CheckModelName("", "name"), "");
  EXPECT_EQ(CheckModelName("vision/resnet-50_v1.2", "name"), "");
  EXPECT_NE(CheckModelName("res net", "name").find("name"), std::string::npos);
  EXPECT_NE(CheckModelName(std::string(129, 'a'), "name"), "");
  EXPECT_EQ(CheckModelVersion("1.2.3+build-7", "version"), "");
  EXPECT_NE(CheckModelVersion("1/2", "version"), "");
  EXPECT_NE(CheckModelVersion(std::string(65, '1'), "version"), "");
  EXPECT_EQ(CheckLabels({{"team", "vision"}, {"k8s.io/app", ""}}, "labels"), "");
  EXPECT_NE(CheckLabels({{"_team", "v"}}, "labels").find("labels"), std::string::npos);
  EXPECT_NE(CheckLabels({{"team", "a/b"}}, "labels"), "");
  EXPECT_NE(CheckLabels({{"", "v"}}, "labels"), "");
  std::map<std::string, std::string> many;
  for (int i = 0; i < 33; ++i) many["k" + std::to_string(i)] = "v";
  EXPECT_NE(CheckLabels(many, "labels"), "");
  std::string key, value;
  EXPECT_EQ(ParseLabelArgument("team=vision", &key, &value), "");
  EXPECT_EQ(key, "team");
  EXPECT_EQ(value, "vision");
  EXPECT_NE(ParseLabelArgument("team", &key, &value), "");
}

TEST(PageTokenTest, RoundTripsAndRefusesOtherFiltersAndTampering) {
  const std::string token = server::EncodePageToken("jobs\ntenant\nteam=vision", 1234);
  EXPECT_EQ(token.find("1234"), std::string::npos);  // opaque, not the raw cursor
  auto seq = server::DecodePageToken("jobs\ntenant\nteam=vision", token);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 1234);
  EXPECT_EQ(*server::DecodePageToken("anything", ""), 0);
  EXPECT_EQ(server::DecodePageToken("jobs\ntenant\nteam=nlp", token).status().code(),
            StatusCode::kInvalidArgument);
  std::string tampered = token;
  tampered[4] = tampered[4] == 'A' ? 'B' : 'A';
  EXPECT_EQ(server::DecodePageToken("jobs\ntenant\nteam=vision", tampered).status().code(),
            StatusCode::kInvalidArgument);
  for (const char* garbage : {"1234", "garbage", "!!!!", "djEuMTIzNC4"}) {
    EXPECT_EQ(server::DecodePageToken("jobs\ntenant\nteam=vision", garbage).status().code(),
              StatusCode::kInvalidArgument)
        << garbage;
  }
}

TEST(SqliteResourcesTest, ModelNamesLabelsAndListing) {
  auto store = OpenSqlite();
  ASSERT_TRUE(store);
  resources::CheckModelNamesLabelsAndListing(*store);
}

TEST(SqliteResourcesTest, JobListFilters) {
  auto store = OpenSqlite();
  ASSERT_TRUE(store);
  resources::CheckJobListFilters(*store);
}

TEST(SqliteResourcesTest, Deletes) {
  auto store = OpenSqlite();
  ASSERT_TRUE(store);
  resources::CheckDeletes(*store);
}

TEST(SqliteResourcesTest, CollectorSparesTouchedBlobs) {
  auto blobs = OpenBlobs();
  ASSERT_TRUE(blobs);
  resources::CheckCollectorSparesTouchedBlobs(*blobs);
}

TEST(SqliteResourcesTest, CollectorRetentionGarbageAndLimit) {
  auto store = OpenSqlite();
  auto blobs = OpenBlobs();
  ASSERT_TRUE(store && blobs);
  resources::CheckCollector(*store, *blobs);
}

TEST(SqliteResourcesTest, ConcurrentUploadsSurviveCollector) {
  auto store = OpenSqlite();
  auto blobs = OpenBlobs();
  ASSERT_TRUE(store && blobs);
  resources::CheckConcurrentUploadsSurviveCollector(*store, *blobs);
}

TEST(SqliteResourcesTest, SchemaFourAddsColumnsToExistingRows) {
  const std::string path = TempDir() + "/old.db";
  {
    auto store = server::SqliteJobStore::Open(path);
    ASSERT_TRUE(store.ok());
    ASSERT_TRUE((*store)->InsertJob(resources::Job("j", server::JobState::kQueued, {})).ok());
  }
  auto store = server::SqliteJobStore::Open(path);
  ASSERT_TRUE(store.ok());
  auto job = (*store)->GetJob("j");
  ASSERT_TRUE(job.ok());
  EXPECT_TRUE(job->labels.empty());
  EXPECT_EQ(server::SqliteJobStore::kSchemaVersion, 4);
}

}  // namespace
}  // namespace graphopt::testing
