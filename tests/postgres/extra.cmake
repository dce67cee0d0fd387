# test_postgres runs the PostgreSQL stores against a temporary PostgreSQL cluster that the test
# starts itself (initdb + pg_ctl from Debian's postgresql package) on loopback. It reuses the
# process and port helpers of tests/metrics and tests/clients.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
find_package(Boost 1.74 REQUIRED)
target_sources(test_${area} PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/clients/client_server_fixture.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/child_process.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/metrics/http_test_client.cc)
target_link_libraries(test_${area} PRIVATE graphopt_server_lib PkgConfig::LIBPQ Boost::headers)

# The store benchmarks (bench/store/) are defined here because they need the server library,
# libpq and this folder's temporary cluster, which bench/CMakeLists.txt's one-file-per-benchmark
# rule does not link:
#   store_bench     job store throughput, SQLite vs PostgreSQL;
#   replicas_bench  jobs per second through real servers on SQLite and on PostgreSQL with one and
#                   two replicas.
function(graphopt_store_bench name)
  add_executable(${name} ${ARGN}
    ${dir}/temporary_postgres.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/clients/client_server_fixture.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/metrics/child_process.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/metrics/http_test_client.cc
    ${CMAKE_CURRENT_SOURCE_DIR}/support/test_support.cc)
  target_include_directories(${name} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE graphopt_server_lib PkgConfig::LIBPQ Boost::headers
                        GTest::gtest nlohmann_json::nlohmann_json)
  target_compile_definitions(${name} PRIVATE
    GRAPHOPT_SHARED_DIR="${GRAPHOPT_SHARED_DIR}"
    GRAPHOPT_CLI="$<TARGET_FILE:graphopt>"
    GRAPHOPT_BINARY_DIR="${CMAKE_BINARY_DIR}")
endfunction()

if(GRAPHOPT_BUILD_BENCH AND NOT TARGET store_bench)
  find_package(benchmark REQUIRED)
  graphopt_store_bench(store_bench ${CMAKE_SOURCE_DIR}/bench/store/store_bench.cc)
  target_link_libraries(store_bench PRIVATE benchmark::benchmark)
endif()

if(GRAPHOPT_BUILD_BENCH AND TARGET graphopt-server AND NOT TARGET replicas_bench)
  graphopt_store_bench(replicas_bench ${CMAKE_SOURCE_DIR}/bench/store/replicas_bench.cc
                       ${CMAKE_SOURCE_DIR}/bench/support/service_client.cc)
  add_dependencies(replicas_bench graphopt-server)
  target_compile_definitions(replicas_bench PRIVATE
    GRAPHOPT_SERVER_BINARY="$<TARGET_FILE:graphopt-server>")
endif()

# replicas_test.cc runs real graphopt-server processes against the temporary cluster.
if(TARGET graphopt-server)
  add_dependencies(test_${area} graphopt-server)
  target_compile_definitions(test_${area} PRIVATE
    GRAPHOPT_SERVER_BIN="$<TARGET_FILE:graphopt-server>")
endif()
