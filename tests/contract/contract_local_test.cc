// The Backend contract against LocalBackend in a fresh temp directory per test.
#include <stdlib.h>

#include <filesystem>

#include "backend/local/local_backend.h"
#include "backend_contract.h"

namespace {

// Temp directories are removed when the test binary exits.
struct TempDirs {
  std::vector<std::string> paths;
  ~TempDirs() {
    std::error_code ignored;
    for (const auto& p : paths) std::filesystem::remove_all(p, ignored);
  }
  std::string make() {
    std::string templ = (std::filesystem::temp_directory_path() / "hoardfs-contract-XXXXXX").string();
    if (mkdtemp(templ.data()) == nullptr) return "";
    paths.push_back(templ);
    return templ + "/store";  // not yet there: the first put creates it
  }
};
TempDirs temp_dirs;

HOARDFS_INSTANTIATE_BACKEND_CONTRACT(Local, [] {
  auto backend = hoardfs::LocalBackend::open(temp_dirs.make());
  return backend ? std::unique_ptr<hoardfs::Backend>(std::move(backend).value()) : nullptr;
});

}  // namespace
