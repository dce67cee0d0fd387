// graphopt-server flags, defaults and GRAPHOPT_* environment variables.
#include "server/config/server_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace graphopt::server {
namespace {

TEST(ServerConfigTest, Defaults) {
  auto parsed = ParseServerConfig({});
  ASSERT_TRUE(parsed.config.has_value()) << parsed.output;
  const ServerConfig& c = *parsed.config;
  EXPECT_EQ(c.listen, "127.0.0.1:50051");
  EXPECT_EQ(c.metrics_listen, "127.0.0.1:9090");
  EXPECT_EQ(c.data_dir, "./graphopt-data");
  EXPECT_GE(c.workers, 1);
  EXPECT_EQ(c.log_format, LogFormat::kText);
}

TEST(ServerConfigTest, FlagsAndSizeSuffixes) {
  auto parsed = ParseServerConfig({"--listen", "0.0.0.0:6000", "--workers", "3", "--queue-size",
                                   "7", "--max-upload-bytes", "2MB", "--job-timeout", "1.5",
                                   "--log-format", "json", "--grace-period", "4", "--data-dir",
                                   "/tmp/x", "--metrics-listen", "off"});
  ASSERT_TRUE(parsed.config.has_value()) << parsed.output;
  const ServerConfig& c = *parsed.config;
  EXPECT_EQ(c.listen, "0.0.0.0:6000");
  EXPECT_EQ(c.workers, 3);
  EXPECT_EQ(c.queue_size, 7);
  EXPECT_EQ(c.max_upload_bytes, 2 * 1024 * 1024);
  EXPECT_DOUBLE_EQ(c.job_timeout_seconds, 1.5);
  EXPECT_EQ(c.log_format, LogFormat::kJson);
  EXPECT_DOUBLE_EQ(c.grace_period_seconds, 4);
  EXPECT_EQ(c.data_dir, "/tmp/x");
  EXPECT_EQ(c.metrics_listen, "off");
}

TEST(ServerConfigTest, EnvironmentVariablesAndFlagPrecedence) {
  setenv("GRAPHOPT_WORKERS", "5", 1);
  setenv("GRAPHOPT_DATA_DIR", "/srv/graphopt", 1);
  setenv("GRAPHOPT_LOG_FORMAT", "json", 1);
  auto from_env = ParseServerConfig({});
  auto flag_wins = ParseServerConfig({"--workers", "2"});
  unsetenv("GRAPHOPT_WORKERS");
  unsetenv("GRAPHOPT_DATA_DIR");
  unsetenv("GRAPHOPT_LOG_FORMAT");
  ASSERT_TRUE(from_env.config.has_value()) << from_env.output;
  EXPECT_EQ(from_env.config->workers, 5);
  EXPECT_EQ(from_env.config->data_dir, "/srv/graphopt");
  EXPECT_EQ(from_env.config->log_format, LogFormat::kJson);
  ASSERT_TRUE(flag_wins.config.has_value());
  EXPECT_EQ(flag_wins.config->workers, 2);
}

TEST(ServerConfigTest, BadValuesAreRejectedWithAMessage) {
  for (const auto& args : std::vector<std::vector<std::string>>{{"--listen", "nonsense"},
                                                                {"--listen", "host:99999"},
                                                                {"--workers", "-1"},
                                                                {"--log-format", "xml"},
                                                                {"--queue-size", "0"},
                                                                {"--no-such-flag"}}) {
    auto parsed = ParseServerConfig(args);
    EXPECT_FALSE(parsed.config.has_value()) << args[0];
    EXPECT_NE(parsed.exit_code, 0) << args[0];
    EXPECT_FALSE(parsed.output.empty()) << args[0];
  }
  auto help = ParseServerConfig({"--help"});
  EXPECT_FALSE(help.config.has_value());
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--data-dir"), std::string::npos);
  EXPECT_EQ(help.output.find("debug-pass-delay"), std::string::npos);  // hidden
}

TEST(ServerConfigTest, IsolationAndLimits) {
  auto defaults = ParseServerConfig({});
  ASSERT_TRUE(defaults.config);
  EXPECT_EQ(defaults.config->isolation, "process");
  EXPECT_EQ(defaults.config->max_attempts, 3);
  EXPECT_EQ(defaults.config->job_max_memory, 0);  // sized to the machine at start
  auto set = ParseServerConfig(
      {"--isolation", "thread", "--job-max-memory", "2GB", "--max-attempts", "5"});
  ASSERT_TRUE(set.config) << set.output;
  EXPECT_EQ(set.config->isolation, "thread");
  EXPECT_EQ(set.config->job_max_memory, int64_t{2} << 30);
  EXPECT_EQ(set.config->max_attempts, 5);
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--isolation", "container"}, {"--max-attempts", "0"}, {"--job-max-memory", "-1"}}) {
    EXPECT_FALSE(ParseServerConfig(args).config.has_value()) << args[0];
  }
  EXPECT_EQ(ParseServerConfig({"--help"}).output.find("debug-abort-op"), std::string::npos);
}

TEST(ServerConfigTest, SplitHostPort) {
  std::string host;
  int port = 0;
  ASSERT_TRUE(SplitHostPort("[::1]:50051", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_EQ(port, 50051);
  EXPECT_FALSE(SplitHostPort(":80", &host, &port));
  EXPECT_FALSE(SplitHostPort("host:", &host, &port));
}

}  // namespace
}  // namespace graphopt::server
