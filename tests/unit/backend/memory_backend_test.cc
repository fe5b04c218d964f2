// MemoryBackend specifics: shared named stores and the test hooks that other
// layers use for tamper and loss tests. The contract itself is in tests/contract/.
#include "backend/memory/memory_backend.h"

#include <gtest/gtest.h>

namespace hoardfs {
namespace {

TEST(MemoryBackendTest, NamedStoresOutliveTheirBackends) {
  MemoryBackend::reset_named("shared-test");
  {
    auto first = MemoryBackend::named("shared-test");
    ASSERT_TRUE(first->put("hoardfs.superblock", "sb").is_ok());
    EXPECT_EQ(first->describe(), "memory://shared-test");
  }
  auto reopened = MemoryBackend::named("shared-test");
  std::string out;
  ASSERT_TRUE(reopened->get("hoardfs.superblock", &out).is_ok());
  EXPECT_EQ(out, "sb");
  // Two live instances see each other's writes.
  auto other = MemoryBackend::named("shared-test");
  ASSERT_TRUE(other->put("k", "v").is_ok());
  EXPECT_TRUE(reopened->get("k", &out).is_ok());
  MemoryBackend::reset_named("shared-test");
  EXPECT_TRUE(reopened->get("k", &out).is_not_found());
}

TEST(MemoryBackendTest, PrivateAndDifferentlyNamedStoresAreSeparate) {
  MemoryBackend a, b;
  ASSERT_TRUE(a.put("k", "a").is_ok());
  std::string out;
  EXPECT_TRUE(b.get("k", &out).is_not_found());
  EXPECT_EQ(a.describe(), "memory");
  auto x = MemoryBackend::named("separate-x");
  auto y = MemoryBackend::named("separate-y");
  ASSERT_TRUE(x->put("k", "x").is_ok());
  EXPECT_TRUE(y->get("k", &out).is_not_found());
}

TEST(MemoryBackendTest, HooksReadAndReplaceStoredBytes) {
  MemoryBackend backend;
  ASSERT_TRUE(backend.put("data/ab/1", "original").is_ok());
  ASSERT_TRUE(backend.put("data/ab/2", "second").is_ok());
  auto snapshot = backend.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot["data/ab/1"], "original");

  // Flip a byte, as an attacker or a failing disk would.
  std::string tampered = snapshot["data/ab/1"];
  tampered[0] ^= 1;
  backend.poke("data/ab/1", tampered);
  std::string out;
  ASSERT_TRUE(backend.get("data/ab/1", &out).is_ok());
  EXPECT_EQ(out, tampered);
  // Swap two objects.
  backend.poke("data/ab/1", snapshot["data/ab/2"]);
  backend.poke("data/ab/2", snapshot["data/ab/1"]);
  ASSERT_TRUE(backend.get("data/ab/2", &out).is_ok());
  EXPECT_EQ(out, "original");
  // Lose one.
  EXPECT_TRUE(backend.drop("data/ab/1"));
  EXPECT_FALSE(backend.drop("data/ab/1"));
  EXPECT_EQ(backend.object_count(), 1u);
  // The snapshot is a copy, not a view.
  EXPECT_EQ(snapshot.size(), 2u);
}

TEST(MemoryBackendTest, KeysFollowTheContractRules) {
  MemoryBackend backend;
  std::string out;
  EXPECT_EQ(backend.put("", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend.put("a/../b", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend.put(std::string("nul\0", 4), "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend.get(std::string(513, 'k'), &out).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(backend.put(std::string(512, 'k'), "x").is_ok());
  // Unlike a directory, memory allows a key and keys under it.
  EXPECT_TRUE(backend.put("a", "x").is_ok());
  EXPECT_TRUE(backend.put("a/b", "x").is_ok());
}

}  // namespace
}  // namespace hoardfs
