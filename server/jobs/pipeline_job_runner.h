// The JobRunner that runs graphopt::OptimizeFile, the same pipeline as `graphopt optimize`.
#pragma once

#include <memory>

#include "server/jobs/job_runner.h"

namespace graphopt::server {

std::unique_ptr<JobRunner> MakePipelineJobRunner();

}  // namespace graphopt::server
