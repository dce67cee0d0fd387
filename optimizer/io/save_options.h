// How a model is written: inline or with external data. IR-free.
#pragma once

#include <cstdint>

namespace graphopt {

struct SaveOptions {
  // Store large initializers in a side file even when the model would fit inline.
  bool external_data = false;
  // Initializers at least this large go to the side file when external data is used.
  int64_t external_threshold_bytes = 1024;
  // protobuf cannot serialize a message over 2 GiB; past this the side file is used regardless.
  int64_t inline_limit_bytes = (int64_t{2} << 30) - (int64_t{64} << 20);
};

}  // namespace graphopt
