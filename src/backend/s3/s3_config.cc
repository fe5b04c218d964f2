#include "backend/s3/s3_config.h"

#include <fmt/core.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace hoardfs::s3 {
namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool looks_like_ipv4(std::string_view s) {
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

Result<uint64_t> parse_number(std::string_view name, std::string_view text, uint64_t min, uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return Status::invalid_argument(
        fmt::format("backend option {}={}: expected a whole number from {} to {}", name, text, min, max));
  }
  return value;
}

// Region names: lower-case letters, digits and '-' (us-east-1, eu-central-2).
bool valid_region(std::string_view region) {
  return !region.empty() && region.size() <= 64 &&
         std::all_of(region.begin(), region.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') return host.back() == ']' && host.size() > 2;  // IPv6 literal
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  });
}

const std::set<std::string>& known_options() {
  static const std::set<std::string> names = {
      "region",       "sig",           "list",          "no-ssl",           "ssl-ca-path",
      "connections",  "multipart-threshold", "part-size", "connect-timeout", "stall-timeout",
      "request-retry-time", "conditional-put"};
  return names;
}

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  std::string_view digits = text;
  uint64_t unit = 1;
  for (std::string_view suffix : {"KiB", "MiB", "GiB", "K", "M", "G", "k"}) {
    if (digits.size() > suffix.size() && digits.ends_with(suffix)) {
      char c = suffix[0];
      unit = (c == 'K' || c == 'k') ? 1ull << 10 : c == 'M' ? 1ull << 20 : 1ull << 30;
      digits.remove_suffix(suffix.size());
      break;
    }
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || value > (1ull << 50) / unit) {
    return Status::invalid_argument(fmt::format("'{}' is not a size (use e.g. 5242880, 5M or 64MiB)", text));
  }
  return value * unit;
}

Status validate_bucket_name(std::string_view bucket) {
  auto bad = [&](std::string_view rule) {
    return Status::invalid_argument(fmt::format("invalid bucket name '{}': {}", bucket, rule));
  };
  if (bucket.size() < 3 || bucket.size() > 63) return bad("it must be 3 to 63 characters long");
  for (char c : bucket) {
    if (!is_lower_alnum(c) && c != '.' && c != '-') {
      return bad("only lower-case letters, digits, '.' and '-' are allowed (DNS naming rules)");
    }
  }
  if (!is_lower_alnum(bucket.front()) || !is_lower_alnum(bucket.back())) {
    return bad("it must start and end with a letter or digit");
  }
  if (bucket.find("..") != std::string_view::npos || bucket.find(".-") != std::string_view::npos ||
      bucket.find("-.") != std::string_view::npos) {
    return bad("each dot-separated label must be non-empty and start and end with a letter or digit");
  }
  if (looks_like_ipv4(bucket)) return bad("it must not look like an IP address");
  if (bucket.starts_with("xn--") || bucket.starts_with("sthree-")) return bad("reserved prefix");
  if (bucket.ends_with("-s3alias") || bucket.ends_with("--ol-s3")) return bad("reserved suffix");
  return Status::ok();
}

std::string S3Config::describe() const {
  if (aws) return fmt::format("s3://{}/{}/{}", region, bucket, prefix);
  return fmt::format("s3c://{}/{}/{}", host, bucket, prefix);
}

