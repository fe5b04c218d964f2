// Operations over many names: listing with marker pagination, and deletes,
// in bulk (POST ?bulk-delete) when the cluster offers it, one by one otherwise.
#include <fmt/core.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "backend/swift/swift_backend.h"

namespace hoardfs::swift {

Status SwiftBackend::remove(const std::vector<std::string>& keys) {
  if (keys.empty()) return Status::ok();
  std::vector<std::string> names(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) HOARDFS_RETURN_IF_ERROR(check_name(keys[i], &names[i]));
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  HOARDFS_RETURN_IF_ERROR(delete_names(config_.container, names));
  if (capabilities_.static_large_objects && segments_may_exist_.load()) {
    HOARDFS_RETURN_IF_ERROR(delete_segments(names, ""));
  }
  return Status::ok();
}

Status SwiftBackend::delete_names(const std::string& container, const std::vector<std::string>& names) {
  if (capabilities_.bulk_delete && names.size() > 1) {
    // Smaller than Swift's limit: a batch must finish within the time limit,
    // and a failed one repeats less work.
    const size_t batch =
        std::max<uint64_t>(1, std::min<uint64_t>(capabilities_.max_deletes_per_request, kBulkDeleteBatch));
    for (size_t i = 0; i < names.size(); i += batch) {
      std::vector<std::string> chunk(names.begin() + i, names.begin() + std::min(names.size(), i + batch));
      HOARDFS_RETURN_IF_ERROR(bulk_delete(container, chunk));
    }
    return Status::ok();
  }
  for (const auto& name : names) HOARDFS_RETURN_IF_ERROR(delete_one(container, name));
  return Status::ok();
}

Status SwiftBackend::delete_one(const std::string& container, const std::string& name) {
  const std::string what = "DELETE " + container + "/" + name;
  http::Response response;
  return exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "DELETE";
    request.url = object_url(storage_url, container, name);
    return request;
  }, &response, [&](const http::Response& answer) {
    if ((answer.status >= 200 && answer.status <= 299) || answer.status == 404) return Status::ok();
    if (answer.status == 409) return Status::transient(what + ": HTTP 409 (conflicting timestamps)");
    return http::status_from_http(answer.status, what, response_detail(answer));
  });
}

Status bulk_delete_outcome(const http::Response& answer, const std::string& what) {
  if (answer.status != 200) return http::status_from_http(answer.status, what, response_detail(answer));
  nlohmann::json doc = nlohmann::json::parse(answer.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::transient(what + ": the answer is not the JSON of a bulk delete");
  }
  auto overall_field = doc.find("Response Status");
  std::string overall = overall_field != doc.end() && overall_field->is_string() ? overall_field->get<std::string>() : "";
  if (overall.starts_with("2")) return Status::ok();
  long worst = 0;
  std::string first_error;
  size_t missing = 0, errors_seen = 0;
  if (auto errors = doc.find("Errors"); errors != doc.end() && errors->is_array()) {
    for (const auto& error : *errors) {
      if (!error.is_array() || error.size() < 2 || !error[1].is_string()) continue;
      ++errors_seen;
      std::string text = error[1].get<std::string>();
      long code = std::strtol(text.c_str(), nullptr, 10);
      if (code == 404) {
        ++missing;
        continue;
      }
      if (first_error.empty()) first_error = (error[0].is_string() ? error[0].get<std::string>() : "") + ": " + text;
      // Authentication and permission problems say most, then server errors.
      if (code == 401 || code == 403 || worst == 0 || (code >= 500 && worst != 401 && worst != 403)) worst = code;
    }
  }
  if (errors_seen > 0 && missing == errors_seen) return Status::ok();  // only keys that were gone already
  if (worst == 0) worst = std::strtol(overall.c_str(), nullptr, 10);
  std::string detail = overall + (first_error.empty() ? "" : "; first failure: " + first_error);
  // 401 inside the body: the token expired mid-way; the retry renews it.
  if (worst == 401 || worst == 409) return Status::transient(what + ": " + detail);
  if (worst == 0) return Status::io_error(what + ": " + detail);
  return http::status_from_http(worst, what, detail);
}

