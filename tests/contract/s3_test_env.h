// The real S3 servers the S3 tests run against, from the environment that the
// scripts under tests/servers/ print (eval "$(tests/servers/X.sh start)"):
//
//   swift-aio.sh  HOARDFS_TEST_SWIFT_S3=127.0.0.1:8080   _KEY=test:tester   _SECRET=testing
//   ceph-rgw.sh   HOARDFS_TEST_RGW=127.0.0.1:7480        _KEY / _SECRET
//   s3rver.sh     HOARDFS_TEST_S3RVER=127.0.0.1:4568     _KEY=S3RVER _SECRET=S3RVER
//   nginx-tls.sh  HOARDFS_TEST_NGINX_S3=127.0.0.1:8443   _KEY / _SECRET,
//                 HOARDFS_TEST_NGINX_CA=FILE  HOARDFS_TEST_NGINX_WRONG_CA=FILE
//
// A server whose variables are missing is skipped with a message naming the
// script to start; one whose variables are set but which does not answer is
// skipped as well, unless HOARDFS_TEST_REQUIRE_SERVERS=1 (CI), where that is
// a failure.
#pragma once

#include <fmt/core.h>
#include <gtest/gtest.h>
#include <sodium.h>

#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>

#include "backend/s3/s3_backend.h"
#include "hoardfs/backend.h"

namespace hoardfs::testing {

struct S3Server {
  std::string name;      // for messages
  std::string endpoint;  // HOST:PORT
  Credentials credentials;
  std::string options;   // backend options that reach this server (no-ssl, ssl-ca-path=...)
  std::string wrong_ca;  // nginx only
  bool checks_v4_signatures = true;  // s3rver does not

  std::string url(const std::string& bucket, const std::string& prefix = "") const {
    return "s3c://" + endpoint + "/" + bucket + "/" + prefix;
  }
};

inline std::optional<std::string> s3_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

// Why a server is not available ("" when it is configured).
inline std::optional<S3Server> s3_server(const std::string& which, std::string* why) {
  struct Known {
    const char* id;
    const char* var;
    const char* script;
  };
  static const Known known[] = {{"swift", "HOARDFS_TEST_SWIFT_S3", "swift-aio.sh"},
                                {"rgw", "HOARDFS_TEST_RGW", "ceph-rgw.sh"},
                                {"s3rver", "HOARDFS_TEST_S3RVER", "s3rver.sh"},
                                {"nginx", "HOARDFS_TEST_NGINX_S3", "nginx-tls.sh"}};
  for (const Known& k : known) {
    if (which != k.id) continue;
    std::string var = k.var;
    auto endpoint = s3_env(var), key = s3_env(var + "_KEY"), secret = s3_env(var + "_SECRET");
    if (!endpoint || !key || !secret) {
      *why = fmt::format("{} not set: start the server with eval \"$(tests/servers/{} start)\"", var, k.script);
      return std::nullopt;
    }
    S3Server server{which, *endpoint, {*key, *secret}, "no-ssl", "", which != "s3rver"};
    if (which == "nginx") {
      auto ca = s3_env("HOARDFS_TEST_NGINX_CA"), wrong = s3_env("HOARDFS_TEST_NGINX_WRONG_CA");
      if (!ca || !wrong) {
        *why = "HOARDFS_TEST_NGINX_CA / HOARDFS_TEST_NGINX_WRONG_CA not set (tests/servers/nginx-tls.sh)";
        return std::nullopt;
      }
      server.options = "ssl-ca-path=" + *ca;
      server.wrong_ca = *wrong;
    }
    return server;
  }
  *why = "unknown server " + which;
  return std::nullopt;
}

inline bool servers_required() { return s3_env("HOARDFS_TEST_REQUIRE_SERVERS").value_or("0") == "1"; }

inline std::string unique_suffix() {
  unsigned char raw[5];
  randombytes_buf(raw, sizeof raw);
  char hex[11];
  sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
  return hex;
}

// Records a fatal failure from a non-void function, so that the test body
// does not run (a plain ADD_FAILURE in a fixture's SetUp would let it run).
inline void fail_test(const std::string& message) { FAIL() << message; }

// Opens an S3Backend on `bucket` at `server`, creating the bucket. nullptr
// (with *why set) when the server does not answer and servers are optional;
// nullptr after a fatal test failure for any other error.
inline std::unique_ptr<s3::S3Backend> open_s3(const S3Server& server, const std::string& bucket,
                                              const std::string& prefix, const std::string& extra_options,
                                              std::string* why) {
  std::string text = server.options + (extra_options.empty() ? "" : "," + extra_options);
  auto options = parse_backend_options(text);
  if (!options) return fail_test(options.status().to_string()), nullptr;
  auto config = s3::parse_s3_config(server.url(bucket, prefix), options.value(), server.credentials);
  if (!config) return fail_test(config.status().to_string()), nullptr;
  config->request_retry_time = std::chrono::seconds(20);
  auto backend = s3::S3Backend::open(std::move(config.value()));
  if (!backend) return fail_test(backend.status().to_string()), nullptr;
  // A server found down once is skipped at once afterwards (each try costs the retry budget).
  static std::mutex mutex;
  static std::map<std::string, std::string> unreachable;
  std::lock_guard lock(mutex);
  if (auto it = unreachable.find(server.endpoint); it != unreachable.end()) {
    *why = it->second;
    return nullptr;
  }
  bool created = false;
  Status ensured = backend.value()->ensure_bucket(&created);
  if (!ensured.is_ok()) {
    if (ensured.retryable() && !servers_required()) {
      *why = server.name + " does not answer at " + server.endpoint + ": " + ensured.to_string();
      unreachable[server.endpoint] = *why;
      return nullptr;
    }
    fail_test("creating bucket " + bucket + " on " + server.name + ": " + ensured.to_string());
    return nullptr;
  }
  return std::move(backend.value());
}

}  // namespace hoardfs::testing
