// The real Swift servers the Swift tests use, from the environment that
// tests/servers/swift-aio.sh (v1 auth) and tests/servers/swift-keystone.sh
// (Keystone v3) print:
//
//   HOARDFS_TEST_SWIFT=127.0.0.1:8080         HOARDFS_TEST_SWIFT_LOGIN=test:tester
//   HOARDFS_TEST_SWIFT_PASSWORD=testing
//   HOARDFS_TEST_SWIFTKS_ENDPOINT=127.0.0.1:5000  HOARDFS_TEST_SWIFTKS_REGION=RegionOne
//   HOARDFS_TEST_SWIFTKS_LOGIN=test:tester    HOARDFS_TEST_SWIFTKS_PASSWORD=testing
//   HOARDFS_TEST_SWIFTKS_DOMAIN=hoardfs       HOARDFS_TEST_SWIFTKS_DOMAIN_LOGIN=dtest:dtester
//   HOARDFS_TEST_SWIFTKS_DOMAIN_PASSWORD=dtesting
//   HOARDFS_TEST_SWIFTKS_ADMIN_LOGIN=admin:admin  HOARDFS_TEST_SWIFTKS_ADMIN_PASSWORD=adminpass
//
// A server whose variables are missing gives nullopt, and its tests SKIP.
#pragma once

#include <sodium.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "hoardfs/backend.h"

namespace hoardfs::testing {

struct SwiftServer {
  bool keystone = false;
  std::string endpoint;  // HOST:PORT of TempAuth or Keystone
  std::string region;    // Keystone only
  Credentials credentials;

  // "swift://HOST:PORT/CONTAINER/PREFIX" or "swiftks://HOST:PORT/REGION:CONTAINER/PREFIX".
  std::string url(const std::string& container, const std::string& prefix = "") const {
    return keystone ? "swiftks://" + endpoint + "/" + region + ":" + container + "/" + prefix
                    : "swift://" + endpoint + "/" + container + "/" + prefix;
  }
};

inline std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

inline std::optional<SwiftServer> v1_swift() {
  auto endpoint = env("HOARDFS_TEST_SWIFT"), login = env("HOARDFS_TEST_SWIFT_LOGIN"),
       password = env("HOARDFS_TEST_SWIFT_PASSWORD");
  if (!endpoint || !login || !password) return std::nullopt;
  return SwiftServer{false, *endpoint, "", {*login, *password}};
}

inline std::optional<SwiftServer> keystone_swift() {
  auto endpoint = env("HOARDFS_TEST_SWIFTKS_ENDPOINT"), region = env("HOARDFS_TEST_SWIFTKS_REGION"),
       login = env("HOARDFS_TEST_SWIFTKS_LOGIN"), password = env("HOARDFS_TEST_SWIFTKS_PASSWORD");
  if (!endpoint || !region || !login || !password) return std::nullopt;
  return SwiftServer{true, *endpoint, *region, {*login, *password}};
}

// A fresh name, so that concurrent runs never share containers or keys.
inline std::string unique_name(const std::string& stem) {
  unsigned char raw[6];
  randombytes_buf(raw, sizeof raw);
  char hex[13];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return stem + "-" + hex;
}

}  // namespace hoardfs::testing
