// Parsing of swift:// and swiftks:// URLs and of the Swift backend options.
#include "backend/swift/swift_config.h"

#include <fmt/core.h>

#include <charconv>

namespace hoardfs::swift {
namespace {

bool parse_unsigned(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status bad_option(const std::string& name, const std::string& value, const char* expected) {
  return Status::invalid_argument(
      fmt::format("Swift backend option {}='{}': expected {}", name, value, expected));
}

// Checks HOST[:PORT] (HOST may be a bracketed IPv6 address).
Status check_authority(std::string_view authority, const std::string& url) {
  if (authority.empty()) return Status::invalid_argument("storage URL '" + url + "' has no host");
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::invalid_argument("storage URL '" + url + "': unterminated IPv6 address");
    }
    host = authority.substr(0, close + 1);
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Status::invalid_argument("storage URL '" + url + "': malformed host");
      port = rest.substr(1);
      if (port.empty()) return Status::invalid_argument("storage URL '" + url + "': empty port");
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return Status::invalid_argument("storage URL '" + url + "': empty port");
  }
  if (host.empty()) return Status::invalid_argument("storage URL '" + url + "' has no host");
  for (char c : host) {
    if (c <= ' ' || c == '@' || c == '?' || c == '#' || c == '\x7f') {
      return Status::invalid_argument("storage URL '" + url + "': invalid character in host");
    }
  }
  uint64_t number = 0;
  if (!port.empty() && (!parse_unsigned(port, &number) || number == 0 || number > 65535)) {
    return Status::invalid_argument("storage URL '" + url + "': port must be a number from 1 to 65535");
  }
  return Status::ok();
}

}  // namespace

Status validate_container_name(std::string_view container) {
  if (container.empty()) return Status::invalid_argument("the Swift container name is empty");
  if (container.size() > 256) {
    return Status::invalid_argument(
        fmt::format("Swift container name '{}' is longer than 256 bytes", container));
  }
  for (unsigned char c : container) {
    if (c == '/') return Status::invalid_argument(fmt::format("Swift container name '{}' contains '/'", container));
    if (c < 0x20 || c == 0x7f) {
      return Status::invalid_argument(
          fmt::format("Swift container name '{}' contains a control character", container));
    }
  }
  return Status::ok();
}

