#include "backend/s3/s3_signer.h"

#include <fmt/core.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace hoardfs::s3 {
namespace {

std::string digest(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), out, &length, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &length);
  return std::string(reinterpret_cast<char*>(out), length);
}

std::string hex(std::string_view bytes) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// Trims and collapses runs of spaces, as both signature versions require.
std::string normalize_value(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

const std::string* find_header(const http::Headers& headers, std::string_view lower_name) {
  for (const auto& [k, v] : headers) {
    if (lower(k) == lower_name) return &v;
  }
  return nullptr;
}

std::string format_time(std::time_t t, const char* format) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[64];
  size_t n = std::strftime(buffer, sizeof buffer, format, &tm);
  return std::string(buffer, n);
}

}  // namespace

std::string sha256_hex(std::string_view data) { return hex(digest(EVP_sha256(), data)); }
std::string md5_hex(std::string_view data) { return hex(digest(EVP_md5(), data)); }
std::string md5_base64(std::string_view data) { return base64(digest(EVP_md5(), data)); }

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string amz_date(std::time_t t) { return format_time(t, "%Y%m%dT%H%M%SZ"); }
std::string http_date(std::time_t t) { return format_time(t, "%a, %d %b %Y %H:%M:%S GMT"); }

std::string canonical_query(const QueryPairs& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(http::uri_encode(k, false), http::uri_encode(v, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

void sign_v4(const SigningKeys& keys, const SigningRequest& request) {
  http::Headers& headers = *request.headers;
  const std::string date_time = amz_date(request.now);
  const std::string date = date_time.substr(0, 8);
  headers.emplace_back("x-amz-date", date_time);
  headers.emplace_back("x-amz-content-sha256", std::string(request.payload_sha256_hex));

  // Every header we send is signed (names lower-case, sorted).
  std::vector<std::pair<std::string, std::string>> canonical;
  for (const auto& [k, v] : headers) canonical.emplace_back(lower(k), normalize_value(v));
  std::sort(canonical.begin(), canonical.end());
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [k, v] : canonical) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  const std::string canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, request.path, canonical_query(*request.query),
                  canonical_headers, signed_headers, request.payload_sha256_hex);
  const std::string scope = fmt::format("{}/{}/s3/aws4_request", date, keys.region);
  const std::string string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", date_time, scope, sha256_hex(canonical_request));

  std::string key = hmac(EVP_sha256(), "AWS4" + keys.secret_key, date);
  key = hmac(EVP_sha256(), key, keys.region);
  key = hmac(EVP_sha256(), key, "s3");
  key = hmac(EVP_sha256(), key, "aws4_request");
  const std::string signature = hex(hmac(EVP_sha256(), key, string_to_sign));
  headers.emplace_back("Authorization",
                       fmt::format("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={}",
                                   keys.access_key, scope, signed_headers, signature));
}

void sign_v2(const SigningKeys& keys, const SigningRequest& request, std::string_view resource_path) {
  // Query parameters that name a sub-resource are part of the V2 signature.
  static const std::set<std::string> sub_resources = {
      "acl",           "cors",          "delete",         "lifecycle",        "location",
      "logging",       "notification",  "partNumber",     "policy",           "requestPayment",
      "tagging",       "torrent",       "uploadId",       "uploads",          "versionId",
      "versioning",    "versions",      "website",        "response-cache-control",
      "response-content-disposition",   "response-content-encoding",         "response-content-language",
      "response-content-type",          "response-expires"};
  http::Headers& headers = *request.headers;
  // x-amz-date rather than Date: proxies may rewrite Date, and with x-amz-date
  // the Date line of the string to sign is empty (s3rver relies on that).
  headers.emplace_back("x-amz-date", http_date(request.now));

  std::vector<std::pair<std::string, std::string>> amz;
  for (const auto& [k, v] : headers) {
    std::string name = lower(k);
    if (name.starts_with("x-amz-")) amz.emplace_back(name, normalize_value(v));
  }
  std::sort(amz.begin(), amz.end());
  std::string amz_headers;
  for (const auto& [k, v] : amz) amz_headers += k + ":" + v + "\n";

  std::vector<std::pair<std::string, std::string>> subs;
  for (const auto& [k, v] : *request.query) {
    if (sub_resources.contains(k)) subs.emplace_back(k, v);
  }
  std::sort(subs.begin(), subs.end());
  std::string resource(resource_path);
  for (size_t i = 0; i < subs.size(); ++i) {
    resource += i == 0 ? '?' : '&';
    resource += subs[i].first;
    if (!subs[i].second.empty()) resource += "=" + subs[i].second;
  }

  const std::string* md5 = find_header(headers, "content-md5");
  const std::string* type = find_header(headers, "content-type");
  const std::string string_to_sign =
      fmt::format("{}\n{}\n{}\n\n{}{}", request.method, md5 ? *md5 : "", type ? *type : "", amz_headers, resource);
  headers.emplace_back("Authorization", fmt::format("AWS {}:{}", keys.access_key,
                                                    base64(hmac(EVP_sha1(), keys.secret_key, string_to_sign))));
}

}  // namespace hoardfs::s3
