// mkfs.hoardfs: creates a filesystem in an empty storage location.
//
// Flow: parse options → open the backend → refuse a non-empty location →
// passphrase (unless --plain) → superblock, written with put_if_absent so
// that two racing mkfs cannot both win → an empty namespace database,
// uploaded as metadata version 1 → summary.
#include <sodium.h>
#include <unistd.h>

#include <fmt/core.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "hoardfs/log.h"
#include "hoardfs/metadata_store.h"
#include "hoardfs/metadata_sync.h"
#include "hoardfs/object_names.h"
#include "hoardfs/superblock.h"
#include "tools/passphrase.h"
#include "tools/storage.h"
#include "tools/tool_common.h"

namespace hoardfs::tools {
namespace {

const char* const kTool = "mkfs.hoardfs";

struct MkfsRequest {
  StorageRequest storage;
  bool plain = false;
  bool quiet = false;
  bool debug = false;
  std::string block_size = "1M";
  std::string block_hash = block_hash_name(FilesystemParams{}.block_hash);
};

void add_options(CLI::App& app, MkfsRequest& request) {
  app.description("Create a hoardfs filesystem in an empty storage location.");
  app.add_option("URL", request.storage.url, "Storage URL (local:///path, s3://, s3c://, swift://, swiftks://)")
      ->required();
  app.add_flag("--plain", request.plain, "Create an unencrypted filesystem (no passphrase)");
  app.add_option("--blocksize", request.block_size,
                 "Block size: a number of KiB, or with a suffix (64k, 1M, 4M)")
      ->capture_default_str();
  app.add_option("--block-hash", request.block_hash,
                 "Keyed hash naming blocks for dedup: hmac-sha256, or blake2b-256 on CPUs without SHA extensions")
      ->capture_default_str();
  app.add_option("--backend-options", request.storage.backend_options, "Backend options k=v,flag,...");
  app.add_option("--authfile", request.storage.authfile, "Authinfo file [default: ~/.hoardfs/authinfo]");
  app.add_flag("--quiet", request.quiet, "Print nothing on success");
  app.add_flag("--debug", request.debug, "Log debug messages");
}

bool parse_block_hash(const std::string& text, BlockHashFunction* out, ToolError* error) {
  auto function = block_hash_from_name(text);
  if (!function) {
    *error = {exit_code::kUsage, fmt::format("invalid --block-hash '{}': use {} or {}", text,
                                             block_hash_name(BlockHashFunction::kHmacSha256),
                                             block_hash_name(BlockHashFunction::kBlake2b256))};
    return false;
  }
  *out = *function;
  return true;
}

bool parse_block_size(const std::string& text, uint32_t* out, ToolError* error) {
  auto bytes = parse_size(text, 1024);
  if (!bytes.is_ok() || *bytes < kMinBlockSize || *bytes > kMaxBlockSize || *bytes % 4096 != 0) {
    *error = {exit_code::kUsage,
              fmt::format("invalid --blocksize '{}': use a multiple of 4 KiB between {} and {}", text,
                          format_size(kMinBlockSize), format_size(kMaxBlockSize))};
    return false;
  }
  *out = static_cast<uint32_t>(*bytes);
  return true;
}

// The location must hold nothing at all: not an old filesystem, not anything else.
bool check_empty(Backend& backend, const std::string& url, ToolError* error) {
  ListPage page;
  if (Status listed = backend.list("", "", 1, &page); !listed.is_ok()) {
    *error = tool_error(listed.with_context("listing " + url));
    return false;
  }
  if (page.objects.empty()) return true;
  const std::string& key = page.objects.front().key;
  if (key == object_names::superblock() || key.rfind(object_names::kMetaPrefix, 0) == 0 ||
      key.rfind(object_names::kDataPrefix, 0) == 0) {
    *error = {exit_code::kNotEmpty,
              fmt::format("{} already holds a hoardfs filesystem (found '{}'); mkfs.hoardfs only "
                          "writes to an empty location",
                          url, key)};
  } else {
    *error = {exit_code::kNotEmpty,
              fmt::format("{} is not empty (found '{}'); mkfs.hoardfs only writes to an empty location",
                          url, key)};
  }
  return false;
}

bool write_superblock(Backend& backend, const NewFilesystem& created, const std::string& url,
                      ToolError* error) {
  const std::string key = object_names::superblock();
  Status put = backend.put_if_absent(key, created.superblock_bytes);
  if (put.code() == Status::Code::kUnsupported) put = backend.put(key, created.superblock_bytes);
  if (put.code() == Status::Code::kAlreadyExists) {
    *error = {exit_code::kNotEmpty, fmt::format("{} got a superblock from someone else meanwhile", url)};
    return false;
  }
  if (!put.is_ok()) {
    *error = tool_error(put.with_context("writing the superblock to " + url));
    return false;
  }
  return true;
}

// Creates the empty namespace in a private temporary folder and uploads it
// as metadata version 1.
bool upload_initial_metadata(Backend& backend, const KeyMaterial& keys, const std::string& url,
                             MetadataUploadStats* stats, ToolError* error) {
  std::string base = (std::filesystem::temp_directory_path() / "mkfs.hoardfs-XXXXXX").string();
  if (::mkdtemp(base.data()) == nullptr) {
    *error = {exit_code::kError, fmt::format("cannot create a temporary folder: {}", std::strerror(errno))};
    return false;
  }
  std::string database = base + "/metadata.db";
  Status status = initialize_metadata_database(database, getuid(), getgid(), 0755);
  if (status.is_ok()) {
    ObjectCodec codec(keys, 3);  // as the filesystem writes
    MetadataSync sync(backend, codec, MetadataSync::Options{});
    auto uploaded = sync.upload(database);
    if (uploaded.is_ok()) {
      *stats = uploaded.value();
    } else {
      status = uploaded.status();
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(base, ignored);
  if (!status.is_ok()) {
    *error = tool_error(status.with_context("uploading the initial metadata to " + url));
    error->message += "; the location now holds an incomplete filesystem: empty it and run mkfs.hoardfs again";
    return false;
  }
  return true;
}

void print_summary(const std::string& url, const FilesystemParams& params, const MetadataUploadStats& stats) {
  fmt::print("Created a hoardfs filesystem at {}\n", url);
  fmt::print("  filesystem id: {}\n", params.fs_id);
  fmt::print("  block size:    {}\n", format_size(params.block_size));
  fmt::print("  block names:   {} (format revision {})\n",
             params.block_hash == BlockHashFunction::kHmacSha256 ? "HMAC-SHA-256" : "keyed BLAKE2b-256",
             params.revision);
  fmt::print("  encryption:    {}\n",
             params.encrypted ? "yes (random master key wrapped with an Argon2id-derived key)"
                              : "none (--plain)");
  fmt::print("  metadata:      version {} uploaded\n", stats.version);
}

}  // namespace
}  // namespace hoardfs::tools

int main(int argc, char** argv) {
  using namespace hoardfs;
  using namespace hoardfs::tools;

  CLI::App app;
  configure_app(app, kTool, "8");
  MkfsRequest request;
  add_options(app, request);
  if (int done = parse_command_line(app, argc, argv); done >= 0) return done;
  if (sodium_init() < 0) return report_error(kTool, exit_code::kError, "cannot initialize libsodium");
  // The summary tells what happened; routine log lines would only repeat it.
  log::set_level(request.debug ? log::Level::kDebug : log::Level::kWarning);

  ToolError error;
  FilesystemParams params;
  params.encrypted = !request.plain;
  params.created_unix = static_cast<int64_t>(std::time(nullptr));
  if (!parse_block_size(request.block_size, &params.block_size, &error)) return report_error(kTool, error);
  if (!parse_block_hash(request.block_hash, &params.block_hash, &error)) return report_error(kTool, error);

  StorageAccess access;
  std::unique_ptr<Backend> backend;
  if (!prepare_storage_access(request.storage, &access, &error)) return report_error(kTool, error);
  if (!create_storage_if_missing(access, request.quiet, &error)) return report_error(kTool, error);
  if (!open_storage(access, &backend, &error)) return report_error(kTool, error);
  if (!check_empty(*backend, access.url, &error)) return report_error(kTool, error);

  std::string passphrase;
  if (params.encrypted) {
    PassphraseRequest ask;
    ask.from_authinfo = access.secrets.passphrase;
    ask.confirm = true;
    ask.prompt = fmt::format("New passphrase for {}: ", access.url);
    auto obtained = obtain_passphrase(ask);
    if (!obtained.is_ok()) return report_error(kTool, exit_code::kUsage, obtained.status().to_string());
    passphrase = std::move(obtained.value());
  }

  auto created = create_superblock(params, passphrase);
  sodium_memzero(passphrase.data(), passphrase.size());
  if (!created.is_ok()) return report_error(kTool, tool_error(created.status()));
  if (!write_superblock(*backend, *created, access.url, &error)) return report_error(kTool, error);

  MetadataUploadStats stats;
  if (!upload_initial_metadata(*backend, created->keys, access.url, &stats, &error)) {
    return report_error(kTool, error);
  }
  if (!request.quiet) print_summary(access.url, created->params, stats);
  return exit_code::kOk;
}
