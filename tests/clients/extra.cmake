# test_clients drives the client tools (the `graphopt` client subcommands and the Python client
# in clients/python) against a real graphopt-server process. It reuses the child-process and
# HTTP helpers of tests/metrics.
find_package(Boost 1.74 REQUIRED)
target_sources(test_${area} PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/child_process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/http_test_client.cc)
target_link_libraries(test_${area} PRIVATE Boost::headers)
target_compile_definitions(test_${area} PRIVATE
  GRAPHOPT_PYTHON_CLIENT_DIR="${CMAKE_SOURCE_DIR}/clients/python"
  GRAPHOPT_CLIENT_TESTS_DIR="${dir}")
if(TARGET graphopt-server)
  add_dependencies(test_${area} graphopt-server)
  target_compile_definitions(test_${area} PRIVATE
    GRAPHOPT_SERVER_BIN="$<TARGET_FILE:graphopt-server>")
endif()
