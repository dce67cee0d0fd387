// The DownloadArtifact stream: a succeeded job's optimized model or report, in chunks.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "graphopt/v1/optimizer.pb.h"
#include "server/service/service_context.h"

namespace graphopt::server {

grpc::ServerWriteReactor<graphopt::v1::ArtifactChunk>* NewDownloadArtifactReactor(
    ServiceContext& context, const graphopt::v1::DownloadArtifactRequest& request);

}  // namespace graphopt::server
