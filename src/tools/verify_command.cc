// hoardfs verify URL [--data] [--rate BYTES/s] [--restart]: checks that every
// data object the newest metadata version references is in the backend and,
// with --data, that each decrypts, authenticates and holds blocks whose
// keyed hashes match the metadata. Damage is reported by object and by the
// paths of the files that use it. Progress (the last object checked, in
// name order) is kept in this host's cache folder for the URL, so an
// interrupted run resumes there unless --restart is given. Read-only: it
// takes no lock and works while the filesystem is mounted (objects uploaded
// after the metadata version it reads are simply not checked).
// Exit: 0 intact, 20 damage found.
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "hoardfs/metadata_sync.h"
#include "hoardfs/object_names.h"
#include "metadata/schema.h"
#include "metadata/sqlite.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kTool = "hoardfs verify";

struct VerifyRequest {
  StorageRequest storage;
  std::string cachedir;
  bool data = false;
  bool restart = false;
  std::string rate;  // bytes per second read with --data, e.g. 50M; empty: unlimited
  bool quiet = false;
};

// The files whose data is in `object`.
std::set<std::string> files_using(sql::Database& db, const std::string& object) {
  std::set<std::string> paths;
  auto st = db.prepare(
      "SELECT DISTINCT e.inode FROM extents e JOIN blocks b ON b.id = e.block JOIN objects o ON o.id = b.object "
      "WHERE o.name = ?");
  st.bind(object);
  std::vector<uint64_t> inodes;
  while (st.step()) inodes.push_back(static_cast<uint64_t>(st.int64(0)));
  for (uint64_t ino : inodes) paths.insert(inode_path(db, ino));
  return paths;
}

struct ObjectToCheck {
  std::string name;
  uint64_t stored_size = 0;
};

