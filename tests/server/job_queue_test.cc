// JobQueue: priority order, FIFO among equals, the bound, removal.
#include "server/jobs/job_queue.h"

#include <gtest/gtest.h>

namespace graphopt::server {
namespace {

TEST(JobQueueTest, HigherPriorityFirstThenFirstComeFirstServed) {
  JobQueue queue(10);
  ASSERT_TRUE(queue.Push("a", 0, 1).ok());
  ASSERT_TRUE(queue.Push("b", 5, 2).ok());
  ASSERT_TRUE(queue.Push("c", 0, 3).ok());
  ASSERT_TRUE(queue.Push("d", 5, 4).ok());
  ASSERT_TRUE(queue.Push("e", -1, 0).ok());
  std::vector<std::string> order;
  while (auto id = queue.Pop()) order.push_back(*id);
  EXPECT_EQ(order, (std::vector<std::string>{"b", "d", "a", "c", "e"}));
  EXPECT_FALSE(queue.Pop().has_value());
}

TEST(JobQueueTest, FullQueueIsResourceExhaustedButRecoveredJobsAlwaysFit) {
  JobQueue queue(2);
  ASSERT_TRUE(queue.Push("a", 0, 1).ok());
  ASSERT_TRUE(queue.Push("b", 0, 2).ok());
  Status full = queue.Push("c", 9, 3);
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(queue.size(), 2u);
  queue.PushRecovered("r", 0, 0);
  EXPECT_EQ(queue.size(), 3u);
  EXPECT_EQ(queue.Pop().value(), "r");
  EXPECT_EQ(queue.Push("a", 0, 1).code(), StatusCode::kAlreadyExists);
}

TEST(JobQueueTest, RemoveTakesOnlyWaitingJobs) {
  JobQueue queue(4);
  ASSERT_TRUE(queue.Push("a", 0, 1).ok());
  ASSERT_TRUE(queue.Push("b", 0, 2).ok());
  EXPECT_TRUE(queue.Remove("a"));
  EXPECT_FALSE(queue.Remove("a"));
  EXPECT_FALSE(queue.Contains("a"));
  EXPECT_EQ(queue.Pop().value(), "b");
  EXPECT_EQ(queue.size(), 0u);
  ASSERT_TRUE(queue.Push("a", 0, 1).ok());  // space freed by removal
}

TEST(JobQueueTest, JobsThatRanBeforeWaitBehindTheirPriority) {
  JobQueue queue(8);
  queue.PushRecovered("ran_twice", 0, 1, 2);
  queue.PushRecovered("ran_once", 0, 2, 1);
  ASSERT_TRUE(queue.Push("never_ran", 0, 3).ok());
  ASSERT_TRUE(queue.Push("urgent", 5, 4).ok());
  EXPECT_EQ(queue.Pop(), "urgent");
  EXPECT_EQ(queue.Pop(), "never_ran");
  EXPECT_EQ(queue.Pop(), "ran_once");
  EXPECT_EQ(queue.Pop(), "ran_twice");
}

}  // namespace
}  // namespace graphopt::server
