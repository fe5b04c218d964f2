// LocalBackend specifics beyond the contract suite: on-disk layout, temp
// files, the order of durability steps, directory pruning, key rules, errors.
#include "backend/local/local_backend.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

namespace hoardfs {
namespace {

namespace fs = std::filesystem;

class LocalBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "hoardfs-local-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    base_ = templ;
    root_ = base_ + "/store";
  }
  void TearDown() override {
    std::error_code ignored;
    fs::permissions(root_, fs::perms::owner_all, ignored);
    fs::remove_all(base_, ignored);
  }

  std::unique_ptr<LocalBackend> open(LocalBackend::Options options = {}) {
    auto backend = LocalBackend::open(root_, std::move(options));
    EXPECT_TRUE(backend.is_ok()) << backend.status().to_string();
    return backend ? std::move(backend).value() : nullptr;
  }

  // Every path under the root, relative to it.
  std::vector<std::string> tree() const {
    std::vector<std::string> paths;
    if (!fs::exists(root_)) return paths;
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      paths.push_back(fs::relative(entry.path(), root_).string());
    }
    std::sort(paths.begin(), paths.end());
    return paths;
  }

  std::vector<std::string> temp_files() const {
    std::vector<std::string> temps;
    for (const auto& p : tree()) {
      if (fs::path(p).filename().string().starts_with(LocalBackend::kTempPrefix)) temps.push_back(p);
    }
    return temps;
  }

  std::string base_, root_;
};

std::vector<std::string> keys_of(const ListPage& page) {
  std::vector<std::string> keys;
  for (const auto& object : page.objects) keys.push_back(object.key);
  return keys;
}

