// hoardfs adm: administration of an unmounted filesystem, by storage URL.
//   adm restore-metadata URL [--version N]  list the kept metadata versions,
//       or make version N the newest again (uploaded as a new version, so
//       nothing is lost from the history)
//   adm passphrase URL                       wrap the master key under a new
//       passphrase (only the superblock changes)
// Both take the single-writer lock, so they refuse a mounted filesystem.
#include <fmt/core.h>
#include <sodium.h>
#include <unistd.h>

#include <ctime>
#include <iostream>
#include <filesystem>
#include <memory>
#include <string>

#include "hoardfs/metadata_sync.h"
#include "hoardfs/mount_lock.h"
#include "hoardfs/object_names.h"
#include "hoardfs/superblock.h"
#include "tools/commands.h"
#include "tools/passphrase.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

struct AdmRequest {
  StorageRequest storage;
  uint64_t version = 0;  // restore-metadata: 0 lists
  bool yes = false;      // clear: no question
};

std::string local_time(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char text[40];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S %Z", &tm);
  return text;
}

bool take_lock(const char* tool, MountLock& lock, const std::string& url, int* code) {
  // No cache folder: a name no other holder can have, so nothing is taken over.
  Status taken = lock.acquire(this_holder(fmt::format("({}, pid {})", tool, ::getpid())), StaleLockPolicy::kRefuse);
  if (taken.is_ok()) return true;
  if (taken.code() == Status::Code::kAlreadyExists) {
    *code = report_error(tool, exit_code::kMountedElsewhere,
                         fmt::format("{} is mounted elsewhere: {}", url, taken.to_string()));
  } else {
    *code = report_error(tool, tool_error(taken));
  }
  return false;
}

int run_restore(const AdmRequest& request) {
  const char* tool = "hoardfs adm restore-metadata";
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  UnlockedFilesystem unlocked;
  ToolError error;
  if (!open_and_unlock(request.storage, &access, &backend, &unlocked, &error)) return report_error(tool, error);
  int code = 0;
  ObjectCodec codec(unlocked.keys, 3);  // as the filesystem writes
  MetadataSync lister(*backend, codec, {});
  auto versions = lister.list_versions();
  if (!versions.is_ok()) return report_error(tool, tool_error(versions.status()));
  // The restore adds a version and prunes none: every kept one stays restorable.
  MetadataSync sync(*backend, codec,
                    MetadataSync::Options{1 << 20, static_cast<unsigned>(versions->size() + 1), ""});

  if (request.version == 0) {
    fmt::print("Metadata versions of {} (newest last):\n", access.url);
    for (const auto& v : *versions) {
      fmt::print("  {:>6}  {}\n", v.version, local_time(v.uploaded_unix));
    }
    fmt::print("Restore one with: hoardfs adm restore-metadata --version N {}\n", access.url);
    return exit_code::kOk;
  }
  bool known = false;
  for (const auto& v : *versions) known = known || v.version == request.version;
  if (!known) {
    return report_error(tool, exit_code::kUsage,
                        fmt::format("{} has no metadata version {} (run without --version to list them)",
                                    access.url, request.version));
  }

  MountLock lock(*backend);
  if (!take_lock(tool, lock, access.url, &code)) return code;
  auto dir = std::filesystem::temp_directory_path() / fmt::format("hoardfs-restore-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "metadata.db").string();
  Status status = sync.download(request.version, db).status();
  Result<MetadataUploadStats> uploaded = Status::ok();
  if (status.is_ok()) {
    uploaded = sync.upload(db);
    status = uploaded.status();
  }
  std::filesystem::remove_all(dir);
  Status released = lock.release();
  if (!status.is_ok()) return report_error(tool, tool_error(status.with_context("restoring metadata")));
  if (!released.is_ok()) return report_error(tool, tool_error(released.with_context("releasing the lock")));
  fmt::print("Metadata version {} is restored as the newest version, {}.\n", request.version, uploaded->version);
  fmt::print("Objects deleted since that version cannot come back: run fsck.hoardfs {} to find any file that "
             "lost data.\n",
             access.url);
  return exit_code::kOk;
}

int run_passphrase(const AdmRequest& request) {
  const char* tool = "hoardfs adm passphrase";
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  UnlockedFilesystem unlocked;
  unlocked.keep_passphrase = true;
  ToolError error;
  if (!open_and_unlock(request.storage, &access, &backend, &unlocked, &error)) return report_error(tool, error);
  int code = 0;
  if (!unlocked.params.encrypted) {
    return report_error(tool, exit_code::kUsage, access.url + " is not encrypted (made with mkfs.hoardfs --plain)");
  }
  PassphraseRequest ask;
  ask.confirm = true;
  ask.prompt = fmt::format("New passphrase for {}: ", access.url);
  auto fresh = obtain_passphrase(ask);
  if (!fresh.is_ok()) return report_error(tool, exit_code::kUsage, fresh.status().to_string());
  auto rewrapped = rewrap_superblock(unlocked.superblock_bytes, unlocked.passphrase, fresh.value());
  sodium_memzero(unlocked.passphrase.data(), unlocked.passphrase.size());
  sodium_memzero(fresh->data(), fresh->size());
  if (!rewrapped.is_ok()) return report_error(tool, tool_error(rewrapped.status()));

  MountLock lock(*backend);
  if (!take_lock(tool, lock, access.url, &code)) return code;
  Status put = backend->put(object_names::superblock(), rewrapped.value());
  Status released = lock.release();
  if (!put.is_ok()) return report_error(tool, tool_error(put.with_context("writing the superblock")));
  if (!released.is_ok()) return report_error(tool, tool_error(released.with_context("releasing the lock")));
  fmt::print("The passphrase of {} is changed; update any authinfo entry that holds the old one.\n", access.url);
  return exit_code::kOk;
}

int run_clear(const AdmRequest& request) {
  const char* tool = "hoardfs adm clear";
  ToolError error;
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  if (!prepare_storage_access(request.storage, &access, &error) || !open_storage(access, &backend, &error)) {
    return report_error(tool, error);
  }
  std::vector<ObjectInfo> objects;
  if (Status s = list_all(*backend, "", &objects); !s.is_ok()) return report_error(tool, tool_error(s));
  if (objects.empty()) {
    fmt::print("{} is already empty\n", access.url);
    return exit_code::kOk;
  }
  uint64_t bytes = 0;
  for (const auto& o : objects) bytes += o.size;
  if (!request.yes) {
    if (!::isatty(STDIN_FILENO)) {
      return report_error(tool, exit_code::kUsage,
                          "not asking on a non-terminal: add --yes to delete everything at " + access.url);
    }
    fmt::print("Delete the whole filesystem at {}: {} objects, {}? Type yes: ", access.url, objects.size(),
               format_size(bytes));
    std::fflush(stdout);
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      fmt::print("Nothing deleted.\n");
      return exit_code::kError;
    }
  }
  MountLock lock(*backend);
  int code = 0;
  if (!take_lock(tool, lock, access.url, &code)) return code;
  std::vector<std::string> names;  // all but the lock and the superblock
  bool superblock = false;
  for (const auto& o : objects) {
    if (o.key == object_names::superblock()) {
      superblock = true;
    } else if (o.key != object_names::lock()) {
      names.push_back(o.key);
    }
  }
  // The superblock last: an interrupted clear still reads as a filesystem to
  // finish clearing. remove() splits into the backend's batches itself.
  Status removed = names.empty() ? Status::ok() : backend->remove(names);
  if (removed.is_ok() && superblock) removed = backend->remove({object_names::superblock()});
  if (!removed.is_ok()) {
    return report_error(tool, tool_error(removed.with_context("deleting objects (run the command again to finish)")));
  }
  backend->remove({object_names::lock()});
  fmt::print("Deleted {} objects ({}) at {}\n", names.size() + (superblock ? 1 : 0), format_size(bytes), access.url);
  return exit_code::kOk;
}

