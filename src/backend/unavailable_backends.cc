// Stand-ins for backend families that this build does not contain, so that
// open_backend() links and names the missing family in a one-line error.
// src/backend/meson.build compiles each stand-in only while the family's
// folder has not set backend_has_s3 / backend_has_swift.
#include "hoardfs/backend_factories.h"

namespace hoardfs {

#if HOARDFS_STUB_S3
Result<std::unique_ptr<Backend>> open_s3_backend(const std::string& url, const BackendOptions&,
                                                 const Credentials&) {
  return Status::unsupported("cannot open '" + url + "': the S3 backend is not built into this hoardfs");
}
#endif

#if HOARDFS_STUB_SWIFT
Result<std::unique_ptr<Backend>> open_swift_backend(const std::string& url, const BackendOptions&,
                                                    const Credentials&) {
  return Status::unsupported("cannot open '" + url + "': the Swift backend is not built into this hoardfs");
}
#endif

}  // namespace hoardfs
