// Progress of `graphopt optimize` on stderr: one line redrawn in place with a bar when stderr
// is a terminal; otherwise a plain line per fixed-point round and per stage after the passes,
// so a log stays short (one line per round, not one per pass).
#pragma once

#include <string>

#include "optimizer/pipeline.h"

namespace graphopt::cli {

class OptimizeProgress {
 public:
  explicit OptimizeProgress(bool quiet);
  ~OptimizeProgress();
  void OnEvent(const ProgressEvent& e);
  // Erases the redrawn line (before a table or an error is printed).
  void Clear();

 private:
  bool quiet_;
  bool tty_;
  bool drawn_ = false;
  std::string last_stage_;
  int last_round_ = 0;
};

}  // namespace graphopt::cli
