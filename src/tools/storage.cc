#include "tools/storage.h"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>

#include "hoardfs/object_names.h"
#include "tools/passphrase.h"

namespace hoardfs::tools {

bool prepare_storage_access(const StorageRequest& request, StorageAccess* access, ToolError* error) {
  access->url = request.url;
  auto options = parse_backend_options(request.backend_options);
  if (!options.is_ok()) {
    *error = {exit_code::kUsage, options.status().to_string()};
    return false;
  }
  access->options = std::move(options.value());

  bool named = !request.authfile.empty();
  std::string path = named ? request.authfile : default_authfile_path();
  auto secrets = load_access_secrets(path, named, request.url,
                                     [](const char* name) { return std::getenv(name); });
  if (!secrets.is_ok()) {
    *error = {exit_code::kBadCredentials, secrets.status().to_string()};
    return false;
  }
  access->secrets = std::move(secrets.value());
  return true;
}

bool open_storage(const StorageAccess& access, std::unique_ptr<Backend>* backend, ToolError* error) {
  auto opened = open_backend(access.url, access.options, access.secrets.credentials);
  if (!opened.is_ok()) {
    *error = tool_error(opened.status());
    if (opened.status().code() == Status::Code::kAuthFailed && !access.secrets.credentials_origin.empty()) {
      error->message += " (credentials from " + access.secrets.credentials_origin + ")";
    }
    return false;
  }
  *backend = std::move(opened.value());
  return true;
}

bool create_storage_if_missing(const StorageAccess& access, bool quiet, ToolError* error) {
  bool created = false;
  Status status = create_storage(access.url, access.options, access.secrets.credentials, &created);
  if (!status.is_ok()) {
    *error = tool_error(status);
    if (status.code() == Status::Code::kAuthFailed && !access.secrets.credentials_origin.empty()) {
      error->message += " (credentials from " + access.secrets.credentials_origin + ")";
    }
    return false;
  }
  if (created && !quiet) fmt::print("Created the bucket or container of {}\n", access.url);
  return true;
}

bool read_and_unlock(Backend& backend, const StorageAccess& access, UnlockedFilesystem* out,
                     ToolError* error) {
  Status status = backend.get(object_names::superblock(), &out->superblock_bytes);
  if (status.is_not_found()) {
    *error = {exit_code::kNoFilesystem,
              fmt::format("no hoardfs filesystem at {} (it has no superblock; create one with "
                          "mkfs.hoardfs)",
                          access.url)};
    return false;
  }
  if (!status.is_ok()) {
    *error = tool_error(status.with_context("reading the superblock of " + access.url));
    return false;
  }

  auto params = parse_superblock(out->superblock_bytes);
  if (!params.is_ok()) {
    *error = tool_error(params.status().with_context("superblock of " + access.url));
    if (params.status().code() == Status::Code::kUnsupported) {
      error->message += fmt::format(" (this hoardfs reads revision {})", kFilesystemRevision);
    }
    return false;
  }
  out->params = params.value();

  std::string passphrase;
  if (out->params.encrypted) {
    PassphraseRequest request;
    request.from_authinfo = access.secrets.passphrase;
    request.allow_empty = true;  // an empty one is simply wrong
    request.prompt = fmt::format("Passphrase for {}: ", access.url);
    auto obtained = obtain_passphrase(request);
    if (!obtained.is_ok()) {
      *error = {exit_code::kWrongPassphrase,
                fmt::format("{} is encrypted and needs its passphrase: {}", access.url,
                            obtained.status().to_string())};
      return false;
    }
    passphrase = std::move(obtained.value());
  }

  auto keys = unlock_superblock(out->superblock_bytes, passphrase);
  if (out->keep_passphrase && keys.is_ok()) out->passphrase = passphrase;
  std::fill(passphrase.begin(), passphrase.end(), '\0');
  if (!keys.is_ok()) {
    if (keys.status().code() == Status::Code::kWrongPassphrase) {
      *error = {exit_code::kWrongPassphrase, fmt::format("wrong passphrase for {}", access.url)};
    } else {
      *error = tool_error(keys.status().with_context("unlocking " + access.url));
    }
    return false;
  }
  out->keys = keys.value();
  return true;
}

bool open_and_unlock(const StorageRequest& request, StorageAccess* access, std::unique_ptr<Backend>* backend,
                     UnlockedFilesystem* out, ToolError* error) {
  return prepare_storage_access(request, access, error) && open_storage(*access, backend, error) &&
         read_and_unlock(**backend, *access, out, error);
}

bool prepare_unmounted(const StorageRequest& request, const std::string& cache_root, UnmountedFilesystem* out,
                       ToolError* error) {
  if (!open_and_unlock(request, &out->access, &out->backend, &out->unlocked, error)) return false;
  auto cache_dir = make_cache_folder(cache_root, out->access.url);
  if (!cache_dir.is_ok()) {
    *error = {exit_code::kError, cache_dir.status().to_string()};
    return false;
  }
  out->options.storage_url = out->access.url;
  out->options.cache_dir = cache_dir.value();
  out->options.metadata_interval_s = 0;
  return true;
}

}  // namespace hoardfs::tools
