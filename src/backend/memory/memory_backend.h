// MemoryBackend: the whole object store in a std::map, for tests.
//
// It honours the full Backend contract (tests/contract/ runs against it) and
// is the fake every layer's unit tests stack on. Instances opened with the
// same name ("memory://name", or MemoryBackend::named) share one store for
// the life of the process, so a test can "unmount" and reopen the same
// remote. Test hooks read and replace stored bytes directly, bypassing the
// contract, to simulate tampering, loss and rollback.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hoardfs/backend.h"

namespace hoardfs {

class MemoryBackend final : public Backend {
 public:
  // A private store that lives as long as this backend.
  MemoryBackend();
  // The process-wide store called `name` (created empty on first use).
  static std::unique_ptr<MemoryBackend> named(const std::string& name);
  // Empties the named store (tests that reuse names between cases).
  static void reset_named(const std::string& name);

  std::string describe() const override;
  Status get(const std::string& key, std::string* out) override;
  Status get_range(const std::string& key, uint64_t offset, uint64_t length, std::string* out) override;
  Status put(const std::string& key, std::string_view data) override;
  Status put_if_absent(const std::string& key, std::string_view data) override;
  Status remove(const std::vector<std::string>& keys) override;
  Status list(const std::string& prefix, const std::string& start_after, size_t max_keys,
              ListPage* page) override;
  Status head(const std::string& key, ObjectInfo* info) override;

  // --- Test hooks: no key checks, no contract ---
  // Every stored object, by key.
  std::map<std::string, std::string> snapshot() const;
  // Stores `bytes` under `key`, creating or replacing it.
  void poke(const std::string& key, std::string bytes);
  // Deletes `key`; false when it was not there.
  bool drop(const std::string& key);
  size_t object_count() const;

 private:
  struct Store {
    mutable std::mutex mutex;
    std::map<std::string, std::string> objects;  // guarded by mutex
  };
  MemoryBackend(std::shared_ptr<Store> store, std::string name);

  // Constant after construction; the Store has its own lock.
  const std::shared_ptr<Store> store_;
  const std::string name_;  // empty for a private store
};

}  // namespace hoardfs
