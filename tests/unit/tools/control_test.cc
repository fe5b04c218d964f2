#include "tools/control.h"

#include <gtest/gtest.h>

namespace hoardfs::tools {
namespace {

TEST(StatsJson, ParsesTheSpecKeys) {
  FsStats stats;
  std::string problem;
  ASSERT_TRUE(parse_stats_json(R"({"entries":10,"inodes":9,"blocks":8,"data_bytes":7000,)"
                               R"("dedup_bytes":6000,"compressed_bytes":5000,"metadata_bytes":400,)"
                               R"("cache_bytes":300,"dirty_bytes":200,"cache_limit_bytes":100,)"
                               R"("metadata_version":3,"future_key":"ignored"})",
                               &stats, &problem))
      << problem;
  EXPECT_EQ(stats.entries, 10u);
  EXPECT_EQ(stats.inodes, 9u);
  EXPECT_EQ(stats.blocks, 8u);
  EXPECT_EQ(stats.data_bytes, 7000u);
  EXPECT_EQ(stats.dedup_bytes, 6000u);
  EXPECT_EQ(stats.compressed_bytes, 5000u);
  EXPECT_EQ(stats.metadata_bytes, 400u);
  EXPECT_EQ(stats.cache_bytes, 300u);
  EXPECT_EQ(stats.dirty_bytes, 200u);
  EXPECT_EQ(stats.cache_limit_bytes, 100u);
  EXPECT_EQ(stats.metadata_version, 3u);
}

TEST(StatsJson, MissingKeysAreZeroAndBadOnesRejected) {
  FsStats stats;
  std::string problem;
  ASSERT_TRUE(parse_stats_json(R"({"entries":1})", &stats, &problem));
  EXPECT_EQ(stats.entries, 1u);
  EXPECT_EQ(stats.dirty_bytes, 0u);
  EXPECT_FALSE(parse_stats_json("not json", &stats, &problem));
  EXPECT_FALSE(parse_stats_json("[1,2]", &stats, &problem));
  EXPECT_FALSE(parse_stats_json(R"({"entries":-1})", &stats, &problem));
  EXPECT_FALSE(parse_stats_json(R"({"entries":"many"})", &stats, &problem));
  EXPECT_NE(problem.find("entries"), std::string::npos);
}

TEST(StatsJson, RoundTrip) {
  FsStats stats;
  stats.entries = 1;
  stats.data_bytes = uint64_t{1} << 40;
  stats.dirty_bytes = 5;
  FsStats back;
  std::string problem;
  ASSERT_TRUE(parse_stats_json(stats_to_json(stats), &back, &problem));
  EXPECT_EQ(back.entries, 1u);
  EXPECT_EQ(back.data_bytes, uint64_t{1} << 40);
  EXPECT_EQ(back.dirty_bytes, 5u);
  EXPECT_NE(stats_to_json(stats).find("\"compressed_bytes\":0"), std::string::npos);
}

TEST(ControlXattr, PlainDirectoryIsNotAHoardfsMount) {
  ToolError error;
  pid_t pid = 0;
  EXPECT_FALSE(read_daemon_pid("/tmp", &pid, &error));
  EXPECT_EQ(error.exit_code, exit_code::kUsage);
  EXPECT_NE(error.message.find("not the root of a hoardfs mount"), std::string::npos) << error.message;
  EXPECT_FALSE(read_daemon_pid("/nonexistent-hoardfs-test", &pid, &error));
  EXPECT_EQ(error.exit_code, exit_code::kUsage);
}

}  // namespace
}  // namespace hoardfs::tools
