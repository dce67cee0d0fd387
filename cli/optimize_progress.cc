#include "cli/optimize_progress.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace graphopt::cli {

OptimizeProgress::OptimizeProgress(bool quiet)
    : quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1) {}

OptimizeProgress::~OptimizeProgress() { Clear(); }

void OptimizeProgress::Clear() {
  if (drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

void OptimizeProgress::OnEvent(const ProgressEvent& e) {
  if (quiet_) return;
  std::string detail;
  if (e.stage == "optimizing" && e.pass_count > 0) {
    detail = "round " + std::to_string(e.round) + ", pass " + std::to_string(e.pass_index + 1) +
             "/" + std::to_string(e.pass_count) + " " + e.pass_name;
  } else if (e.stage == "bisecting") {
    detail = "step " + std::to_string(e.pass_index + 1) + ", " + e.pass_name;
  }
  if (tty_) {
    std::string line = "\r\033[K" + e.stage;
    if (e.stage == "optimizing" && e.pass_count > 0) {
      // The bar covers one round: the number of rounds is known only at the fixed point.
      constexpr int kWidth = 26;
      const int filled = (e.pass_index + 1) * kWidth / e.pass_count;
      line += " [" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "]";
    }
    if (!detail.empty()) line += " " + detail;
    std::cerr << line << std::flush;
    drawn_ = true;
    return;
  }
  // Plain mode: a line per round and per later stage; loading and each pass say nothing.
  if (e.stage == "optimizing") {
    if (e.round > last_round_) {
      std::cerr << "optimizing: round " << e.round << " (" << e.pass_count << " passes)\n";
      last_round_ = e.round;
    }
  } else if (e.stage == "bisecting") {
    std::cerr << "bisecting: " << detail << "\n";
  } else if (e.stage != "loading" && e.stage != last_stage_) {
    std::cerr << e.stage << "\n";
  }
  last_stage_ = e.stage;
}

}  // namespace graphopt::cli