int run_upgrade(const AdmRequest& request) {
  const char* tool = "hoardfs adm upgrade";
  ToolError error;
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  if (!prepare_storage_access(request.storage, &access, &error) || !open_storage(access, &backend, &error)) {
    return report_error(tool, error);
  }
  std::string bytes;
  Status got = backend->get(object_names::superblock(), &bytes);
  if (got.is_not_found()) {
    return report_error(tool, exit_code::kNoFilesystem, "no hoardfs filesystem at " + access.url);
  }
  if (!got.is_ok()) return report_error(tool, tool_error(got));
  auto params = parse_superblock(bytes);
  if (!params.is_ok()) {
    return report_error(tool, exit_code::kUnsupportedRevision,
                        fmt::format("{}: {} (this hoardfs reads and upgrades up to revision {})", access.url,
                                    params.status().to_string(), kFilesystemRevision));
  }
  // Later revisions add their upgrade steps here.
  if (params->revision == 1) {
    // Its blocks are named by keyed BLAKE2b-256; naming them otherwise means
    // hashing every block again, for nothing but speed.
    fmt::print("{} has format revision 1 (blocks named by keyed BLAKE2b-256), which this hoardfs reads and "
               "writes as it is: nothing to upgrade\n",
               access.url);
    return exit_code::kOk;
  }
  fmt::print("{} has format revision {}, the current one: nothing to upgrade\n", access.url, params->revision);
  return exit_code::kOk;
}

}  // namespace

void add_adm_command(CLI::App& root, CommandRunner* selected) {
  CLI::App* adm = root.add_subcommand("adm", "Administer an unmounted filesystem by its storage URL");
  adm->require_subcommand(1);
  auto add_common = [](CLI::App* command, AdmRequest& request) {
    command->add_option("URL", request.storage.url, "Storage URL")->required();
    command->add_option("--backend-options", request.storage.backend_options, "Backend options k=v,flag,...");
    command->add_option("--authfile", request.storage.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  };
  auto restore = std::make_shared<AdmRequest>();
  CLI::App* r = adm->add_subcommand("restore-metadata",
                                    "List the kept metadata versions, or make version N the newest again");
  add_common(r, *restore);
  r->add_option("--version", restore->version, "The version to restore (see the list)");
  r->callback([restore, selected] { *selected = [restore] { return run_restore(*restore); }; });

  auto pass = std::make_shared<AdmRequest>();
  CLI::App* p = adm->add_subcommand("passphrase", "Change the passphrase (rewrites only the wrapped master key)");
  add_common(p, *pass);
  p->callback([pass, selected] { *selected = [pass] { return run_passphrase(*pass); }; });

  auto clear = std::make_shared<AdmRequest>();
  CLI::App* c = adm->add_subcommand("clear", "Delete the whole filesystem (every object at the URL)");
  add_common(c, *clear);
  c->add_flag("--yes", clear->yes, "Do not ask (required when stdin is not a terminal)");
  c->callback([clear, selected] { *selected = [clear] { return run_clear(*clear); }; });

  auto upgrade = std::make_shared<AdmRequest>();
  CLI::App* u = adm->add_subcommand("upgrade", "Upgrade an older format revision, or say that it is current");
  add_common(u, *upgrade);
  u->callback([upgrade, selected] { *selected = [upgrade] { return run_upgrade(*upgrade); }; });
}

}  // namespace hoardfs::tools
