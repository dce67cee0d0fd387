# server_bench talks to a real graphopt-server through the generated API.
if(TARGET graphopt-server)
  target_sources(server_bench PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/support/service_client.cc)
  target_link_libraries(server_bench PRIVATE graphopt_api)
  add_dependencies(server_bench graphopt-server)
  target_compile_definitions(server_bench PRIVATE
    GRAPHOPT_SERVER_BINARY="$<TARGET_FILE:graphopt-server>")
else()
  set_target_properties(server_bench PROPERTIES EXCLUDE_FROM_ALL ON)
endif()
