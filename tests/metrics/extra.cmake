# test_metrics links the metrics library and the HTTP server (Boost.Beast for its test client).
if(NOT TARGET graphopt_metrics)
  # server/ not configured (GRAPHOPT_BUILD_SERVER=OFF or not written yet): build it here.
  add_subdirectory(${CMAKE_SOURCE_DIR}/server/metrics ${CMAKE_BINARY_DIR}/server_metrics_for_tests)
endif()
find_package(Boost 1.74 REQUIRED)
target_link_libraries(test_${area} PRIVATE graphopt_metrics Boost::headers)