Result<S3Config> parse_s3_config(const std::string& url, const BackendOptions& options,
                                 const Credentials& credentials) {
  S3Config config;
  std::string_view rest;
  if (url.starts_with("s3://")) {
    config.aws = true;
    rest = std::string_view(url).substr(5);
  } else if (url.starts_with("s3c://")) {
    rest = std::string_view(url).substr(6);
  } else {
    return Status::invalid_argument("'" + url + "' is not an s3:// or s3c:// URL");
  }
  const char* form = config.aws ? "s3://REGION/BUCKET/PREFIX" : "s3c://HOST:PORT/BUCKET/PREFIX";
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0) {
    return Status::invalid_argument(fmt::format("malformed storage URL '{}': expected {}", url, form));
  }
  std::string_view authority = rest.substr(0, slash);
  rest.remove_prefix(slash + 1);
  slash = rest.find('/');
  std::string_view bucket = rest.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (bucket.empty()) {
    return Status::invalid_argument(fmt::format("malformed storage URL '{}': no bucket; expected {}", url, form));
  }
  HOARDFS_RETURN_IF_ERROR(validate_bucket_name(bucket));
  config.bucket = bucket;
  config.prefix = prefix;  // used as is, like S3QL: "a/b/" is a folder, "a/b-" a name stem
  if (config.prefix.find("..") != std::string::npos || config.prefix.starts_with('/')) {
    return Status::invalid_argument(fmt::format("malformed storage URL '{}': bad prefix '{}'", url, prefix));
  }
  for (char c : config.prefix) {
    if (c < 0x21 || c > 0x7e) {
      return Status::invalid_argument(
          fmt::format("malformed storage URL '{}': the prefix may hold only printable ASCII without spaces", url));
    }
  }

  for (const auto& [name, value] : options.values) {
    if (!known_options().contains(name)) {
      return Status::invalid_argument(fmt::format(
          "unknown backend option '{}' for {}:// (known: region, sig, list, no-ssl, ssl-ca-path, connections, "
          "multipart-threshold, part-size, connect-timeout, stall-timeout, request-retry-time, conditional-put)",
          name, config.aws ? "s3" : "s3c"));
    }
  }

  if (config.aws) {
    config.region = authority;
    if (!valid_region(config.region)) {
      return Status::invalid_argument(
          fmt::format("malformed storage URL '{}': '{}' is not an AWS region (expected {})", url, authority, form));
    }
    if (options.has("region") || options.has("sig") || options.has("no-ssl")) {
      return Status::invalid_argument("backend options region, sig and no-ssl apply only to s3c:// URLs");
    }
    std::string domain = config.region.starts_with("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    // Bucket names with dots do not match the *.s3 wildcard certificate: path-style.
    config.virtual_hosted = config.bucket.find('.') == std::string::npos;
    config.host = fmt::format("{}s3.{}.{}", config.virtual_hosted ? config.bucket + "." : "", config.region, domain);
    config.list_v2 = true;
  } else {
    std::string_view host = authority;
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
      host = authority.substr(0, colon);
      auto port = parse_number("port", authority.substr(colon + 1), 1, 65535);
      if (!port) {
        return Status::invalid_argument(fmt::format("malformed storage URL '{}': bad port in '{}'", url, authority));
      }
    }
    if (!valid_host(host)) {
      return Status::invalid_argument(fmt::format("malformed storage URL '{}': bad host '{}'", url, host));
    }
    config.host = authority;
    config.https = !options.has("no-ssl");
    if (options.has("region")) config.region = options.get("region");
    if (!valid_region(config.region)) {
      return Status::invalid_argument(fmt::format("backend option region={}: not a region name", config.region));
    }
    std::string sig = options.get("sig", "v4");
    if (sig != "v4" && sig != "v2") return Status::invalid_argument("backend option sig= must be v4 or v2");
    config.signature = sig == "v2" ? Signature::kV2 : Signature::kV4;
  }
  config.endpoint = std::string(config.https ? "https://" : "http://") + config.host;

  if (options.has("list")) {
    std::string list = options.get("list");
    if (list != "v1" && list != "v2") return Status::invalid_argument("backend option list= must be v1 or v2");
    config.list_v2 = list == "v2";
  }
  if (options.has("ssl-ca-path")) {
    config.ca_file = options.get("ssl-ca-path");
    if (config.ca_file.empty()) return Status::invalid_argument("backend option ssl-ca-path= needs a file name");
    if (!config.https) return Status::invalid_argument("backend options ssl-ca-path and no-ssl contradict each other");
  }
  if (options.has("connections")) {
    auto n = parse_number("connections", options.get("connections"), 1, 256);
    if (!n) return n.status();
    config.connections = *n;
  }
  for (const char* name : {"multipart-threshold", "part-size"}) {
    if (!options.has(name)) continue;
    auto size = parse_size(options.get(name));
    if (!size) return size.status().with_context(std::string("backend option ") + name);
    (std::string_view(name) == "part-size" ? config.part_size : config.multipart_threshold) = *size;
  }
  if (config.part_size < kMinPartSize || config.part_size > (5ull << 30)) {
    return Status::invalid_argument("backend option part-size must be from 5M to 5G (S3 limits)");
  }
  if (config.multipart_threshold == 0) {
    return Status::invalid_argument("backend option multipart-threshold must be positive");
  }
  struct {
    const char* name;
    std::chrono::seconds* target;
    uint64_t min;
  } durations[] = {{"connect-timeout", &config.connect_timeout, 1},
                   {"stall-timeout", &config.stall_timeout, 1},
                   {"request-retry-time", &config.request_retry_time, 0}};
  for (auto& d : durations) {
    if (!options.has(d.name)) continue;
    auto seconds = parse_number(d.name, options.get(d.name), d.min, 86400);
    if (!seconds) return seconds.status();
    *d.target = std::chrono::seconds(*seconds);
  }
  if (options.has("conditional-put")) {
    std::string v = options.get("conditional-put");
    if (v == "auto") config.conditional_put = S3Config::ConditionalPut::kAuto;
    else if (v == "yes") config.conditional_put = S3Config::ConditionalPut::kYes;
    else if (v == "no") config.conditional_put = S3Config::ConditionalPut::kNo;
    else return Status::invalid_argument("backend option conditional-put= must be auto, yes or no");
  }

  if (credentials.login.empty() || credentials.password.empty()) {
    return Status::auth_failed(fmt::format(
        "no credentials for {}: add backend-login and backend-password to the authinfo file{}", config.describe(),
        config.aws ? " or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" : ""));
  }
  config.access_key = credentials.login;
  config.secret_key = credentials.password;
  return config;
}

}  // namespace hoardfs::s3