TEST_F(LocalBackendTest, ObjectsArePlainFilesAtTheirKeys) {
  auto backend = open();
  ASSERT_TRUE(backend->put("data/ab/0123", "payload").is_ok());
  ASSERT_TRUE(backend->put("hoardfs.superblock", "sb").is_ok());
  EXPECT_EQ(tree(), (std::vector<std::string>{"data", "data/ab", "data/ab/0123", "hoardfs.superblock"}));
  std::ifstream in(root_ + "/data/ab/0123", std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "payload");
  // Private to the owner: sizes and names are nobody else's business.
  struct stat st {};
  ASSERT_EQ(stat((root_ + "/data/ab/0123").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((root_ + "/data").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(LocalBackendTest, MissingRootReadsAsEmptyAndFirstPutCreatesIt) {
  auto backend = open();
  ASSERT_FALSE(fs::exists(root_));
  ListPage page;
  ASSERT_TRUE(backend->list("", "", 10, &page).is_ok());
  EXPECT_TRUE(page.objects.empty());
  std::string out;
  EXPECT_TRUE(backend->get("hoardfs.superblock", &out).is_not_found());
  ASSERT_TRUE(backend->put("hoardfs.superblock", "x").is_ok());
  EXPECT_TRUE(fs::is_directory(root_));
}

TEST_F(LocalBackendTest, NoTempFilesLeftBehind) {
  auto backend = open();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(backend->put("data/" + std::to_string(i % 3) + "/k" + std::to_string(i), "v").is_ok());
  }
  ASSERT_TRUE(backend->put("data/0/k0", "overwritten").is_ok());
  ASSERT_TRUE(backend->put_if_absent("lock", "a").is_ok());
  EXPECT_EQ(backend->put_if_absent("lock", "b").code(), Status::Code::kAlreadyExists);
  // Failed puts clean up too: a key under an object, and a key that is a directory.
  EXPECT_EQ(backend->put("lock/inner", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->put("data/0", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->put_if_absent("data/1", "x").code(), Status::Code::kAlreadyExists);
  EXPECT_TRUE(temp_files().empty()) << temp_files().front();
}

TEST_F(LocalBackendTest, TempFilesAreNeverListedAndStaleOnesAreRemoved) {
  auto backend = open();
  ASSERT_TRUE(backend->put("data/ab/real", "x").is_ok());
  std::string fresh = root_ + "/data/ab/" + std::string(LocalBackend::kTempPrefix) + "1-2-3";
  std::string stale = root_ + "/" + std::string(LocalBackend::kTempPrefix) + "4-5-6";
  std::ofstream(fresh) << "half";
  std::ofstream(stale) << "dead";
  // A crash two days ago left this one.
  struct timespec old_times[2] = {{time(nullptr) - 2 * 86400, 0}, {time(nullptr) - 2 * 86400, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, stale.c_str(), old_times, 0), 0);

  ListPage page;
  ASSERT_TRUE(backend->list("", "", 100, &page).is_ok());
  EXPECT_EQ(keys_of(page), std::vector<std::string>{"data/ab/real"});
  EXPECT_TRUE(fs::exists(fresh)) << "a temp file of a running put must stay";
  EXPECT_FALSE(fs::exists(stale));
  // Temp names are not keys at all.
  std::string out;
  EXPECT_EQ(backend->get("data/ab/" + std::string(LocalBackend::kTempPrefix) + "1-2-3", &out).code(),
            Status::Code::kInvalidArgument);
}

// The steps of a put, in the order that makes it crash-safe.
TEST_F(LocalBackendTest, PutSyncsFileThenRenamesThenSyncsDirectories) {
  std::vector<std::pair<std::string, std::string>> steps;
  LocalBackend::Options options;
  options.trace = [&](std::string_view step, const std::string& path) { steps.emplace_back(step, path); };
  auto backend = open(options);
  ASSERT_TRUE(backend->put("data/ab/obj", "v").is_ok());

  auto find = [&](const std::string& step, const std::string& path) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].first == step && steps[i].second == path) return static_cast<int>(i);
    }
    return -1;
  };
  auto find_step = [&](const std::string& step) {
    for (size_t i = 0; i < steps.size(); ++i) {
      if (steps[i].first == step) return static_cast<int>(i);
    }
    return -1;
  };
  int file_sync = find_step("fsync-file");
  int rename = find("rename", root_ + "/data/ab/obj");
  int dir_sync = find("fsync-dir", root_ + "/data/ab");
  ASSERT_GE(file_sync, 0);
  EXPECT_TRUE(steps[file_sync].second.starts_with(root_ + "/data/ab/" + std::string(LocalBackend::kTempPrefix)));
  EXPECT_LT(file_sync, rename);
  EXPECT_LT(rename, dir_sync);
  // Each new directory is made durable in its parent before the object lands.
  for (const std::string& dir : {root_, root_ + "/data", root_ + "/data/ab"}) {
    int made = find("mkdir", dir);
    int parent_synced = find("fsync-dir", fs::path(dir).parent_path().string());
    ASSERT_GE(made, 0) << dir;
    EXPECT_LT(made, parent_synced) << dir;
    EXPECT_LT(parent_synced, rename) << dir;
  }

  // The next put into the same directory needs no directory work but its own sync.
  steps.clear();
  ASSERT_TRUE(backend->put("data/ab/obj2", "v").is_ok());
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].first, "fsync-file");
  EXPECT_EQ(steps[1], (std::pair<std::string, std::string>{"rename", root_ + "/data/ab/obj2"}));
  EXPECT_EQ(steps[2], (std::pair<std::string, std::string>{"fsync-dir", root_ + "/data/ab"}));

  steps.clear();
  ASSERT_TRUE(backend->put_if_absent("data/ab/lock", "v").is_ok());
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].first, "fsync-file");
  EXPECT_TRUE(steps[1].first == "rename-noreplace" || steps[1].first == "link") << steps[1].first;
  EXPECT_EQ(steps[1].second, root_ + "/data/ab/lock");
  EXPECT_EQ(steps[2].first, "fsync-dir");
}

