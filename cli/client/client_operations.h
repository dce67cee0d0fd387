// The steps the client subcommands are made of: upload a file, follow a job to its end,
// download an artifact. Each prints its own errors and returns an exit code (0 on success).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/client/client_common.h"

namespace graphopt::cli {

// A model's optional name, version and labels (--name, --version, --label).
struct ModelIdentity {
  std::string name, version;
  std::map<std::string, std::string> labels;
};

// Checks --name/--version and parses --label KEY=VALUE specs with the functions the server
// validates with (resource_labels.h); "" or the reason.
std::string ParseModelIdentity(const std::string& name, const std::string& version,
                               const std::vector<std::string>& label_specs, ModelIdentity* out);
std::string ParseLabelSpecs(const std::vector<std::string>& specs,
                            std::map<std::string, std::string>* out);

// Streams `path` to UploadModel (as `kind`), with an upload progress bar unless `quiet`.
int UploadFile(api::OptimizerService::Stub& stub, const std::string& server,
               const std::string& path, api::FileKind kind, bool quiet, api::Model* model,
               const ModelIdentity& identity = {});

// The external-data locations the ONNX model at `path` refers to (relative to its folder);
// empty for a self-contained model or one that does not parse (the server judges those).
// Returns kExitError after printing when the file cannot be read.
int ExternalDataLocations(const std::string& path, std::vector<std::string>* locations);

// Watches `job_id` until it finishes, with a progress bar of its passes unless `quiet`; on
// success `*job` is the finished job. `json_events` prints every event as a JSON line on
// stdout.
int FollowJob(api::OptimizerService::Stub& stub, const std::string& server,
              const std::string& job_id, bool quiet, bool json_events, api::Job* job);

// Writes the job's artifact of `kind` to `path` (through a temporary file, renamed when
// complete and of the announced size).
int DownloadToFile(api::OptimizerService::Stub& stub, const std::string& server,
                   const std::string& job_id, api::ArtifactKind kind, const std::string& path,
                   bool quiet);

// Prints `message` as one JSON line on stdout.
void PrintJsonLine(const google::protobuf::Message& message);

}  // namespace graphopt::cli
