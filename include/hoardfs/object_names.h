// Every object name hoardfs stores is built here and nowhere else.
// Layout (doc/format.md):
//   hoardfs.superblock                 parameters and wrapped master key
//   hoardfs.lock                       single-writer lock (mounted elsewhere)
//   data/XX/<32 hex>                   data objects, random names, never reused
//   meta/v<20 digits>                  metadata manifest of version N
//   meta/seg/<32 hex>                  metadata segments, random names
// Names reveal nothing about file names or contents.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace hoardfs::object_names {

std::string superblock();
std::string lock();
inline constexpr const char* kDataPrefix = "data/";
inline constexpr const char* kMetaPrefix = "meta/";
inline constexpr const char* kManifestPrefix = "meta/v";
inline constexpr const char* kSegmentPrefix = "meta/seg/";

// `bytes` (at most 32) random bytes as lower-case hex: the random part of
// the names below, and other random ids (lock tokens, cache writer ids).
std::string random_hex(size_t bytes);

// A fresh random data object name.
std::string new_data_object();
std::string manifest(uint64_t version);
// Version of a manifest name; nullopt for anything else.
std::optional<uint64_t> parse_manifest(const std::string& name);
std::string new_metadata_segment();

}  // namespace hoardfs::object_names
