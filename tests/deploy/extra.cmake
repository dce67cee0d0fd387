# test_deploy checks the deployment files (Dockerfile, deploy/k8s, deploy/prometheus,
# deploy/grafana) against the real binaries: ldd of the built server, its --help, and a running
# graphopt-server's /metrics. It reuses the server fixture and helpers of tests/clients and
# tests/metrics.
find_package(Boost 1.74 REQUIRED)
target_sources(test_${area} PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/clients/client_server_fixture.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/child_process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/http_test_client.cc)
target_link_libraries(test_${area} PRIVATE Boost::headers)
target_compile_definitions(test_${area} PRIVATE GRAPHOPT_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
if(TARGET graphopt-server)
  add_dependencies(test_${area} graphopt-server)
  target_compile_definitions(test_${area} PRIVATE
    GRAPHOPT_SERVER_BIN="$<TARGET_FILE:graphopt-server>")
endif()
