// The WatchJob stream: the job's current state, then its events until it finishes.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "graphopt/v1/optimizer.pb.h"
#include "server/service/service_context.h"

namespace graphopt::server {

grpc::ServerWriteReactor<graphopt::v1::JobEvent>* NewWatchJobReactor(
    ServiceContext& context, const graphopt::v1::WatchJobRequest& request);

}  // namespace graphopt::server
