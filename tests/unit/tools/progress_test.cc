#include "tools/progress.h"

#include <gtest/gtest.h>

namespace hoardfs::tools {
namespace {

TEST(Progress, Durations) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(42), "0:42");
  EXPECT_EQ(format_duration(725), "12:05");
  EXPECT_EQ(format_duration(3 * 3600 + 2 * 60 + 10), "3:02:10");
  EXPECT_EQ(format_duration(-5), "0:00");
}

TEST(Progress, Rates) {
  EXPECT_EQ(format_rate(0), "0 B/s");
  EXPECT_EQ(format_rate(12.0 * 1024 * 1024), "12 MiB/s");
  EXPECT_EQ(format_rate(12.5 * 1024 * 1024), "12.5 MiB/s");
}

TEST(Progress, DrainEstimate) {
  DrainEstimator estimator;
  estimator.add_sample(0.0, 100u << 20);
  EXPECT_EQ(estimator.rate(), 0);
  EXPECT_FALSE(estimator.eta_seconds().has_value());
  EXPECT_EQ(drain_progress_text("Uploading", estimator), "Uploading: 100 MiB left");
  estimator.add_sample(1.0, 90u << 20);
  EXPECT_DOUBLE_EQ(estimator.rate(), 10.0 * (1 << 20));
  ASSERT_TRUE(estimator.eta_seconds().has_value());
  EXPECT_DOUBLE_EQ(*estimator.eta_seconds(), 9.0);
  EXPECT_EQ(drain_progress_text("Uploading", estimator),
            "Uploading: 90 MiB left, 10 MiB/s, about 0:09 remaining");
  estimator.add_sample(2.0, 0);
  EXPECT_EQ(*estimator.eta_seconds(), 0.0);
}

TEST(Progress, SilentWhenNotATerminal) {
  // Under the test runner stderr is a pipe or file: nothing is printed.
  ProgressLine line(true);
  if (line.active()) GTEST_SKIP() << "stderr is a terminal";
  line.update("should not appear");
  line.finish("nor this");
}

}  // namespace
}  // namespace hoardfs::tools
