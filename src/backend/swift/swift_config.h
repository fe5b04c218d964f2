// Swift storage URLs and backend options, parsed and checked before any request.
//
//   swift://HOST[:PORT]/CONTAINER/PREFIX           v1 auth (TempAuth and compatible)
//                                                  at HOST:PORT/auth/v1.0, login ACCOUNT:USER
//   swiftks://HOST[:PORT]/REGION:CONTAINER/PREFIX  Keystone v3 password auth at HOST:PORT
//                                                  (the Keystone endpoint), login PROJECT:USER;
//                                                  Swift is the catalog's object-store endpoint
//                                                  for REGION
//
// Backend options (--backend-options k=v,flag,...):
//   no-ssl                  plain http to the auth endpoint (Swift's own URL comes from
//                           the auth answer)
//   ssl-ca-path=FILE        trust this PEM CA bundle instead of the system store
//   domain=D                Keystone domain (name) of the user (default Default)
//   project-domain=D        Keystone domain (name) of the project (default: the user's)
//   interface=I             catalog interface: public (default), internal or admin
//   connections=N           at most N requests at once (default 8)
//   slo-threshold=SZ        objects larger than this are stored as static large
//                           objects (default: Swift's max_file_size from /info)
//   slo-segment-size=SZ     size of their segments (default: 1G, at most the threshold)
//   connect-timeout=S       seconds to establish a connection (default 10)
//   stall-timeout=S         abandon a transfer idle for S seconds (default 30)
//   request-retry-time=S    budget for repeating one failed HTTP request,
//                           honouring Retry-After (default 60; 0: no retries)
// SZ accepts a byte count with an optional K, M or G suffix (binary units).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hoardfs/backend.h"
#include "hoardfs/status.h"

namespace hoardfs::swift {

struct SwiftConfig {
  bool keystone = false;       // swiftks:// rather than swift://
  bool https = true;
  std::string auth_endpoint;   // "https://host:port" of TempAuth or Keystone, no trailing slash
  std::string region;          // swiftks:// only
  std::string container;
  std::string prefix;          // prepended to every key, as given in the URL
  std::string login;           // ACCOUNT:USER (v1) or PROJECT:USER (Keystone)
  std::string password;
  std::string user_domain = "Default";
  std::string project_domain = "Default";
  std::string interface = "public";
  std::string ca_file;
  size_t connections = 8;
  std::optional<uint64_t> slo_threshold;  // unset: Swift's max_file_size
  uint64_t slo_segment_size = 1ull << 30;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds stall_timeout{30};
  std::chrono::seconds request_retry_time{60};

  // "swift://host:port/container/prefix" for logs (never the credentials).
  std::string describe() const;
};

// Parses the URL and the options; every mistake is invalid_argument with a
// one-line explanation. A login without ':' or an empty password is auth_failed.
Result<SwiftConfig> parse_swift_config(const std::string& url, const BackendOptions& options,
                                       const Credentials& credentials);

// Swift's container rules: 1..256 bytes, no '/', no control characters.
Status validate_container_name(std::string_view container);

// Parses "123", "5M", "8MiB", "1G" (binary units).
Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace hoardfs::swift
