// The Backend contract against real S3 servers (see s3_test_env.h):
// Swift's s3api with SigV4 and SigV2 and with ListObjects v1 and v2, Ceph's
// radosgw, s3rver, and Swift behind nginx with TLS from a private CA. One
// instance per server sends objects above 1 MiB as multipart uploads
// (5 MiB parts) so the contract's 5 MiB object goes up in parts.
// The bucket "hoardfs-contract" is created when missing; each test works in
// its own random prefix. A server that is not running SKIPs its tests.
#include "backend_contract.h"
#include "s3_test_env.h"

namespace {

using hoardfs::Backend;

std::function<std::unique_ptr<Backend>()> s3_factory(const std::string& which, const std::string& options) {
  return [which, options]() -> std::unique_ptr<Backend> {
    std::string why;
    auto server = hoardfs::testing::s3_server(which, &why);
    if (server) {
      auto backend = hoardfs::testing::open_s3(*server, "hoardfs-contract", "", options, &why);
      if (backend) return backend;
    }
    if (!why.empty()) std::cerr << "SKIP: " << why << "\n";
    return nullptr;
  };
}

#define HOARDFS_S3_CONTRACT(NAME, WHICH, OPTIONS) \
  HOARDFS_INSTANTIATE_REMOTE_BACKEND_CONTRACT(NAME, s3_factory(WHICH, OPTIONS))

HOARDFS_S3_CONTRACT(SwiftS3SigV4, "swift", "");
HOARDFS_S3_CONTRACT(SwiftS3SigV2ListV2, "swift", "sig=v2,list=v2");
HOARDFS_S3_CONTRACT(SwiftS3Multipart, "swift", "multipart-threshold=1M,part-size=5M");
HOARDFS_S3_CONTRACT(RadosGw, "rgw", "");
HOARDFS_S3_CONTRACT(RadosGwSigV2ListV2Multipart, "rgw", "sig=v2,list=v2,multipart-threshold=1M,part-size=5M");
HOARDFS_S3_CONTRACT(S3rver, "s3rver", "");
HOARDFS_S3_CONTRACT(S3rverSigV2Multipart, "s3rver", "sig=v2,multipart-threshold=1M,part-size=5M");
HOARDFS_S3_CONTRACT(NginxTls, "nginx", "");

}  // namespace
