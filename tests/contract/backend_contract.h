// The Backend contract suite: every clause written in include/hoardfs/backend.h,
// checked against any backend.
//
// To run it against a backend, add a small test file that instantiates it:
//
//   #include "backend_contract.h"
//   HOARDFS_INSTANTIATE_BACKEND_CONTRACT(S3Minio, [] {
//     const char* url = std::getenv("HOARDFS_TEST_S3_URL");
//     if (url == nullptr) return std::unique_ptr<hoardfs::Backend>();  // → every test SKIPs
//     return std::move(hoardfs::open_backend(url, {}, creds).value());
//   });
//
// and link it with hoardfs_backend_contract_dep (tests/contract/meson.build).
// The factory is called once per test; returning nullptr skips the test, so
// a suite for a server that is not configured reports SKIP instead of a pass.
//
// Each test works under its own random key prefix ("contract-<hex>/") and
// deletes what it wrote, so the suite can share a bucket with other data and
// with concurrent runs; it never lists or deletes outside that prefix.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <mutex>
#include <memory>
#include <string>
#include <vector>

#include "hoardfs/backend.h"

namespace hoardfs::testing {

struct BackendFactory {
  std::string name;  // suffix of the test names: letters, digits and '_'
  std::function<std::unique_ptr<Backend>()> make;
  // A server over the network: the many-key tests use fewer keys (still more
  // than one server page and one delete batch), so a run stays in minutes.
  bool remote = false;
};

class BackendContractTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A key inside this test's own prefix.
  std::string key(const std::string& suffix) const { return namespace_ + suffix; }
  // Puts `data` under each key from `threads` threads; asserts every put succeeds.
  void put_many(const std::vector<std::string>& keys, const std::string& data, int threads = 8);
  // Every key under `prefix`, following pagination with `max_keys` per page,
  // checking on the way the per-page rules (order, bounds, truncation).
  std::vector<ObjectInfo> list_paged(const std::string& prefix, size_t max_keys, size_t* pages = nullptr);

  // How many keys the many-key tests use: `local` for in-process backends,
  // `remote` for servers (see BackendFactory::remote).
  int scaled(int local, int remote) const { return GetParam().remote ? remote : local; }

  std::unique_ptr<Backend> backend_;
  std::string namespace_;
};

// gtest prints the parameter of a failed test with this.
inline void PrintTo(const BackendFactory& factory, std::ostream* os) { *os << factory.name; }

// "prefix00042": names that sort like their numbers.
inline std::string fmt_index(const std::string& prefix, int i) {
  std::string digits = std::to_string(i);
  return prefix + std::string(digits.size() < 5 ? 5 - digits.size() : 0, '0') + digits;
}

std::string backend_factory_name(const ::testing::TestParamInfo<BackendFactory>& info);

}  // namespace hoardfs::testing

// gtest builds test names from the bare fixture name, so it must be visible unqualified.
using hoardfs::testing::BackendContractTest;

#define HOARDFS_INSTANTIATE_BACKEND_CONTRACT(NAME, FACTORY)                                  \
  INSTANTIATE_TEST_SUITE_P(NAME, BackendContractTest,                                        \
                           ::testing::Values(::hoardfs::testing::BackendFactory{#NAME, FACTORY}), \
                           ::hoardfs::testing::backend_factory_name)

// The same for a backend that talks to a server (BackendFactory::remote).
#define HOARDFS_INSTANTIATE_REMOTE_BACKEND_CONTRACT(NAME, FACTORY)                                 \
  INSTANTIATE_TEST_SUITE_P(NAME, BackendContractTest,                                              \
                           ::testing::Values(::hoardfs::testing::BackendFactory{#NAME, FACTORY, true}), \
                           ::hoardfs::testing::backend_factory_name)
