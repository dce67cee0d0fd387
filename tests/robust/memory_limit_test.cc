// The memory limits of job workers and bounded CLI commands: container limit, default share,
// sizes.
#include "optimizer/util/memory_limit.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"

namespace graphopt {
namespace {

TEST(MemoryLimitTest, ReadsTheCgroupLimitAndFallsBackToRam) {
  const std::string dir = testing::TempDir();
  const int64_t ram = MemoryLimitOfThisMachine(dir + "/none");
  EXPECT_GT(ram, int64_t{256} << 20);
  std::ofstream(dir + "/memory.max") << "max\n";
  EXPECT_EQ(MemoryLimitOfThisMachine(dir), ram);
  std::ofstream(dir + "/memory.max") << "4294967296\n";
  EXPECT_EQ(MemoryLimitOfThisMachine(dir), std::min<int64_t>(int64_t{4} << 30, ram));
}

TEST(MemoryLimitTest, DefaultShareLeavesRoomAndHasAFloor) {
  EXPECT_EQ(DefaultMemoryShare(2, int64_t{4} << 30), int64_t{1536} << 20);  // 3/4 of 4 GiB / 2
  EXPECT_EQ(DefaultMemoryShare(64, int64_t{4} << 30), int64_t{512} << 20);
  EXPECT_EQ(DefaultMemoryShare(0, int64_t{8} << 30), int64_t{6} << 30);
}

TEST(MemoryLimitTest, ParsesSizes) {
  EXPECT_EQ(*ParseByteSize("1GiB"), int64_t{1} << 30);
  EXPECT_EQ(*ParseByteSize("512M"), int64_t{512} << 20);
  EXPECT_EQ(*ParseByteSize("1.5gb"), int64_t{3} << 29);
  EXPECT_EQ(*ParseByteSize("4096"), 4096);
  EXPECT_EQ(*ParseByteSize("0"), 0);
  for (const char* bad : {"lots", "1X", "-1G", "nan", "1e30T", ""}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatByteSize(int64_t{1} << 30), "1.0 GiB");
  EXPECT_EQ(FormatByteSize(int64_t{300} << 20), "300 MiB");
}

}  // namespace
}  // namespace graphopt
