// Progress on a terminal, silence in scripts.
//
// ProgressLine rewrites one status line on stderr ("\r...\x1b[K") only when
// stderr is a terminal and the user did not ask for --quiet; in a pipe or a
// log file it prints nothing. The formatting helpers are pure so they can be
// tested.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace hoardfs::tools {

class ProgressLine {
 public:
  // enabled: the caller's decision (e.g. !quiet); the line is shown only if
  // stderr is also a terminal.
  explicit ProgressLine(bool enabled);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool active() const { return active_; }
  void update(const std::string& text);
  // Ends the line: leaves the last text (with `final_text` if given) and a newline.
  void finish(const std::string& final_text = "");

 private:
  bool active_;
  bool dirty_ = false;
};

// "12.3 MiB/s"
std::string format_rate(double bytes_per_second);
// "0:42", "12:05", "3:02:10"
std::string format_duration(double seconds);

// Follows a shrinking byte count (e.g. dirty bytes during an upload) and
// estimates the rate with an exponential moving average.
class DrainEstimator {
 public:
  void add_sample(double seconds, uint64_t remaining);
  double rate() const { return rate_; }          // bytes per second, 0 until known
  std::optional<double> eta_seconds() const;      // unknown until a rate exists
  uint64_t remaining() const { return remaining_; }

 private:
  bool have_sample_ = false;
  double last_seconds_ = 0;
  uint64_t remaining_ = 0;
  double rate_ = 0;
};

// "Uploading: 120 MiB left, 12.0 MiB/s, about 0:10 remaining"
std::string drain_progress_text(const std::string& what, const DrainEstimator& estimator);

}  // namespace hoardfs::tools
