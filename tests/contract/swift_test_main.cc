// main() for the Swift tests against real servers: exits 77 when every test
// that ran was skipped (no server configured), so that meson reports SKIP
// rather than a pass. HOARDFS_TEST_VERBOSE=1 keeps the backend's log lines.
#include <gtest/gtest.h>

#include <cstdlib>

#include "hoardfs/log.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (std::getenv("HOARDFS_TEST_VERBOSE") == nullptr) hoardfs::log::set_level(hoardfs::log::Level::kError);
  int result = RUN_ALL_TESTS();
  const ::testing::UnitTest& unit = *::testing::UnitTest::GetInstance();
  if (result == 0 && unit.test_to_run_count() > 0 && unit.skipped_test_count() == unit.test_to_run_count()) {
    return 77;
  }
  return result;
}
