// What a Swift cluster offers, read once from its unauthenticated /info
// document. A cluster that hides /info (expose_info = false) gets the
// conservative defaults: single deletes, no static large objects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace hoardfs::swift {

struct Capabilities {
  bool info_available = false;  // /info answered with a JSON document
  std::string version;          // Swift's version, when it says

  bool bulk_delete = false;                 // POST ?bulk-delete
  uint64_t max_deletes_per_request = 10000;

  bool static_large_objects = false;  // PUT ?multipart-manifest=put
  uint64_t max_manifest_segments = 1000;
  uint64_t max_manifest_size = 8ull << 20;
  uint64_t min_segment_size = 1;

  uint64_t max_file_size = 5368709122;  // largest single object
  uint64_t max_object_name_length = 1024;
  uint64_t container_listing_limit = 10000;
  uint64_t max_meta_count = 90;
  uint64_t max_meta_name_length = 128;
  uint64_t max_meta_value_length = 256;
  uint64_t max_meta_overall_size = 4096;

  // "bulk delete (10000 per request), static large objects (1000 segments), ..."
  std::string summary() const;
};

// Reads an /info document; fields it lacks keep their defaults. Not JSON:
// the defaults, with info_available false.
Capabilities parse_capabilities(std::string_view info_json);

// The /info URL of the cluster behind a storage URL: the part before "/v1/"
// (or scheme://host:port) followed by "/info".
std::string info_url(const std::string& storage_url);

}  // namespace hoardfs::swift
