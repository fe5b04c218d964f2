// A filesystem on a MemoryBackend for direct-call tests (no FUSE).
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <sodium.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/memory/memory_backend.h"
#include "hoardfs/filesystem.h"
#include "hoardfs/metadata_store.h"
#include "hoardfs/metadata_sync.h"
#include "hoardfs/object_names.h"

namespace hoardfs::testing {

inline constexpr uint32_t kTestBlock = 64 * 1024;

// A backend that runs a test's hook once, at the first get (or put) of a key
// with the hook's prefix, before passing the call on: to make something
// happen in the middle of a filesystem operation.
class HookedBackend final : public Backend {
 public:
  explicit HookedBackend(Backend& inner) : inner_(inner) {}
  struct Hook {
    std::string prefix;
    std::function<void(const std::string& key)> run;
  };
  Hook before_get, before_put;

  std::string describe() const override { return inner_.describe(); }
  Status get(const std::string& key, std::string* out) override {
    fire(before_get, key);
    return inner_.get(key, out);
  }
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override {
    return inner_.get_range(key, offset, length, out);
  }
  Status put(const std::string& key, std::string_view data) override {
    fire(before_put, key);
    return inner_.put(key, data);
  }
  Status put_if_absent(const std::string& key, std::string_view data) override {
    fire(before_put, key);
    return inner_.put_if_absent(key, data);
  }
  Status remove(const std::vector<std::string>& keys) override { return inner_.remove(keys); }
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys, ListPage* page) override {
    return inner_.list(prefix, start_after, max_keys, page);
  }
  Status head(const std::string& key, ObjectInfo* info) override { return inner_.head(key, info); }

 private:
  static void fire(Hook& hook, const std::string& key) {
    if (hook.run && key.starts_with(hook.prefix)) std::exchange(hook.run, {})(key);
  }
  Backend& inner_;
};

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (sodium_init() < 0) FAIL() << "sodium_init";
    static int counter = 0;
    store_name_ = "fs-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    backend_ = MemoryBackend::named(store_name_);
    keys_.encrypted = true;
    randombytes_buf(keys_.data_key.data(), keys_.data_key.size());
    randombytes_buf(keys_.block_hash_key.data(), keys_.block_hash_key.size());
    root_ = std::filesystem::temp_directory_path() / ("hoardfs-fs-test-" + store_name_);
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    // What mkfs.hoardfs does: an empty namespace uploaded as version 1.
    const std::string db = (root_ / "initial.db").string();
    ASSERT_TRUE(initialize_metadata_database(db, 0, 0, 0755).is_ok());
    ObjectCodec codec(keys_, 3);
    MetadataSync sync(*backend_, codec, {});
    ASSERT_TRUE(sync.upload(db).is_ok());
    options_.storage_url = "memory://" + store_name_;
    options_.cache_dir = (root_ / "cache").string();
    options_.metadata_interval_s = 0;
    options_.writeback_delay_s = 0;
    options_.upload_threads = 3;
  }

  void TearDown() override {
    if (fs_) {
      ASSERT_TRUE(fs_->shutdown().is_ok());
    }
    fs_.reset();
    MemoryBackend::reset_named(store_name_);
    std::filesystem::remove_all(root_);
  }

  void mount(Backend* backend = nullptr) {
    auto opened = Filesystem::open(backend ? *backend : *backend_, keys_, kTestBlock, options_);
    ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
    fs_ = std::move(opened).value();
  }
  void unmount() {
    ASSERT_TRUE(fs_->shutdown().is_ok());
    fs_.reset();
  }
  // Simulates kill -9: no flush, no metadata upload, no clean marker.
  void crash() {
    fs_.reset();
  }
  void drop_cache() { std::filesystem::remove_all(options_.cache_dir); }

  uint64_t create(uint64_t parent, const std::string& name, mode_t mode = 0644) {
    struct stat st {};
    uint64_t fh = 0;
    EXPECT_EQ(fs_->create(parent, name, mode, O_RDWR, caller_, &st, &fh), 0);
    EXPECT_EQ(fs_->release(st.st_ino, fh), 0);
    return st.st_ino;
  }
  uint64_t mkdir(uint64_t parent, const std::string& name) {
    struct stat st {};
    EXPECT_EQ(fs_->mkdir(parent, name, 0755, caller_, &st), 0);
    return st.st_ino;
  }
  void write(uint64_t ino, uint64_t offset, const std::string& data) {
    uint64_t fh = 0;
    ASSERT_EQ(fs_->open(ino, O_RDWR, &fh), 0);
    size_t written = 0;
    ASSERT_EQ(fs_->write(ino, fh, offset, data, &written), 0);
    ASSERT_EQ(written, data.size());
    ASSERT_EQ(fs_->release(ino, fh), 0);
  }
  std::string read(uint64_t ino, uint64_t offset = 0, size_t size = 1 << 30) {
    uint64_t fh = 0;
    EXPECT_EQ(fs_->open(ino, O_RDONLY, &fh), 0);
    std::string out;
    EXPECT_EQ(fs_->read(ino, fh, offset, size, &out), 0);
    EXPECT_EQ(fs_->release(ino, fh), 0);
    return out;
  }
  uint64_t lookup(uint64_t parent, const std::string& name) {
    struct stat st {};
    int err = fs_->lookup(parent, name, &st);
    return err == 0 ? st.st_ino : 0;
  }
  struct stat attr(uint64_t ino) {
    struct stat st {};
    EXPECT_EQ(fs_->getattr(ino, &st), 0);
    return st;
  }
  size_t count_objects(const std::string& prefix) {
    std::vector<ObjectInfo> objects;
    EXPECT_TRUE(list_all(*backend_, prefix, &objects).is_ok());
    return objects.size();
  }
  static std::string block_of(char fill, size_t size = kTestBlock) { return std::string(size, fill); }
  static std::string random_bytes(size_t size) {
    std::string s(size, '\0');
    randombytes_buf(s.data(), s.size());
    return s;
  }

  std::string store_name_;
  std::unique_ptr<MemoryBackend> backend_;
  KeyMaterial keys_;
  std::filesystem::path root_;
  MountOptions options_;
  Caller caller_;
  std::unique_ptr<Filesystem> fs_;
};

}  // namespace hoardfs::testing
