// The WatchJob stream: the job's current state, then its events until it finishes, or until the
// server drains (`streams` ends it with UNAVAILABLE).
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "graphopt/v1/optimizer.pb.h"
#include "server/service/open_streams.h"
#include "server/service/service_context.h"

namespace graphopt::server {

grpc::ServerWriteReactor<graphopt::v1::JobEvent>* NewWatchJobReactor(
    ServiceContext& context, OpenStreams& streams, const graphopt::v1::WatchJobRequest& request);

}  // namespace graphopt::server
