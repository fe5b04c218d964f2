#include "backend/s3/s3_xml.h"

#include <fmt/core.h>

#include <charconv>
#include <cstring>
#include <pugixml.hpp>
#include <sstream>

namespace hoardfs::s3 {
namespace {

// Parses `body` into `doc` and returns its root element, or an empty node.
pugi::xml_node load(pugi::xml_document& doc, std::string_view body) {
  if (body.empty()) return {};
  pugi::xml_parse_result ok = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!ok) return {};
  return doc.document_element();
}

// Child element text, ignoring namespaces (some servers add xmlns, none use prefixes).
std::string text(pugi::xml_node node, const char* name) { return node.child(name).text().as_string(); }

Status malformed(std::string_view what, std::string_view body) {
  std::string_view start = body.substr(0, 200);
  return Status::transient(fmt::format("malformed {} answer from the server: '{}'", what, start));
}

std::string to_xml(const pugi::xml_document& doc) {
  std::ostringstream out;
  doc.save(out, "", pugi::format_raw | pugi::format_no_declaration);
  return out.str();
}

}  // namespace

std::optional<S3Error> parse_error(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root = load(doc, body);
  if (!root || std::strcmp(root.name(), "Error") != 0) return std::nullopt;
  return S3Error{text(root, "Code"), text(root, "Message"), text(root, "Region")};
}

Result<ListResult> parse_list(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root = load(doc, body);
  if (!root || std::strcmp(root.name(), "ListBucketResult") != 0) return malformed("ListObjects", body);
  ListResult result;
  result.truncated = text(root, "IsTruncated") == "true";
  result.next_marker = text(root, "NextMarker");
  for (pugi::xml_node item : root.children("Contents")) {
    ObjectInfo info;
    info.key = text(item, "Key");
    std::string size = text(item, "Size");
    auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), info.size);
    if (info.key.empty() || ec != std::errc() || end != size.data() + size.size()) {
      return malformed("ListObjects", body);
    }
    result.objects.push_back(std::move(info));
  }
  return result;
}

Result<std::string> parse_upload_id(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root = load(doc, body);
  std::string id = root ? text(root, "UploadId") : "";
  if (id.empty()) return malformed("InitiateMultipartUpload", body);
  return id;
}

std::string build_complete_multipart(const std::vector<std::string>& etags) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("CompleteMultipartUpload");
  for (size_t i = 0; i < etags.size(); ++i) {
    pugi::xml_node part = root.append_child("Part");
    part.append_child("PartNumber").text().set(static_cast<unsigned>(i + 1));
    part.append_child("ETag").text().set(etags[i].c_str());
  }
  return to_xml(doc);
}

Result<std::vector<UploadEntry>> parse_multipart_uploads(std::string_view body, bool* truncated) {
  pugi::xml_document doc;
  pugi::xml_node root = load(doc, body);
  if (!root || std::strcmp(root.name(), "ListMultipartUploadsResult") != 0) {
    return malformed("ListMultipartUploads", body);
  }
  *truncated = text(root, "IsTruncated") == "true";
  std::vector<UploadEntry> uploads;
  for (pugi::xml_node upload : root.children("Upload")) {
    uploads.push_back({text(upload, "Key"), text(upload, "UploadId")});
  }
  return uploads;
}

std::string build_delete(const std::vector<std::string>& keys) {
  pugi::xml_document doc;
  pugi::xml_node root = doc.append_child("Delete");
  root.append_child("Quiet").text().set("true");
  for (const std::string& key : keys) {
    root.append_child("Object").append_child("Key").text().set(key.c_str());
  }
  return to_xml(doc);
}

Result<std::vector<DeleteFailure>> parse_delete_result(std::string_view body) {
  pugi::xml_document doc;
  pugi::xml_node root = load(doc, body);
  if (!root || std::strcmp(root.name(), "DeleteResult") != 0) return malformed("DeleteObjects", body);
  std::vector<DeleteFailure> failures;
  for (pugi::xml_node error : root.children("Error")) {
    failures.push_back({text(error, "Key"), text(error, "Code"), text(error, "Message")});
  }
  return failures;
}

}  // namespace hoardfs::s3
