// Helpers every backend shares: list_all, backend option parsing and the key rules.
#include <string_view>

#include "hoardfs/backend.h"
#include "hoardfs/backend_factories.h"

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

// The last occurrence wins, as with repeated command-line options: a later
// "-o" or --backend-options item overrides an earlier one.
std::string BackendOptions::get(const std::string& key, const std::string& fallback) const {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (it->first == key) return it->second;
  }
  return fallback;
}

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

// Spaces around items, names and values are dropped ("no-ssl, region = x" is
// what people type); no option value starts or ends with a meaningful space.
Result<BackendOptions> parse_backend_options(const std::string& text) {
  BackendOptions options;
  if (trim(text).empty()) return options;
  std::string_view rest = text;
  for (;;) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return Status::invalid_argument("empty item in backend options '" + text + "'");
    size_t eq = item.find('=');
    std::string_view name = trim(item.substr(0, eq));
    if (name.empty()) {
      return Status::invalid_argument("backend option without a name: '" + std::string(item) + "'");
    }
    std::string value = eq == std::string_view::npos ? "" : std::string(trim(item.substr(eq + 1)));
    options.values.emplace_back(std::string(name), std::move(value));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return options;
}

Status check_object_key(std::string_view key) {
  auto bad = [&](const char* why) {
    std::string shown(key.substr(0, 80));
    for (char& c : shown) {
      if (c < 0x20 || c > 0x7e) c = '?';
    }
    return Status::invalid_argument("invalid object key '" + shown + "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > kMaxKeyBytes) return bad("longer than 512 bytes");
  for (char c : key) {
    if (c < 0x20 || c > 0x7e) return bad("not printable ASCII");
  }
  if (key.find("..") != std::string_view::npos) return bad("contains '..'");
  return Status::ok();
}

}  // namespace hoardfs
