// Optimization levels: which passes run. IR-free, so the service can name a level without
// seeing the IR.
#pragma once

#include <string>

#include "optimizer/util/status.h"

namespace graphopt {

enum class Level { kDisabled = 0, kBasic = 1, kExtended = 2, kLayout = 3, kAll = 4 };

const char* LevelName(Level level);
Result<Level> ParseLevel(const std::string& name);

}  // namespace graphopt