int run_verify(const VerifyRequest& request) {
  ToolError error;
  StorageAccess access;
  std::unique_ptr<Backend> backend;
  UnlockedFilesystem unlocked;
  if (!open_and_unlock(request.storage, &access, &backend, &unlocked, &error)) return report_error(kTool, error);
  uint64_t rate = 0;
  if (!request.rate.empty()) {
    auto parsed = parse_size(request.rate);
    if (!parsed.is_ok() || *parsed == 0) {
      return report_error(kTool, exit_code::kUsage, fmt::format("--rate {}: expected bytes per second, e.g. 50M",
                                                                request.rate));
    }
    rate = *parsed;
  }

  auto made = make_cache_folder(request.cachedir, access.url);
  if (!made.is_ok()) return report_error(kTool, exit_code::kError, made.status().to_string());
  const std::string folder = made.value();
  // --data and presence-only runs resume separately: one does not vouch for the other.
  const std::string progress_path = folder + (request.data ? "/verify-data-progress" : "/verify-progress");
  const std::string db_path = folder + fmt::format("/verify-{}.db", ::getpid());

  ObjectCodec codec(unlocked.keys, 3);
  MetadataSync sync(*backend, codec, {});
  auto version = sync.download(0, db_path);
  if (!version.is_ok()) {
    ::unlink(db_path.c_str());
    return report_error(kTool, tool_error(version.status().with_context("downloading metadata")));
  }
  sql::Database db;
  if (Status opened = db.open(db_path, false); !opened.is_ok()) {
    ::unlink(db_path.c_str());
    return report_error(kTool, tool_error(opened));
  }
  struct Cleanup {
    sql::Database& db;
    std::string path;
    ~Cleanup() {
      db.close();
      for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
    }
  } cleanup{db, db_path};

  // Where an earlier run stopped (same metadata version or not: names sort
  // the same, and objects are never reused).
  std::string resume_after;
  if (!request.restart) std::getline(std::ifstream(progress_path), resume_after);

  std::vector<ObjectToCheck> objects;
  {
    auto st = db.prepare("SELECT name, stored_size FROM objects WHERE name > ? ORDER BY name");
    st.bind(resume_after);
    while (st.step()) objects.push_back({st.text(0), static_cast<uint64_t>(st.int64(1))});
  }
  if (!resume_after.empty()) {
    fmt::print("Resuming after {} ({} objects left; --restart starts over)\n", resume_after, objects.size());
  }

  // Presence by listing (one request per 1000 objects), contents by reading.
  std::vector<ObjectInfo> listed;
  if (Status s = list_all(*backend, object_names::kDataPrefix, &listed); !s.is_ok()) {
    return report_error(kTool, tool_error(s.with_context("listing data objects")));
  }
  std::map<std::string, uint64_t> present;
  for (const auto& o : listed) present.emplace(o.key, o.size);

  const auto started = std::chrono::steady_clock::now();
  uint64_t total_bytes = 0;
  for (const auto& o : objects) total_bytes += o.stored_size;
  ProgressLine progress(!request.quiet);
  auto last_shown = std::chrono::steady_clock::now() - std::chrono::seconds(1);
  uint64_t bytes_done = 0;
  auto show = [&](size_t done) {
    auto now = std::chrono::steady_clock::now();
    if (!progress.active() || now - last_shown < std::chrono::milliseconds(200)) return;
    last_shown = now;
    double seconds = std::chrono::duration<double>(now - started).count();
    double rate = seconds > 0 ? static_cast<double>(bytes_done) / seconds : 0;
    std::string text = fmt::format("Verifying: {} of {} objects", done, objects.size());
    if (request.data) {
      text += fmt::format(", {} of {}, {}", format_size(bytes_done), format_size(total_bytes), format_rate(rate));
      if (rate > 0) {
        text += ", about " + format_duration(static_cast<double>(total_bytes - bytes_done) / rate) + " left";
      }
    }
    progress.update(text);
  };
  size_t damaged = 0;
  auto report_damage = [&](const std::string& object, const std::string& what) {
    ++damaged;
    std::fflush(stderr);
    fmt::print("{}: {}\n", object, what);
    for (const auto& path : files_using(db, object)) fmt::print("    affects {}\n", path);
  };
  uint64_t bytes_read = 0;
  // The blocks an object holds (--data), prepared once for all objects.
  auto blocks_of = db.prepare("SELECT b.hash, b.obj_offset, b.obj_length FROM blocks b JOIN objects o ON "
                              "o.id = b.object WHERE o.name = ?");
  for (size_t i = 0; i < objects.size(); ++i) {
    const auto& object = objects[i];
    auto it = present.find(object.name);
    if (it == present.end()) {
      report_damage(object.name, "missing from the backend");
    } else if (request.data) {
      std::string stored, plaintext;
      Status got = backend->get(object.name, &stored);
      bytes_read += stored.size();
      if (!got.is_ok()) {
        report_damage(object.name, "unreadable: " + got.to_string());
      } else if (Status decoded = codec.decode(object.name, stored, &plaintext); !decoded.is_ok()) {
        report_damage(object.name, "damaged: " + decoded.to_string());
      } else {
        auto& st = blocks_of.bind(object.name);
        while (st.step()) {
          std::string hash = st.blob(0);
          uint64_t offset = static_cast<uint64_t>(st.int64(1)), length = static_cast<uint64_t>(st.int64(2));
          BlockHash actual{};
          if (offset + length <= plaintext.size()) {
            actual = hash_block(unlocked.keys, std::string_view(plaintext).substr(offset, length));
          }
          if (hash.size() != actual.size() || std::memcmp(hash.data(), actual.data(), actual.size()) != 0) {
            report_damage(object.name, "holds a block whose hash does not match the metadata");
            break;
          }
        }
      }
      if (rate > 0) {  // stay at or below --rate on average
        auto due = started + std::chrono::microseconds(bytes_read * 1000000 / rate);
        std::this_thread::sleep_until(due);
      }
    }
    bytes_done += object.stored_size;
    show(i + 1);
    if (i % 64 == 63 || i + 1 == objects.size()) std::ofstream(progress_path, std::ios::trunc) << object.name << "\n";
  }
  if (progress.active()) progress.finish();
  ::unlink(progress_path.c_str());  // complete: the next run starts over
  if (damaged > 0) {
    return report_error(kTool, exit_code::kDamaged,
                        fmt::format("{}: {} of {} objects missing or damaged (metadata version {})", access.url,
                                    damaged, objects.size(), version->version));
  }
  fmt::print("{}: all {} data objects of metadata version {} are {}\n", access.url, objects.size(),
             version->version, request.data ? "present and intact" : "present");
  return exit_code::kOk;
}

}  // namespace

void add_verify_command(CLI::App& root, CommandRunner* selected) {
  auto request = std::make_shared<VerifyRequest>();
  CLI::App* command = root.add_subcommand(
      "verify", "Check that every data object exists (and with --data, decrypts and matches its hash)");
  command->add_option("URL", request->storage.url, "Storage URL")->required();
  command->add_flag("--data", request->data, "Read and authenticate every object, compare block hashes");
  command->add_option("--rate", request->rate, "With --data: read at most this many bytes per second (e.g. 50M)");
  command->add_flag("--restart", request->restart, "Start from the beginning instead of resuming");
  command->add_flag("--quiet", request->quiet, "No progress line");
  command->add_option("--cachedir", request->cachedir, "Cache root (keeps the resume point) [default: ~/.cache/hoardfs]");
  command->add_option("--backend-options", request->storage.backend_options, "Backend options k=v,flag,...");
  command->add_option("--authfile", request->storage.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  command->callback([request, selected] { *selected = [request] { return run_verify(*request); }; });
}

}  // namespace hoardfs::tools
