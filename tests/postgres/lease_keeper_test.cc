// LeaseKeeper and store selection against a real PostgreSQL: a held lease is kept alive, a lease
// lost to a cancel on another replica is reported, a dead replica's job is re-queued by a live
// replica's keeper; --store/--blob-store strings open the right stores or are refused.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <regex>
#include <thread>

#include "postgres/postgres_test_fixture.h"
#include "server/store/lease_keeper.h"
#include "server/store/store_selection.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

using namespace std::chrono_literals;
using server::JobState;

TEST_F(PostgresStoreTest, KeeperRenewsHeldLeasesAndReportsLostOnes) {
  auto a = OpenStore();
  auto b = OpenStore();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->InsertJob(NewJob("kept")).ok());
  ASSERT_TRUE(a->InsertJob(NewJob("cancelled-elsewhere")).ok());
  std::mutex mu;
  std::vector<std::string> lost;
  server::LeaseKeeper keeper(*a, {"replica-a", 600s, 3}, [&](const std::string& id) {
    std::lock_guard lock(mu);
    lost.push_back(id);
  });
  // Claimed with leases that lapse at once: only the keeper's renewal keeps them.
  for (int i = 0; i < 2; ++i) {
    auto claimed = a->ClaimNextJob("replica-a", 1ms);
    ASSERT_TRUE(claimed.ok() && claimed->has_value());
    keeper.Hold((*claimed)->id);
  }
  std::this_thread::sleep_for(20ms);  // both leases have now expired on the database clock
  // Another replica cancels one of them.
  auto job = b->GetJob("cancelled-elsewhere");
  job->state = JobState::kCancelled;
  ASSERT_TRUE(b->UpdateJob(*job).ok());

  // A round renews first, then sweeps: "kept" is renewed for 600 s before the sweep looks.
  EXPECT_TRUE(keeper.RunOnce().empty());
  EXPECT_EQ(lost, std::vector<std::string>{"cancelled-elsewhere"});
  EXPECT_EQ(keeper.held(), std::set<std::string>{"kept"});
  // Another replica's sweep leaves it alone too.
  auto swept = b->RequeueExpiredLeases(3);
  ASSERT_TRUE(swept.ok());
  EXPECT_TRUE(swept->empty());
  EXPECT_EQ(a->GetJob("kept")->state, JobState::kRunning);
  EXPECT_EQ(b->GetJob("cancelled-elsewhere")->state, JobState::kCancelled);
}

TEST_F(PostgresStoreTest, KeeperOfALiveReplicaRequeuesADeadReplicasJob) {
  auto dead = OpenStore();
  auto live = OpenStore();
  ASSERT_TRUE(dead && live);
  ASSERT_TRUE(dead->InsertJob(NewJob("orphan")).ok());
  auto claimed = dead->ClaimNextJob("replica-dead", 1ms);  // and then it never renews
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  dead.reset();

  std::atomic<int> woken{0};
  server::LeaseKeeper keeper(*live, {"replica-live", 30ms, 3}, nullptr,
                             [&](const std::vector<std::string>& ids) { woken += ids.size(); });
  keeper.Start();  // its own thread sweeps every 10 ms
  for (int i = 0; i < 1000 && woken == 0; ++i) std::this_thread::sleep_for(5ms);
  keeper.Stop();
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(live->GetJob("orphan")->state, JobState::kQueued);
  auto again = live->ClaimNextJob("replica-live", 60s);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->id, "orphan");
}

TEST_F(PostgresStoreTest, SelectionOpensPostgresStoresWithLeases) {
  const std::string data_dir = TempDir();
  // libpq URIs are what --store takes; the fixture's DSN is key=value, so build a URI.
  std::smatch dbname;
  ASSERT_TRUE(std::regex_search(dsn_, dbname, std::regex(R"(dbname=(\S+))")));
  const std::string uri =
      "postgresql://postgres:secret@127.0.0.1:" + std::to_string(cluster_->port()) + "/" +
      dbname[1].str();
  auto opened = server::OpenStores({uri, "postgres"}, data_dir);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_NE(opened->leased, nullptr);
  EXPECT_EQ(opened->description.find("secret"), std::string::npos) << opened->description;
  EXPECT_NE(opened->description.find("blobs in postgres"), std::string::npos);
  auto writer = opened->blobs->NewWriter();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append("model bytes").ok());
  auto info = (*writer)->Commit();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(opened->blobs->Contains(info->digest));
}

TEST(StoreSelection, DefaultsToSqliteAndFilesUnderTheDataDir) {
  const std::string data_dir = TempDir();
  auto opened = server::OpenStores({}, data_dir);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->leased, nullptr);
  EXPECT_TRUE(std::filesystem::exists(data_dir + "/graphopt.db"));
  EXPECT_TRUE(std::filesystem::is_directory(data_dir + "/blobs"));
  auto shared = server::OpenStores(
      {"sqlite:" + data_dir + "/other.db", "file:" + data_dir + "/shared-blobs"}, data_dir);
  ASSERT_TRUE(shared.ok());
  EXPECT_TRUE(std::filesystem::is_directory(data_dir + "/shared-blobs"));
}

TEST(StoreSelection, RefusesMalformedOrContradictorySettings) {
  const std::string data_dir = TempDir();
  EXPECT_EQ(server::OpenStores({"mysql://x"}, data_dir).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(server::OpenStores({"sqlite:"}, data_dir).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(server::OpenStores({"", "postgres"}, data_dir).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(server::OpenStores({"", "s3://bucket"}, data_dir).status().code(),
            StatusCode::kInvalidArgument);
  // A PostgreSQL that is not there is UNAVAILABLE (the server exits and is restarted).
  EXPECT_EQ(server::OpenStores({"postgres://nobody@127.0.0.1:1/none?connect_timeout=2"}, data_dir)
                .status()
                .code(),
            StatusCode::kUnavailable);
}

TEST(StoreSelection, RedactsPasswords) {
  EXPECT_EQ(server::RedactDsn("postgres://app:s3cr%40t@db:5432/graphopt"),
            "postgres://app:***@db:5432/graphopt");
  EXPECT_EQ(server::RedactDsn("host=db password='a b' dbname=g"), "host=db password=*** dbname=g");
  EXPECT_EQ(server::RedactDsn("host=db password=x dbname=g"), "host=db password=*** dbname=g");
  EXPECT_EQ(server::RedactDsn("postgres://app@db/graphopt"), "postgres://app@db/graphopt");
}

}  // namespace
}  // namespace graphopt::testing
