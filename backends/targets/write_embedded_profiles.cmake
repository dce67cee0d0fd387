# Script mode (cmake -P): writes OUTPUT, a C++ file defining the table that
# optimizer/target.cc reads, with one entry per file in PROFILES.
set(delimiter "graphopt_profile")
set(body "")
set(count 0)
foreach(file IN LISTS PROFILES)
  file(READ ${file} text)
  string(FIND "${text}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} contains the raw-string delimiter ${delimiter}")
  endif()
  get_filename_component(name ${file} NAME)
  string(APPEND body "    {\"${name}\", R\"${delimiter}(${text})${delimiter}\"},\n")
  math(EXPR count "${count} + 1")
endforeach()
if(count EQUAL 0)
  string(APPEND body "    {nullptr, nullptr},\n")
endif()
file(WRITE ${OUTPUT}.tmp
"// Generated from backends/targets/*.json by write_embedded_profiles.cmake; do not edit.
#include <cstddef>

namespace graphopt {

struct EmbeddedTargetProfile {
  const char* file;
  const char* json;
};

extern const EmbeddedTargetProfile kEmbeddedTargetProfiles[];
extern const size_t kEmbeddedTargetProfileCount;

const EmbeddedTargetProfile kEmbeddedTargetProfiles[] = {
${body}};
const size_t kEmbeddedTargetProfileCount = ${count};

}  // namespace graphopt
")
# Only touch the output when it changed, so an unchanged profile set does not rebuild.
file(COPY_FILE ${OUTPUT}.tmp ${OUTPUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUTPUT}.tmp)
