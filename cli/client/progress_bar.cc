// Drawing ProgressBar.
#include "cli/client/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace graphopt::cli {

bool ProgressBar::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

ProgressBar::ProgressBar(std::string label, bool quiet)
    : label_(std::move(label)), quiet_(quiet), tty_(StderrIsTerminal()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::cerr << "\n";
}

void ProgressBar::Update(double fraction, const std::string& detail, bool milestone) {
  if (quiet_) return;
  if (tty_) {
    std::string line = "\r\033[K" + label_ + " ";
    if (fraction >= 0) {
      constexpr int kWidth = 30;
      const double f = std::clamp(fraction, 0.0, 1.0);
      const int filled = static_cast<int>(f * kWidth);
      line += "[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
      char pct[8];
      std::snprintf(pct, sizeof(pct), "%3d%% ", static_cast<int>(f * 100));
      line += pct;
    }
    line += detail;
    std::cerr << line << std::flush;
    drawn_ = true;
    return;
  }
  const int quarter = fraction < 0 ? -1 : static_cast<int>(std::clamp(fraction, 0.0, 1.0) * 4);
  if (!milestone && quarter == last_quarter_) return;
  last_quarter_ = quarter;
  std::cerr << label_ << ": " << detail << "\n";
}

void ProgressBar::Finish(const std::string& line) {
  if (quiet_) return;
  if (tty_ && drawn_) std::cerr << "\r\033[K";
  drawn_ = false;
  std::cerr << line << "\n";
}

}  // namespace graphopt::cli

namespace graphopt::cli {

void ProgressBar::Clear() {
  if (quiet_) return;
  if (tty_ && drawn_) std::cerr << "\r\033[K" << std::flush;
  drawn_ = false;
}

}  // namespace graphopt::cli
