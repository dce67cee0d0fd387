// gRPC server assembly.
#include "server/service/grpc_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <grpcpp/server_builder.h>

#include "server/service/reflection_service.h"
#include "server/service/status_mapping.h"

namespace graphopt::server {

namespace {
constexpr int kMaxMessageBytes = 8 << 20;  // chunks are small; anything larger is abuse
constexpr const char* kServiceName = "graphopt.v1.OptimizerService";
std::shared_ptr<grpc::ServerCredentials> Credentials(const GrpcServerOptions& options) {
  if (options.tls_cert.empty()) return grpc::InsecureServerCredentials();
  using grpc::experimental::FileWatcherCertificateProvider;
  const unsigned refresh = static_cast<unsigned>(std::max(1, options.tls_refresh_seconds));
  auto provider =
      options.tls_client_ca.empty()
          ? std::make_shared<FileWatcherCertificateProvider>(options.tls_key, options.tls_cert,
                                                             refresh)
          : std::make_shared<FileWatcherCertificateProvider>(
                options.tls_key, options.tls_cert, options.tls_client_ca, refresh);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  if (options.tls_client_ca.empty()) {
    tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  } else {
    tls.watch_root_certs();
    tls.set_cert_request_type(options.client_certificate_optional
                                  ? GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY
                                  : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(tls);
}

}  // namespace

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(ServiceContext& context,
                                                      const GrpcServerOptions& options) {
  std::unique_ptr<GrpcServer> server(new GrpcServer());
  server->service_ = std::make_unique<OptimizerService>(context, server->streams_);
  // Our own health service rather than gRPC's, whose Watch streams would stay open until the
  // listener closes.
  grpc::EnableDefaultHealthCheckService(false);
  server->health_ =
      std::make_unique<HealthService>(std::vector<std::string>{kServiceName}, server->streams_);
  // The plugin, once initialised, adds reflection to every server this process builds.
  if (options.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, Credentials(options), &server->port_);
  builder.RegisterService(server->service_.get());
  builder.RegisterService(server->health_.get());
  // gRPC's plugin adds reflection v1alpha; v1 is ours. Both describe every service listed.
  if (options.reflection) {
    server->reflection_v1_ = std::make_unique<ReflectionV1Service>(std::vector<std::string>{
        kServiceName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection"});
    builder.RegisterService(server->reflection_v1_.get());
  }
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_concurrent_streams);
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return Status(StatusCode::kUnavailable, "cannot listen on " + options.listen +
                                                " (address in use or not valid for this host)");
  }
  server->SetServing(false);
  return server;
}

GrpcServer::~GrpcServer() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
  }
}

void GrpcServer::SetServing(bool serving) { health_->SetServing(serving); }

int GrpcServer::EndStreams() {
  // Through the one status mapping, so the refusal carries what every UNAVAILABLE carries.
  return streams_.EndAll(ToGrpcStatus(
      Status(StatusCode::kUnavailable,
             "the server is shutting down: watch again to continue (on another replica, or "
             "here once it has restarted)")));
}

void GrpcServer::Shutdown(std::chrono::system_clock::time_point deadline) {
  SetServing(false);
  server_->Shutdown(deadline);
  server_->Wait();
  server_.reset();
}

}  // namespace graphopt::server
