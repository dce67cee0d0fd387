// process_* metrics agree with what the kernel reports through other interfaces.
#include "server/metrics/process_metrics.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <ctime>

namespace graphopt::metrics {
namespace {

TEST(ProcessMetrics, MemoryIsPlausible) {
  const ProcessStats s = ReadProcessStats();
  ASSERT_TRUE(s.resident_memory_bytes && s.virtual_memory_bytes);
  EXPECT_GT(*s.resident_memory_bytes, 1 << 20);  // a gtest binary uses more than 1 MiB
  EXPECT_GE(*s.virtual_memory_bytes, *s.resident_memory_bytes);
  // Touching 64 MiB makes it resident.
  const size_t size = 64 << 20;
  char* block = new char[size];
  for (size_t i = 0; i < size; i += 4096) block[i] = static_cast<char>(i);
  const ProcessStats after = ReadProcessStats();
  EXPECT_GE(*after.resident_memory_bytes, *s.resident_memory_bytes + 48.0 * (1 << 20));
  delete[] block;
}

TEST(ProcessMetrics, OpenFdsCountsExactlyTheNewDescriptor) {
  const ProcessStats before = ReadProcessStats();
  const int fd = open("/proc/self/stat", O_RDONLY);
  ASSERT_GE(fd, 0);
  const ProcessStats during = ReadProcessStats();
  close(fd);
  const ProcessStats after = ReadProcessStats();
  ASSERT_TRUE(before.open_fds && during.open_fds && after.open_fds);
  EXPECT_EQ(*during.open_fds, *before.open_fds + 1);
  EXPECT_EQ(*after.open_fds, *before.open_fds);
}

TEST(ProcessMetrics, MaxFdsIsTheSoftLimit) {
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  const ProcessStats s = ReadProcessStats();
  if (limit.rlim_cur == RLIM_INFINITY) {
    EXPECT_FALSE(s.max_fds.has_value());
  } else {
    ASSERT_TRUE(s.max_fds);
    EXPECT_EQ(*s.max_fds, static_cast<double>(limit.rlim_cur));
  }
}

TEST(ProcessMetrics, CpuTimeMatchesGetrusage) {
  // Burn some CPU so the value is not trivially zero.
  volatile double x = 0;
  for (int i = 0; i < 20000000; ++i) x = x + i * 0.5;
  const ProcessStats s = ReadProcessStats();
  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_SELF, &usage), 0);
  const double rusage_seconds = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
                                usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
  ASSERT_TRUE(s.cpu_seconds);
  EXPECT_GT(*s.cpu_seconds, 0);
  // /proc counts in clock ticks (10 ms); allow a few ticks of rounding per field.
  EXPECT_NEAR(*s.cpu_seconds, rusage_seconds, 0.05);
}

TEST(ProcessMetrics, StartTimeIsInThePastAndRecent) {
  const ProcessStats s = ReadProcessStats();
  ASSERT_TRUE(s.start_time_seconds);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(*s.start_time_seconds, now + 1);
  EXPECT_GT(*s.start_time_seconds, now - 24 * 3600);  // this test process started today
}

}  // namespace
}  // namespace graphopt::metrics
