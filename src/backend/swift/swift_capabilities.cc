// Parsing of Swift's /info document (see swift_capabilities.h).
#include "backend/swift/swift_capabilities.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

namespace hoardfs::swift {

using nlohmann::json;

namespace {

void read_number(const json& section, const char* name, uint64_t* out) {
  auto it = section.find(name);
  if (it == section.end()) return;
  if (it->is_number_unsigned()) {
    *out = it->get<uint64_t>();
  } else if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(it->get<int64_t>());
  } else if (it->is_number_float() && it->get<double>() >= 0) {
    *out = static_cast<uint64_t>(it->get<double>());
  }
}

}  // namespace

Capabilities parse_capabilities(std::string_view info_json) {
  Capabilities caps;
  json doc = json::parse(info_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return caps;
  caps.info_available = true;
  if (auto it = doc.find("swift"); it != doc.end() && it->is_object()) {
    const json& swift = *it;
    if (auto v = swift.find("version"); v != swift.end() && v->is_string()) caps.version = v->get<std::string>();
    read_number(swift, "max_file_size", &caps.max_file_size);
    read_number(swift, "max_object_name_length", &caps.max_object_name_length);
    read_number(swift, "container_listing_limit", &caps.container_listing_limit);
    read_number(swift, "max_meta_count", &caps.max_meta_count);
    read_number(swift, "max_meta_name_length", &caps.max_meta_name_length);
    read_number(swift, "max_meta_value_length", &caps.max_meta_value_length);
    read_number(swift, "max_meta_overall_size", &caps.max_meta_overall_size);
  }
  if (auto it = doc.find("bulk_delete"); it != doc.end() && it->is_object()) {
    caps.bulk_delete = true;
    read_number(*it, "max_deletes_per_request", &caps.max_deletes_per_request);
  }
  if (auto it = doc.find("slo"); it != doc.end() && it->is_object()) {
    caps.static_large_objects = true;
    read_number(*it, "max_manifest_segments", &caps.max_manifest_segments);
    read_number(*it, "max_manifest_size", &caps.max_manifest_size);
    read_number(*it, "min_segment_size", &caps.min_segment_size);
  }
  if (caps.container_listing_limit == 0) caps.container_listing_limit = 10000;
  if (caps.max_deletes_per_request == 0) caps.bulk_delete = false;
  if (caps.max_manifest_segments == 0) caps.static_large_objects = false;
  return caps;
}

std::string Capabilities::summary() const {
  if (!info_available) return "no /info: single deletes, no static large objects";
  std::string out = version.empty() ? "Swift" : "Swift " + version;
  out += bulk_delete ? fmt::format(", bulk delete ({} per request)", max_deletes_per_request) : ", no bulk delete";
  out += static_large_objects ? fmt::format(", static large objects ({} segments)", max_manifest_segments)
                              : ", no static large objects";
  out += fmt::format(", objects up to {} bytes, names up to {} bytes", max_file_size, max_object_name_length);
  return out;
}

std::string info_url(const std::string& storage_url) {
  size_t v1 = storage_url.find("/v1/");
  if (v1 == std::string::npos && storage_url.ends_with("/v1")) v1 = storage_url.size() - 3;
  if (v1 != std::string::npos) return storage_url.substr(0, v1) + "/info";
  size_t scheme = storage_url.find("://");
  size_t path = storage_url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  return storage_url.substr(0, path) + "/info";
}

}  // namespace hoardfs::swift