Result<uint64_t> parse_byte_size(std::string_view text) {
  std::string_view digits = text;
  uint64_t multiplier = 1;
  for (auto [suffix, factor] : {std::pair{"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30},
                                {"K", 1ull << 10}, {"M", 1ull << 20}, {"G", 1ull << 30}}) {
    if (digits.ends_with(suffix)) {
      digits.remove_suffix(std::string_view(suffix).size());
      multiplier = factor;
      break;
    }
  }
  uint64_t number = 0;
  if (!parse_unsigned(digits, &number)) {
    return Status::invalid_argument(fmt::format("'{}' is not a size (e.g. 1048576, 512K, 64M, 1G)", text));
  }
  if (number > UINT64_MAX / multiplier) return Status::invalid_argument(fmt::format("size '{}' is too large", text));
  return number * multiplier;
}

std::string SwiftConfig::describe() const {
  std::string host = auth_endpoint.substr(auth_endpoint.find("://") + 3);
  if (keystone) return fmt::format("swiftks://{}/{}:{}/{}", host, region, container, prefix);
  return fmt::format("swift://{}/{}/{}", host, container, prefix);
}

Result<SwiftConfig> parse_swift_config(const std::string& url, const BackendOptions& options,
                                       const Credentials& credentials) {
  SwiftConfig config;
  std::string_view rest;
  if (url.starts_with("swift://")) {
    rest = std::string_view(url).substr(8);
  } else if (url.starts_with("swiftks://")) {
    config.keystone = true;
    rest = std::string_view(url).substr(10);
  } else {
    return Status::invalid_argument("'" + url + "' is not a swift:// or swiftks:// URL");
  }
  const char* form = config.keystone ? "swiftks://HOST:PORT/REGION:CONTAINER/PREFIX"
                                     : "swift://HOST:PORT/CONTAINER/PREFIX";
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  HOARDFS_RETURN_IF_ERROR(check_authority(authority, url));
  if (slash == std::string_view::npos || slash + 1 >= rest.size()) {
    return Status::invalid_argument(fmt::format("storage URL '{}' names no container (expected {})", url, form));
  }
  std::string_view path = rest.substr(slash + 1);
  size_t end = path.find('/');
  std::string_view location = path.substr(0, end);
  config.prefix = end == std::string_view::npos ? "" : std::string(path.substr(end + 1));
  if (config.keystone) {
    size_t colon = location.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::invalid_argument(
          fmt::format("storage URL '{}' names no region (expected {}, e.g. RegionOne:backups)", url, form));
    }
    config.region = std::string(location.substr(0, colon));
    location.remove_prefix(colon + 1);
  }
  config.container = std::string(location);
  HOARDFS_RETURN_IF_ERROR(validate_container_name(config.container).with_context("storage URL '" + url + "'"));
  for (unsigned char c : config.prefix) {
    if (c < 0x20 || c == 0x7f) {
      return Status::invalid_argument("storage URL '" + url + "': the prefix contains a control character");
    }
  }

  bool domain_given = false, project_domain_given = false;
  for (const auto& [name, value] : options.values) {
    uint64_t number = 0;
    if (name == "no-ssl") {
      if (!value.empty()) return bad_option(name, value, "no value (a flag)");
      config.https = false;
    } else if (name == "ssl-ca-path") {
      if (value.empty()) return bad_option(name, value, "a PEM file");
      config.ca_file = value;
    } else if (name == "domain" || name == "project-domain") {
      if (!config.keystone) {
        return Status::invalid_argument("backend option " + name + " applies to swiftks:// (Keystone) only");
      }
      if (value.empty()) return bad_option(name, value, "a Keystone domain name");
      (name == "domain" ? config.user_domain : config.project_domain) = value;
      (name == "domain" ? domain_given : project_domain_given) = true;
    } else if (name == "interface") {
      if (!config.keystone) {
        return Status::invalid_argument("backend option interface applies to swiftks:// (Keystone) only");
      }
      if (value != "public" && value != "internal" && value != "admin") {
        return bad_option(name, value, "public, internal or admin");
      }
      config.interface = value;
    } else if (name == "connections") {
      if (!parse_unsigned(value, &number) || number == 0 || number > 256) return bad_option(name, value, "1..256");
      config.connections = number;
    } else if (name == "slo-threshold" || name == "slo-segment-size") {
      auto size = parse_byte_size(value);
      if (!size) return size.status().with_context("Swift backend option " + name);
      if (*size < (1u << 20)) return bad_option(name, value, "at least 1M");
      if (name == "slo-threshold") {
        config.slo_threshold = *size;
      } else {
        config.slo_segment_size = *size;
      }
    } else if (name == "connect-timeout" || name == "stall-timeout" || name == "request-retry-time") {
      if (!parse_unsigned(value, &number) || number > 86400) return bad_option(name, value, "whole seconds");
      if (number == 0 && name != "request-retry-time") return bad_option(name, value, "at least 1 second");
      (name == "connect-timeout"  ? config.connect_timeout
       : name == "stall-timeout" ? config.stall_timeout
                                 : config.request_retry_time) = std::chrono::seconds(number);
    } else {
      return Status::invalid_argument(
          "the Swift backend has no option '" + name +
          "' (it knows no-ssl, ssl-ca-path, domain, project-domain, interface, connections, slo-threshold, "
          "slo-segment-size, connect-timeout, stall-timeout, request-retry-time)");
    }
  }
  if (domain_given && !project_domain_given) config.project_domain = config.user_domain;
  config.auth_endpoint = std::string(config.https ? "https://" : "http://") + std::string(authority);

  size_t colon = credentials.login.find(':');
  const char* who = config.keystone ? "PROJECT:USER" : "ACCOUNT:USER";
  if (colon == std::string::npos || colon == 0 || colon + 1 == credentials.login.size()) {
    return Status::auth_failed(fmt::format("Swift login '{}' is not of the form {}", credentials.login, who));
  }
  if (credentials.password.empty()) return Status::auth_failed("no password for Swift login " + credentials.login);
  config.login = credentials.login;
  config.password = credentials.password;
  return config;
}

}  // namespace hoardfs::swift
