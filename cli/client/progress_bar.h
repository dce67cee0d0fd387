// Progress on stderr: a bar redrawn in place when stderr is a terminal, plain lines otherwise
// (so logs of CI jobs and pipelines stay readable).
#pragma once

#include <string>

namespace graphopt::cli {

class ProgressBar {
 public:
  // `label` prefixes every update ("upload", "job 1f3a"). `quiet` prints nothing.
  ProgressBar(std::string label, bool quiet);
  ~ProgressBar();

  // `fraction` in [0, 1] (negative: unknown, no bar). On a terminal the bar is redrawn; in
  // plain mode a line is printed when `milestone` is set or another quarter is reached.
  void Update(double fraction, const std::string& detail, bool milestone = false);
  // Ends the bar with a final line.
  void Finish(const std::string& line);
  // Ends the bar without a line (an error message follows instead).
  void Clear();

  static bool StderrIsTerminal();

 private:
  std::string label_;
  bool quiet_;
  bool tty_;
  bool drawn_ = false;
  int last_quarter_ = -1;
};

}  // namespace graphopt::cli
