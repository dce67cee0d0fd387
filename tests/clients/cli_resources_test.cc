// The CLI's resource commands against a real graphopt-server (issue 17): upload with a name and
// labels, submit with job labels, list by label/model name/age, get, delete; bad names, labels
// and selectors refused locally (exit 2); the reclaimed bytes counted in /metrics.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "clients/client_server_fixture.h"
#include "metrics/http_test_client.h"
#include "support/test_support.h"

namespace graphopt::testing {
namespace {

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

double MetricValue(const std::string& metrics, const std::string& name) {
  std::istringstream in(metrics);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return -1;
}

TEST(CliResourcesTest, UploadListDeleteWithNamesAndLabels) {
  if (ServerBinary().empty()) GTEST_SKIP() << "graphopt-server is not built";
  std::string error;
  auto server = RunningServer::Start({"--workers", "1", "--gc-grace", "0ms"}, &error);
  ASSERT_TRUE(server) << error;
  auto graphopt = [&](const std::string& args, std::string* out = nullptr,
                      std::string* err = nullptr) {
    return RunCommand(CliPath() + " " + args + " " + server->ServerFlag(), out, err);
  };
  const std::string model = SharedModel("squeezenet1_1.raw.onnx");
  std::string out, err;

  // Refused before anything is sent, by the server's own checks.
  EXPECT_EQ(graphopt("upload " + model + " --name 'bad name'", &out, &err), 2);
  EXPECT_NE(err.find("--name"), std::string::npos) << err;
  EXPECT_EQ(graphopt("upload " + model + " --label team", &out, &err), 2);
  EXPECT_EQ(graphopt("upload " + model + " --version 1", &out, &err), 2);
  EXPECT_EQ(graphopt("jobs --label 'a=b=c'", &out, &err), 2);
  EXPECT_EQ(graphopt("jobs --since yesterday", &out, &err), 2);

  ASSERT_EQ(graphopt("upload " + model +
                         " -q --name vision/squeezenet --version 1.1 "
                         "--label team=vision --label stage=dev",
                     &out, &err),
            0)
      << err;
  const std::string digest = FirstLine(out);
  ASSERT_EQ(digest.rfind("sha256:", 0), 0u) << out;

  ASSERT_EQ(graphopt("submit " + model +
                         " -q --wait --label exp=a --name vision/squeezenet "
                         "--version 1.1",
                     &out, &err),
            0)
      << err;
  ASSERT_EQ(graphopt("jobs --label exp=a --json", &out, &err), 0) << err;
  auto jobs = JsonLines(out);
  ASSERT_EQ(jobs.size(), 1u) << out;
  EXPECT_EQ(jobs[0]["model_name"], "vision/squeezenet");
  EXPECT_EQ(jobs[0]["labels"]["exp"], "a");
  const std::string job_id = jobs[0]["id"];
  ASSERT_EQ(graphopt("jobs list --model-name vision/squeezenet --since 1h --json", &out, &err), 0)
      << err;
  EXPECT_EQ(JsonLines(out).size(), 1u) << out;
  ASSERT_EQ(graphopt("jobs --label exp=b --json", &out, &err), 0) << err;
  EXPECT_TRUE(JsonLines(out).empty()) << out;

  ASSERT_EQ(graphopt("models list --label team=vision,stage!=prod --json", &out, &err), 0) << err;
  auto models = JsonLines(out);
  ASSERT_EQ(models.size(), 1u) << out;
  EXPECT_EQ(models[0]["digest"], digest);
  EXPECT_EQ(models[0]["version"], "1.1");
  ASSERT_EQ(graphopt("models get " + digest + " --json", &out, &err), 0) << err;
  EXPECT_EQ(JsonLines(out).at(0)["labels"]["stage"], "dev");

  ASSERT_EQ(graphopt("jobs delete " + job_id, &out, &err), 0) << err;
  EXPECT_NE(out.find("reclaimed"), std::string::npos) << out;
  EXPECT_EQ(graphopt("jobs delete " + job_id, &out, &err), 2);  // NOT_FOUND
  ASSERT_EQ(graphopt("models delete " + digest, &out, &err), 0) << err;
  ASSERT_EQ(graphopt("models list --json", &out, &err), 0) << err;
  EXPECT_TRUE(JsonLines(out).empty()) << out;

  // The model (about 5 MB) and the artifact were freed and counted.
  const auto metrics = HttpRequest(server->metrics_port(), "GET", "/metrics");
  EXPECT_GT(MetricValue(metrics.body, "graphopt_storage_reclaimed_bytes_total"), 4e6)
      << metrics.body.substr(0, 200);
}

}  // namespace
}  // namespace graphopt::testing
