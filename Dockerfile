# graphopt container: a build stage with Debian 12's -dev packages compiles graphopt and
# graphopt-server; the runtime stage carries only the shared libraries they link (tests/deploy
# checks that list against `ldd` of the built binaries), runs as a non-root user, and starts
# graphopt-server listening on all interfaces.

FROM debian:bookworm-slim AS build
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler \
      libonnx-dev libboost-dev libboost-system-dev libspdlog-dev libfmt-dev \
      nlohmann-json3-dev libcli11-dev libsqlite3-dev libpq-dev libssl-dev libopenblas-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DGRAPHOPT_BUILD_TESTS=OFF -DGRAPHOPT_BUILD_BENCH=OFF \
 && cmake --build /build --target graphopt graphopt-server -j"$(nproc)" \
 && install -D -m 0755 -s /build/server/graphopt-server /out/usr/local/bin/graphopt-server \
 && install -D -m 0755 -s /build/graphopt /out/usr/local/bin/graphopt

FROM debian:bookworm-slim AS runtime
ARG DEBIAN_FRONTEND=noninteractive
# Exactly the packages whose libraries the binaries link (readelf NEEDED); their own
# dependencies come with them.
RUN apt-get update -q \
 && apt-get install -y -q --no-install-recommends libgrpc++1.51 libgrpc29 libabsl20220623 libprotobuf32 libonnx1 libopenblas0-pthread libspdlog1.10 libfmt9 libsqlite3-0 libssl3 libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 graphopt \
 && useradd --system --uid 10001 --gid graphopt --home-dir /var/lib/graphopt \
      --shell /usr/sbin/nologin graphopt \
 && install -d -o graphopt -g graphopt -m 0750 /var/lib/graphopt
COPY --from=build /out/ /

# Inside a container the server must listen beyond loopback; every flag has a GRAPHOPT_* twin,
# so Kubernetes ConfigMaps and `docker run -e` override these without a new command line.
# Listening on 0.0.0.0 needs authentication: mount a tokens file and set GRAPHOPT_AUTH_TOKENS
# (or client certificates with GRAPHOPT_TLS_CLIENT_CA); otherwise the server refuses to start and
# says why (docs/DEPLOY.md, "Security").
ENV GRAPHOPT_LISTEN=0.0.0.0:50051 \
    GRAPHOPT_METRICS_LISTEN=0.0.0.0:9090 \
    GRAPHOPT_DATA_DIR=/var/lib/graphopt \
    GRAPHOPT_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/graphopt
VOLUME ["/var/lib/graphopt"]
# 50051: gRPC (graphopt.v1.OptimizerService, grpc.health.v1, reflection).
# 9090: HTTP /metrics, /healthz, /readyz.
EXPOSE 50051 9090
# No curl or wget in the image: bash's /dev/tcp asks /readyz on the metrics port (it answers 200
# once the stores are open and gRPC serves).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${GRAPHOPT_METRICS_LISTEN##*:} && printf 'GET /readyz HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && read -r -t 4 _ code _ <&3 && [ \"$code\" = 200 ]"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/graphopt-server"]
CMD []
