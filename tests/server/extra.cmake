# test_server links the server's library (unit tests) and starts the real graphopt-server binary
# (end-to-end tests), so it must be built first.
target_link_libraries(test_${area} PRIVATE graphopt_server_lib)
add_dependencies(test_${area} graphopt-server)
target_compile_definitions(test_${area} PRIVATE
  GRAPHOPT_SERVER_BINARY="$<TARGET_FILE:graphopt-server>")
