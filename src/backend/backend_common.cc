// Helpers every backend shares: list_all and backend option parsing.
#include "hoardfs/backend.h"

namespace hoardfs {

Status list_all(Backend& backend, const std::string& prefix, std::vector<ObjectInfo>* out) {
  std::string start_after;
  for (;;) {
    ListPage page;
    HOARDFS_RETURN_IF_ERROR(backend.list(prefix, start_after, 1000, &page));
    for (auto& object : page.objects) out->push_back(std::move(object));
    if (!page.truncated || page.objects.empty()) return Status::ok();
    start_after = out->back().key;
  }
}

bool BackendOptions::has(const std::string& key) const {
  for (const auto& [k, v] : values) {
    if (k == key) return true;
  }
  return false;
}

std::string BackendOptions::get(const std::string& key, const std::string& fallback) const {
  for (const auto& [k, v] : values) {
    if (k == key) return v;
  }
  return fallback;
}

Result<BackendOptions> parse_backend_options(const std::string& text) {
  BackendOptions options;
  size_t pos = 0;
  while (pos <= text.size() && !text.empty()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.empty()) return Status::invalid_argument("empty item in backend options '" + text + "'");
    size_t eq = item.find('=');
    if (eq == 0) return Status::invalid_argument("backend option without a name: '" + item + "'");
    if (eq == std::string::npos) {
      options.values.emplace_back(item, "");
    } else {
      options.values.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return options;
}

}  // namespace hoardfs
