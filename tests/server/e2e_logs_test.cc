// Server logs (issue 16): one JSON line per RPC with its request id (the caller's x-request-id,
// or a generated one) and the job id; debug lines at --log-level debug; no line repeats a key.
#include <nlohmann/json.hpp>

#include <set>
#include <sstream>
#include <vector>

#include "server/e2e_fixture.h"

namespace graphopt::testing {
namespace {

// Parses one JSON log line; false when it is not JSON or an object repeats a key.
bool ParseUniqueKeys(const std::string& line, nlohmann::json* out, std::string* duplicate) {
  std::vector<std::set<std::string>> keys;
  bool unique = true;
  auto check = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    if (event == nlohmann::json::parse_event_t::object_start) keys.emplace_back();
    if (event == nlohmann::json::parse_event_t::object_end) keys.pop_back();
    if (event == nlohmann::json::parse_event_t::key && !keys.back().insert(parsed).second) {
      unique = false;
      *duplicate = parsed.get<std::string>();
    }
    return true;
  };
  *out = nlohmann::json::parse(line, check, /*allow_exceptions=*/false);
  return !out->is_discarded() && unique;
}

TEST_F(ServerE2eTest, JsonLogLinesHaveUniqueKeysAndRequestIds) {
  auto server = ServerProcess::Start(
      DataDir(), {"--workers", "1", "--log-format", "json", "--log-level", "debug"});
  ASSERT_TRUE(server);
  auto stub = server->NewStub();
  v1::Model model;
  ASSERT_TRUE(UploadFile(*stub, WriteTinyModel("m.onnx", 3), &model).ok());
  v1::Job job;
  {
    grpc::ClientContext context;
    context.AddMetadata("x-request-id", "req-16-abc");
    ASSERT_TRUE(stub->CreateJob(&context, JobRequest(model.digest(), "extended", true), &job).ok());
  }
  EXPECT_EQ(WaitForFinish(*stub, job.id()).state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(server->Terminate(), 0);

  std::istringstream log(server->Log());
  std::string line;
  int lines = 0, debug_lines = 0;
  bool created = false, uploaded = false, job_queued = false;
  while (std::getline(log, line)) {
    if (line.empty() || line[0] != '{') continue;
    nlohmann::json j;
    std::string duplicate;
    ASSERT_TRUE(ParseUniqueKeys(line, &j, &duplicate)) << "key '" << duplicate << "' twice: "
                                                       << line;
    ++lines;
    if (j["level"] == "debug") ++debug_lines;
    if (j["event"] == "job_queued") {
      job_queued = true;
      EXPECT_EQ(j["opt_level"], "extended") << line;  // not a second "level"
      EXPECT_EQ(j["level"], "info") << line;
    }
    if (j["event"] != "audit") continue;
    ASSERT_TRUE(j.contains("request_id")) << line;
    if (j["method"] == "CreateJob") {
      created = true;
      EXPECT_EQ(j["request_id"], "req-16-abc") << line;
      EXPECT_EQ(j["job_id"], job.id()) << line;
    }
    if (j["method"] == "UploadModel") {
      uploaded = true;
      EXPECT_EQ(j["request_id"].get<std::string>().size(), 16u) << line;  // generated
    }
  }
  EXPECT_GT(lines, 3);
  EXPECT_TRUE(created && uploaded && job_queued) << server->Log();
  EXPECT_GT(debug_lines, 0) << server->Log();
}

}  // namespace
}  // namespace graphopt::testing