Status SwiftBackend::bulk_delete(const std::string& container, const std::vector<std::string>& names) {
  std::string body;
  for (const auto& name : names) {
    body += "/" + http::uri_encode(container, false) + "/" + http::uri_encode(name, true) + "\n";
  }
  const std::string what = fmt::format("bulk delete of {} objects in {}", names.size(), container);
  http::Response response;
  return exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.method = "POST";
    request.url = storage_url + "?bulk-delete";
    request.headers = {{"Content-Type", "text/plain"}, {"Accept", "application/json"}};
    request.body = body;
    return request;
  }, &response, [&](const http::Response& answer) { return bulk_delete_outcome(answer, what); }, bulk_client_.get());
}

Status SwiftBackend::list(const std::string& prefix, const std::string& start_after, size_t max_keys,
                          ListPage* page) {
  page->objects.clear();
  page->truncated = false;
  if (max_keys == 0) return Status::invalid_argument("list: max_keys must be positive");
  HOARDFS_RETURN_IF_ERROR(check_container_exists());
  const uint64_t server_limit = capabilities_.container_listing_limit;
  // Ask for one more than wanted, when the server allows, to know whether more follow.
  const bool probe = max_keys < server_limit;
  const size_t wanted = probe ? max_keys : server_limit;
  std::vector<ObjectInfo> entries;
  bool found = true;
  HOARDFS_RETURN_IF_ERROR(list_names_page(config_.container, config_.prefix + prefix,
                                          start_after.empty() ? std::string() : config_.prefix + start_after,
                                          probe ? wanted + 1 : wanted, &entries, &found));
  if (!found) {
    container_missing_ = true;
    return missing_container();
  }
  page->truncated = probe ? entries.size() > wanted : entries.size() == wanted;
  if (entries.size() > wanted) entries.resize(wanted);
  page->objects.reserve(entries.size());
  for (auto& entry : entries) {
    if (!entry.key.starts_with(config_.prefix)) continue;
    page->objects.push_back({entry.key.substr(config_.prefix.size()), entry.size});
  }
  return Status::ok();
}

Status SwiftBackend::list_names_page(const std::string& container, const std::string& prefix,
                                     const std::string& marker, size_t limit, std::vector<ObjectInfo>* out,
                                     bool* found) {
  const std::string what = fmt::format("GET {}?prefix={}&marker={}", container, prefix, marker);
  http::Response response;
  HOARDFS_RETURN_IF_ERROR(exchange(what, [&](const std::string& storage_url) {
    http::Request request;
    request.url = fmt::format("{}?format=json&limit={}", container_url(storage_url, container), limit);
    if (!prefix.empty()) request.url += "&prefix=" + http::uri_encode(prefix, false);
    if (!marker.empty()) request.url += "&marker=" + http::uri_encode(marker, false);
    request.headers = {{"Accept", "application/json"}};
    return request;
  }, &response));
  *found = response.status != 404;
  if (response.status == 404 || response.status == 204) return Status::ok();
  if (response.status != 200) return http::status_from_http(response.status, what, response_detail(response));
  nlohmann::json doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) return Status::io_error(what + ": the listing is not a JSON array");
  for (const auto& entry : doc) {
    if (!entry.is_object()) continue;
    auto name = entry.find("name");
    if (name == entry.end() || !name->is_string()) continue;  // "subdir" entries
    auto bytes = entry.find("bytes");
    uint64_t size = bytes != entry.end() && bytes->is_number_unsigned() ? bytes->get<uint64_t>() : 0;
    out->push_back({name->get<std::string>(), size});
  }
  return Status::ok();
}

Status SwiftBackend::list_names(const std::string& container, const std::string& prefix,
                                std::vector<ObjectInfo>* out, bool* found) {
  std::string marker;
  for (;;) {
    std::vector<ObjectInfo> page;
    const size_t limit = capabilities_.container_listing_limit;
    HOARDFS_RETURN_IF_ERROR(list_names_page(container, prefix, marker, limit, &page, found));
    if (!*found) return Status::ok();
    bool more = page.size() == limit;
    for (auto& entry : page) out->push_back(std::move(entry));
    if (!more || out->empty()) return Status::ok();
    marker = out->back().key;
  }
}

}  // namespace hoardfs::swift
