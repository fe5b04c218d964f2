// The Backend contract against real OpenStack Swift, through open_backend()
// as the tools use it: v1 auth (TempAuth, tests/servers/swift-aio.sh) and
// Keystone v3 (tests/servers/swift-keystone.sh), with and without a key
// prefix, and once with a 1 MiB static-large-object threshold so that every
// object above it (the 5 MiB one) goes up as segments. Unconfigured servers
// SKIP (see swift_test_env.h).
#include "backend/swift/swift_backend.h"
#include "backend_contract.h"
#include "swift_test_env.h"

namespace {

using hoardfs::Backend;
using hoardfs::testing::SwiftServer;

std::unique_ptr<Backend> open_contract_backend(const std::optional<SwiftServer>& server, const std::string& prefix,
                                               const std::string& options = "") {
  if (!server) return nullptr;
  const std::string url = server->url("hoardfs-contract", prefix);
  auto parsed = hoardfs::parse_backend_options(options.empty() ? "no-ssl" : "no-ssl," + options);
  EXPECT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  bool created = false;
  hoardfs::Status ensured = hoardfs::swift::ensure_swift_container(url, parsed.value(), server->credentials, &created);
  EXPECT_TRUE(ensured.is_ok()) << ensured.to_string();
  if (!ensured) return nullptr;
  auto backend = hoardfs::open_backend(url, parsed.value(), server->credentials);
  EXPECT_TRUE(backend.is_ok()) << backend.status().to_string();
  return backend ? std::move(backend).value() : nullptr;
}

HOARDFS_INSTANTIATE_REMOTE_BACKEND_CONTRACT(SwiftV1, [] {
  return open_contract_backend(hoardfs::testing::v1_swift(), "some/prefix-");
});

HOARDFS_INSTANTIATE_REMOTE_BACKEND_CONTRACT(SwiftKeystone, [] {
  return open_contract_backend(hoardfs::testing::keystone_swift(), "");
});

// Only the object-size tests matter here; tests/contract/meson.build filters
// out the slow many-key ones, which a threshold does not change.
HOARDFS_INSTANTIATE_REMOTE_BACKEND_CONTRACT(SwiftV1LargeObjects, [] {
  return open_contract_backend(hoardfs::testing::v1_swift(), "slo/", "slo-threshold=1M,slo-segment-size=1M");
});

}  // namespace
