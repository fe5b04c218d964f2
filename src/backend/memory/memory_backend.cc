#include "backend/memory/memory_backend.h"

#include <algorithm>

#include "hoardfs/backend_factories.h"

namespace hoardfs {
namespace {

// Named stores live until the process exits so that a reopened "memory://x"
// finds what an earlier instance wrote.
std::mutex g_registry_mutex;
std::map<std::string, std::shared_ptr<void>>& registry() {
  static auto* stores = new std::map<std::string, std::shared_ptr<void>>();
  return *stores;
}

}  // namespace

MemoryBackend::MemoryBackend() : MemoryBackend(std::make_shared<Store>(), "") {}

MemoryBackend::MemoryBackend(std::shared_ptr<Store> store, std::string name)
    : store_(std::move(store)), name_(std::move(name)) {}

std::unique_ptr<MemoryBackend> MemoryBackend::named(const std::string& name) {
  std::lock_guard lock(g_registry_mutex);
  auto& slot = registry()[name];
  if (!slot) slot = std::make_shared<Store>();
  return std::unique_ptr<MemoryBackend>(new MemoryBackend(std::static_pointer_cast<Store>(slot), name));
}

void MemoryBackend::reset_named(const std::string& name) {
  std::shared_ptr<Store> store;
  {
    std::lock_guard lock(g_registry_mutex);
    auto it = registry().find(name);
    if (it == registry().end()) return;
    store = std::static_pointer_cast<Store>(it->second);
  }
  std::lock_guard lock(store->mutex);
  store->objects.clear();
}

std::string MemoryBackend::describe() const {
  return name_.empty() ? "memory" : "memory://" + name_;
}

Status MemoryBackend::get(const std::string& key, std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::lock_guard lock(store_->mutex);
  auto it = store_->objects.find(key);
  if (it == store_->objects.end()) return Status::not_found("not found: " + key);
  *out = it->second;
  return Status::ok();
}

Status MemoryBackend::get_range(const std::string& key, uint64_t offset, uint64_t length,
                                std::string* out) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::lock_guard lock(store_->mutex);
  auto it = store_->objects.find(key);
  if (it == store_->objects.end()) return Status::not_found("not found: " + key);
  const std::string& data = it->second;
  if (offset >= data.size()) {
    out->clear();
  } else {
    *out = data.substr(offset, std::min<uint64_t>(length, data.size() - offset));
  }
  return Status::ok();
}

Status MemoryBackend::put(const std::string& key, std::string_view data) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::string copy(data);  // outside the lock: large objects copy slowly
  std::lock_guard lock(store_->mutex);
  store_->objects[key] = std::move(copy);
  return Status::ok();
}

Status MemoryBackend::put_if_absent(const std::string& key, std::string_view data) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::string copy(data);
  std::lock_guard lock(store_->mutex);
  auto [it, inserted] = store_->objects.try_emplace(key, std::move(copy));
  if (!inserted) return Status::already_exists("already exists: " + key);
  return Status::ok();
}

Status MemoryBackend::remove(const std::vector<std::string>& keys) {
  for (const auto& key : keys) HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::lock_guard lock(store_->mutex);
  for (const auto& key : keys) store_->objects.erase(key);
  return Status::ok();
}

Status MemoryBackend::list(const std::string& prefix, const std::string& start_after, size_t max_keys,
                           ListPage* page) {
  if (max_keys == 0) return Status::invalid_argument("list: max_keys must be > 0");
  page->objects.clear();
  page->truncated = false;
  std::lock_guard lock(store_->mutex);
  auto it = start_after < prefix ? store_->objects.lower_bound(prefix)
                                 : store_->objects.upper_bound(start_after);
  for (; it != store_->objects.end() && it->first.starts_with(prefix); ++it) {
    if (page->objects.size() == max_keys) {
      page->truncated = true;
      break;
    }
    page->objects.push_back({it->first, it->second.size()});
  }
  return Status::ok();
}

Status MemoryBackend::head(const std::string& key, ObjectInfo* info) {
  HOARDFS_RETURN_IF_ERROR(check_object_key(key));
  std::lock_guard lock(store_->mutex);
  auto it = store_->objects.find(key);
  if (it == store_->objects.end()) return Status::not_found("not found: " + key);
  info->key = key;
  info->size = it->second.size();
  return Status::ok();
}

std::map<std::string, std::string> MemoryBackend::snapshot() const {
  std::lock_guard lock(store_->mutex);
  return store_->objects;
}

void MemoryBackend::poke(const std::string& key, std::string bytes) {
  std::lock_guard lock(store_->mutex);
  store_->objects[key] = std::move(bytes);
}

bool MemoryBackend::drop(const std::string& key) {
  std::lock_guard lock(store_->mutex);
  return store_->objects.erase(key) > 0;
}

size_t MemoryBackend::object_count() const {
  std::lock_guard lock(store_->mutex);
  return store_->objects.size();
}

}  // namespace hoardfs
