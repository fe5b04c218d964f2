// Backend: the one interface through which hoardfs talks to object storage.
//
// Only code under src/backend/ does blob I/O. Every implementation (local
// directory, memory, S3, Swift) and every wrapper (retry, fault injection)
// honours the contract written on each method; tests/contract/ checks it.
//
// Keys are byte strings of printable ASCII without "..", at most 512 bytes,
// built only by object_names.h. Objects are written whole; a successful put()
// is durable (local: fsync'd; remote: acknowledged by the server).
//
// Errors: a missing key is Status::not_found (never retryable). Failures the
// caller may repeat (timeouts, connection resets, HTTP 5xx/408/429, throttling)
// carry retryable() == true; bad credentials are Code::kAuthFailed, refused
// operations Code::kPermissionDenied, both permanent. All methods are safe to
// call from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hoardfs/status.h"

namespace hoardfs {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
};

struct ListPage {
  std::vector<ObjectInfo> objects;  // in ascending byte order of key
  bool truncated = false;           // more keys follow the last one returned
};

class Backend {
 public:
  virtual ~Backend() = default;

  // A short description for logs, showing wrappers: "Retrying(s3c://host/bucket)".
  virtual std::string describe() const = 0;

  // Reads the whole object into *out, replacing what it held (callers may
  // pass the same string again, to reuse its storage). Missing key:
  // not_found, *out untouched; after other errors its content is undefined.
  virtual Status get(const std::string& key, std::string* out) = 0;

  // Reads `length` bytes starting at `offset`. A range that runs past the end
  // returns the bytes that exist (possibly none). Missing key: not_found.
  virtual Status get_range(const std::string& key, uint64_t offset, uint64_t length,
                           std::string* out) = 0;

  // Creates or replaces the object atomically: readers see the old or the new
  // content, never a mix or a prefix.
  virtual Status put(const std::string& key, std::string_view data) = 0;

  // Creates the object only if the key does not exist; already_exists otherwise.
  // Backends that cannot do this atomically return unsupported.
  virtual Status put_if_absent(const std::string& key, std::string_view data) = 0;

  // Deletes every key in `keys`. Keys that do not exist are not an error.
  // On failure some keys may have been deleted; repeating the call is safe.
  virtual Status remove(const std::vector<std::string>& keys) = 0;

  // Lists keys that start with `prefix` and sort strictly after `start_after`
  // (empty: from the beginning), at most `max_keys` (> 0) of them.
  virtual Status list(const std::string& prefix, const std::string& start_after,
                      size_t max_keys, ListPage* page) = 0;

  // Size of an object. Missing key: not_found.
  virtual Status head(const std::string& key, ObjectInfo* info) = 0;
};

// Lists every key under `prefix`, following pagination.
Status list_all(Backend& backend, const std::string& prefix, std::vector<ObjectInfo>* out);

// Options given with --backend-options k=v,flag,...
struct BackendOptions {
  std::vector<std::pair<std::string, std::string>> values;  // flag → value ""
  bool has(const std::string& key) const;
  std::string get(const std::string& key, const std::string& fallback = "") const;
};

struct Credentials {
  std::string login;
  std::string password;
};

// Parses a storage URL and opens its backend. Unknown schemes, malformed URLs
// and invalid bucket names give invalid_argument with a one-line explanation.
Result<std::unique_ptr<Backend>> open_backend(const std::string& url, const BackendOptions& options,
                                              const Credentials& credentials);

// Creates the bucket (s3://, s3c://) or container (swift://, swiftks://) a
// storage URL names when it does not exist yet; *created tells whether it
// did. Nothing to do for local:// (the backend makes its directory) and
// memory://. Errors as open_backend(), plus the server's refusal (e.g. the
// bucket name is taken, or the credentials may not create buckets).
Status create_storage(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                      bool* created);

// Parses "k=v,flag,k2=v2".
Result<BackendOptions> parse_backend_options(const std::string& text);

}  // namespace hoardfs
