// For backend implementers: the factories open_backend() dispatches to, and
// the key rules every backend shares.
//
// open_backend() (src/backend/open_backend.cc) parses the scheme and calls one
// factory per family. Each factory gets the full URL, the options meant for it
// (the generic ones, such as retry-time and fault-*, are already removed) and
// the credentials; it validates the URL itself and returns invalid_argument
// with a one-line message when it is malformed. open_backend() wraps what the
// remote factories return in a RetryingBackend, so they must not retry on
// their own beyond what one request needs (e.g. following a redirect).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs {

// s3://REGION/BUCKET/PREFIX and s3c://HOST:PORT/BUCKET/PREFIX.
Result<std::unique_ptr<Backend>> open_s3_backend(const std::string& url, const BackendOptions& options,
                                                 const Credentials& credentials);

// Their halves of create_storage() (backend.h).
Status create_s3_bucket(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                        bool* created);
Status create_swift_container(const std::string& url, const BackendOptions& options,
                              const Credentials& credentials, bool* created);

// swift://HOST:PORT/CONTAINER/PREFIX and swiftks://HOST:PORT/REGION:CONTAINER/PREFIX.
Result<std::unique_ptr<Backend>> open_swift_backend(const std::string& url, const BackendOptions& options,
                                                    const Credentials& credentials);

// The key rules of backend.h: non-empty, at most kMaxKeyBytes, printable ASCII
// (0x20..0x7e), no "..". invalid_argument naming the key otherwise. Backends
// call it first so that a caller's bug fails the same way everywhere.
inline constexpr size_t kMaxKeyBytes = 512;
Status check_object_key(std::string_view key);

}  // namespace hoardfs
