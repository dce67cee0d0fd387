# test_robust starts the real graphopt-server (process isolation, limits, store faults) with the
# end-to-end helpers of tests/server.
target_sources(test_${area} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/server/server_process.cc
                                    ${CMAKE_CURRENT_SOURCE_DIR}/server/e2e_fixture.cc)
target_link_libraries(test_${area} PRIVATE graphopt_server_lib)
add_dependencies(test_${area} graphopt-server)
target_compile_definitions(test_${area} PRIVATE
  GRAPHOPT_SERVER_BINARY="$<TARGET_FILE:graphopt-server>")
