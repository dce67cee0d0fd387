# Embeds the target profiles (backends/targets/*.json) into graphopt_passes: a generated .cc
# holds each file as a raw string literal, so the binary needs no data files at run time.
# Included from the top-level CMakeLists.txt right after graphopt_passes is defined.
file(GLOB GRAPHOPT_TARGET_PROFILE_FILES CONFIGURE_DEPENDS
     ${CMAKE_CURRENT_LIST_DIR}/*.json)
set(GRAPHOPT_TARGET_PROFILES_CC ${CMAKE_BINARY_DIR}/generated/embedded_target_profiles.cc)
add_custom_command(
  OUTPUT ${GRAPHOPT_TARGET_PROFILES_CC}
  COMMAND ${CMAKE_COMMAND} -DOUTPUT=${GRAPHOPT_TARGET_PROFILES_CC}
          "-DPROFILES=${GRAPHOPT_TARGET_PROFILE_FILES}"
          -P ${CMAKE_CURRENT_LIST_DIR}/write_embedded_profiles.cmake
  DEPENDS ${GRAPHOPT_TARGET_PROFILE_FILES} ${CMAKE_CURRENT_LIST_DIR}/write_embedded_profiles.cmake
  COMMENT "Embedding target profiles"
  VERBATIM)
target_sources(graphopt_passes PRIVATE ${GRAPHOPT_TARGET_PROFILES_CC})
