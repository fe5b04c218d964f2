#include "tools/progress.h"

#include <unistd.h>

#include <fmt/core.h>

#include <cmath>
#include <cstdio>

#include "tools/tool_common.h"

namespace hoardfs::tools {

ProgressLine::ProgressLine(bool enabled) : active_(enabled && isatty(STDERR_FILENO) == 1) {}

ProgressLine::~ProgressLine() {
  if (dirty_) finish();
}

void ProgressLine::update(const std::string& text) {
  if (!active_) return;
  std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
  std::fflush(stderr);
  dirty_ = true;
}

void ProgressLine::finish(const std::string& final_text) {
  if (!active_) return;
  if (!final_text.empty()) {
    std::fprintf(stderr, "\r%s\x1b[K\n", final_text.c_str());
  } else if (dirty_) {
    std::fputc('\n', stderr);
  }
  std::fflush(stderr);
  dirty_ = false;
}

std::string format_rate(double bytes_per_second) {
  if (!(bytes_per_second > 0)) return "0 B/s";
  return format_size(static_cast<uint64_t>(bytes_per_second)) + "/s";
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) seconds = 0;
  auto total = static_cast<uint64_t>(std::llround(seconds));
  uint64_t hours = total / 3600, minutes = (total / 60) % 60, secs = total % 60;
  if (hours > 0) return fmt::format("{}:{:02}:{:02}", hours, minutes, secs);
  return fmt::format("{}:{:02}", minutes, secs);
}

void DrainEstimator::add_sample(double seconds, uint64_t remaining) {
  if (have_sample_ && seconds > last_seconds_) {
    double drained = remaining_ > remaining ? static_cast<double>(remaining_ - remaining) : 0.0;
    double instant = drained / (seconds - last_seconds_);
    rate_ = rate_ == 0 ? instant : 0.7 * rate_ + 0.3 * instant;
  }
  have_sample_ = true;
  last_seconds_ = seconds;
  remaining_ = remaining;
}

std::optional<double> DrainEstimator::eta_seconds() const {
  if (remaining_ == 0) return 0.0;
  if (rate_ <= 0) return std::nullopt;
  return static_cast<double>(remaining_) / rate_;
}

std::string drain_progress_text(const std::string& what, const DrainEstimator& estimator) {
  std::string text = fmt::format("{}: {} left", what, format_size(estimator.remaining()));
  if (estimator.rate() > 0) text += ", " + format_rate(estimator.rate());
  if (auto eta = estimator.eta_seconds(); eta && estimator.remaining() > 0) {
    text += ", about " + format_duration(*eta) + " remaining";
  }
  return text;
}

}  // namespace hoardfs::tools
