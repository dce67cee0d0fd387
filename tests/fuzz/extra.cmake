# The fuzzer's generator and shrinker are tested directly.
target_link_libraries(test_fuzz PRIVATE graphopt_fuzz)