// A stored object leaves nothing in the page cache: its readers are served by
// the block cache in front, and 2 GiB written should not cost 2 GiB of pages.
TEST(LocalBackendPagesTest, StoredObjectsLeaveNoPagesInThePageCache) {
  // On tmpfs (a /tmp in memory) pages are the storage: use the working folder.
  struct statfs tmp_fs {};
  bool tmp_in_memory = statfs(fs::temp_directory_path().c_str(), &tmp_fs) == 0 && tmp_fs.f_type == TMPFS_MAGIC;
  std::string templ = ((tmp_in_memory ? fs::current_path() : fs::temp_directory_path()) / "hoardfs-pages-XXXXXX").string();
  ASSERT_NE(mkdtemp(templ.data()), nullptr);
  auto backend = LocalBackend::open(templ + "/store");
  ASSERT_TRUE(backend.is_ok()) << backend.status().to_string();
  const size_t size = 1 << 20;
  ASSERT_TRUE((*backend)->put("data/ab/object", std::string(size, 'x')).is_ok());

  int fd = ::open((templ + "/store/data/ab/object").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ASSERT_NE(map, MAP_FAILED);
  std::vector<unsigned char> resident(size / static_cast<size_t>(sysconf(_SC_PAGESIZE)));
  ASSERT_EQ(mincore(map, size, resident.data()), 0);
  size_t cached = std::count_if(resident.begin(), resident.end(), [](unsigned char page) { return page & 1; });
  ::munmap(map, size);
  ::close(fd);
  fs::remove_all(templ);
  EXPECT_EQ(cached, 0u) << cached << " of " << resident.size() << " pages of a stored object stayed cached";
}

// A directory that another process created is not trusted to be durable.
TEST_F(LocalBackendTest, ExistingDirectoryIsSyncedOnFirstUse) {
  fs::create_directories(root_ + "/data/cd");
  std::vector<std::string> synced_dirs;
  LocalBackend::Options options;
  options.trace = [&](std::string_view step, const std::string& path) {
    if (step == "fsync-dir") synced_dirs.push_back(path);
  };
  auto backend = open(options);
  ASSERT_TRUE(backend->put("data/cd/x", "v").is_ok());
  EXPECT_EQ(synced_dirs, (std::vector<std::string>{root_, root_ + "/data", root_ + "/data/cd"}));
}

TEST_F(LocalBackendTest, RemovePrunesEmptyDirectoriesButNotTheRoot) {
  auto backend = open();
  ASSERT_TRUE(backend->put("data/ab/1", "x").is_ok());
  ASSERT_TRUE(backend->put("data/ab/2", "x").is_ok());
  ASSERT_TRUE(backend->put("data/cd/1", "x").is_ok());
  ASSERT_TRUE(backend->put("meta/v1", "x").is_ok());
  ASSERT_TRUE(backend->remove({"data/ab/1"}).is_ok());
  EXPECT_TRUE(fs::exists(root_ + "/data/ab"));
  ASSERT_TRUE(backend->remove({"data/ab/2", "data/cd/1"}).is_ok());
  EXPECT_EQ(tree(), (std::vector<std::string>{"meta", "meta/v1"}));
  ASSERT_TRUE(backend->remove({"meta/v1"}).is_ok());
  EXPECT_TRUE(tree().empty());
  EXPECT_TRUE(fs::is_directory(root_));
  // A pruned directory comes back on the next put.
  ASSERT_TRUE(backend->put("data/ab/3", "x").is_ok());
  std::string out;
  ASSERT_TRUE(backend->get("data/ab/3", &out).is_ok());
}

// Someone deletes the whole tree under a running backend; puts recreate it.
TEST_F(LocalBackendTest, PutAfterExternalDeletionRecreatesDirectories) {
  auto backend = open();
  ASSERT_TRUE(backend->put("data/ab/1", "x").is_ok());
  fs::remove_all(root_);
  ASSERT_TRUE(backend->put("data/ab/2", "y").is_ok());
  std::string out;
  ASSERT_TRUE(backend->get("data/ab/2", &out).is_ok());
  EXPECT_EQ(out, "y");
}

// remove() pruning a directory while put() writes into it must not fail the put.
TEST_F(LocalBackendTest, PutsAndRemovesRaceInOneDirectory) {
  auto backend = open();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string key = "data/zz/t" + std::to_string(t) + "-" + std::to_string(i);
        if (!backend->put(key, "v").is_ok()) ++failures;
        std::string out;
        if (!backend->get(key, &out).is_ok()) ++failures;
        if (!backend->remove({key}).is_ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(LocalBackendTest, KeysThatAreNotRelativePathsAreRejected) {
  auto backend = open();
  for (const std::string& key :
       {std::string(""), std::string("/abs"), std::string("trailing/"), std::string("a//b"), std::string("./a"),
        std::string("a/./b"), std::string("a/../b"), std::string(".."), std::string("tab\there"),
        std::string(513, 'k'), std::string(LocalBackend::kTempPrefix) + "x", std::string(300, 'c')}) {
    std::string out;
    ObjectInfo info;
    EXPECT_EQ(backend->put(key, "x").code(), Status::Code::kInvalidArgument) << key;
    EXPECT_EQ(backend->get(key, &out).code(), Status::Code::kInvalidArgument) << key;
    EXPECT_EQ(backend->head(key, &info).code(), Status::Code::kInvalidArgument) << key;
    EXPECT_EQ(backend->remove({key}).code(), Status::Code::kInvalidArgument) << key;
  }
  EXPECT_TRUE(tree().empty());
  // Dots and spaces inside a component are fine.
  ASSERT_TRUE(backend->put("hoardfs.superblock", "x").is_ok());
  ASSERT_TRUE(backend->put(".hidden/a b", "x").is_ok());
}

TEST_F(LocalBackendTest, AnObjectCannotAlsoBeADirectoryOfKeys) {
  auto backend = open();
  ASSERT_TRUE(backend->put("a/b", "x").is_ok());
  EXPECT_EQ(backend->put("a", "y").code(), Status::Code::kInvalidArgument);
  ASSERT_TRUE(backend->put("c", "x").is_ok());
  EXPECT_EQ(backend->put("c/d", "y").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(backend->put("c/d/e", "y").code(), Status::Code::kInvalidArgument);
  std::string out;
  EXPECT_TRUE(backend->get("a", &out).is_not_found());
  EXPECT_TRUE(backend->get("c/d", &out).is_not_found());
  ASSERT_TRUE(backend->remove({"a", "c/d"}).is_ok());  // neither is an object: nothing to do
  ASSERT_TRUE(backend->get("a/b", &out).is_ok());
}

TEST_F(LocalBackendTest, OpenValidatesThePath) {
  EXPECT_EQ(LocalBackend::open("relative/path").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(LocalBackend::open("").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(LocalBackend::open("/tmp/../etc").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(LocalBackend::open("/tmp//x").status().code(), Status::Code::kInvalidArgument);
  std::ofstream(base_ + "/file") << "x";
  auto not_dir = LocalBackend::open(base_ + "/file");
  EXPECT_EQ(not_dir.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(not_dir.status().message().find("not a directory"), std::string::npos);
  auto trailing = LocalBackend::open(root_ + "//");
  ASSERT_TRUE(trailing.is_ok());
  EXPECT_EQ(trailing.value()->describe(), "local://" + root_);
  EXPECT_EQ(trailing.value()->root(), root_);
}

TEST_F(LocalBackendTest, SystemErrorsMapToStatusCodes) {
  using local_detail::error_status;
  EXPECT_EQ(error_status(ENOSPC, "w").code(), Status::Code::kNoSpace);
  EXPECT_EQ(error_status(EDQUOT, "w").code(), Status::Code::kNoSpace);
  EXPECT_EQ(error_status(EACCES, "w").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(error_status(EPERM, "w").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(error_status(EROFS, "w").code(), Status::Code::kPermissionDenied);
  EXPECT_EQ(error_status(ENAMETOOLONG, "w").code(), Status::Code::kInvalidArgument);
  Status io = error_status(EIO, "writing x");
  EXPECT_EQ(io.code(), Status::Code::kIoError);
  EXPECT_FALSE(io.retryable());
  EXPECT_EQ(io.error_number(), EIO);
  EXPECT_NE(io.message().find("writing x"), std::string::npos);
  // A missing directory while writing is an I/O problem, not a missing object.
  EXPECT_EQ(error_status(ENOENT, "w").code(), Status::Code::kIoError);
  EXPECT_TRUE(error_status(ETIMEDOUT, "w").retryable());
}

TEST_F(LocalBackendTest, UnwritableStoreIsPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  auto backend = open();
  ASSERT_TRUE(backend->put("a", "x").is_ok());
  fs::permissions(root_, fs::perms::owner_read | fs::perms::owner_exec);
  Status status = backend->put("b", "y");
  EXPECT_EQ(status.code(), Status::Code::kPermissionDenied) << status.to_string();
  EXPECT_FALSE(status.retryable());
  std::string out;
  EXPECT_TRUE(backend->get("a", &out).is_ok());
}

// Runs `check` in a child process on a fresh tmpfs of `size` mounted in a
// private mount namespace (which vanishes with the child). Returns the child's
// exit code; 77 when namespaces or mounts are not allowed here.
int in_private_tmpfs(const char* size, const std::function<int(const std::string& dir)>& check) {
  pid_t pid = fork();
  if (pid == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(77);
    std::string dir = (fs::temp_directory_path() / "hoardfs-tmpfs-XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) _exit(77);
    std::string options = std::string("size=") + size;
    if (mount("tmpfs", dir.c_str(), "tmpfs", 0, options.c_str()) != 0) _exit(77);
    int rc = check(dir);
    umount2(dir.c_str(), MNT_DETACH);
    rmdir(dir.c_str());
    _exit(rc);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

bool has_temp_files(const std::string& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.path().filename().string().starts_with(LocalBackend::kTempPrefix)) return true;
  }
  return false;
}

TEST(LocalBackendDiskTest, FullDiskIsNoSpaceAndLeavesNoTempFile) {
  int rc = in_private_tmpfs("128k", [](const std::string& dir) {
    auto backend = LocalBackend::open(dir);
    if (!backend || !backend.value()->put("data/ab/small", "x").is_ok()) return 1;
    Status status = backend.value()->put("data/ab/big", std::string(1 << 20, 'b'));
    if (status.code() != Status::Code::kNoSpace || status.retryable()) return 2;
    if (has_temp_files(dir)) return 3;
    std::string out;
    if (!backend.value()->get("data/ab/big", &out).is_not_found()) return 4;
    if (!backend.value()->get("data/ab/small", &out).is_ok() || out != "x") return 5;
    return 0;
  });
  if (rc == 77) GTEST_SKIP() << "no permission to mount a private tmpfs";
  EXPECT_EQ(rc, 0);
}

TEST(LocalBackendDiskTest, ReadOnlyStoreIsPermissionDenied) {
  int rc = in_private_tmpfs("1m", [](const std::string& dir) {
    auto backend = LocalBackend::open(dir);
    if (!backend || !backend.value()->put("data/ab/1", "x").is_ok()) return 1;
    if (mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) != 0) return 77;
    Status status = backend.value()->put("data/ab/2", "y");
    if (status.code() != Status::Code::kPermissionDenied) return 2;
    if (backend.value()->put("data/cd/3", "y").code() != Status::Code::kPermissionDenied) return 3;
    if (backend.value()->remove({"data/ab/1"}).code() != Status::Code::kPermissionDenied) return 4;
    std::string out;
    if (!backend.value()->get("data/ab/1", &out).is_ok()) return 5;  // reads still work
    ListPage page;
    if (!backend.value()->list("", "", 10, &page).is_ok() || page.objects.size() != 1) return 6;
    return 0;
  });
  if (rc == 77) GTEST_SKIP() << "no permission to mount a private tmpfs";
  EXPECT_EQ(rc, 0);
}

TEST_F(LocalBackendTest, ListPagesWalkAcrossDirectories) {
  auto backend = open();
  for (const char* key : {"a/1", "a/2", "a-", "b/c/d", "b/c/e", "b/x", "c"}) ASSERT_TRUE(backend->put(key, "v").is_ok());
  std::vector<std::string> seen;
  std::string after;
  for (;;) {
    ListPage page;
    ASSERT_TRUE(backend->list("", after, 2, &page).is_ok());
    ASSERT_LE(page.objects.size(), 2u);
    for (const auto& o : page.objects) seen.push_back(o.key);
    if (!page.truncated) break;
    after = seen.back();
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a-", "a/1", "a/2", "b/c/d", "b/c/e", "b/x", "c"}));
  ListPage page;
  EXPECT_EQ(backend->list("", "", 0, &page).code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace hoardfs
