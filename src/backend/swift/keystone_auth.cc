// Keystone v3 password authentication for swiftks:// (see swift_auth.h).
//
// One POST /v3/auth/tokens scoped to PROJECT gives the token (X-Subject-Token
// header) and, in the body, the service catalog; the object-store endpoint of
// the configured interface (public unless interface=) in REGION is Swift's
// storage URL. When /v3 is missing, the version discovery document at / says
// which Identity API versions the server has, for the error message.
#include <fmt/core.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "backend/swift/swift_auth.h"
#include "hoardfs/log.h"

namespace hoardfs::swift {

using nlohmann::json;
using std::chrono::system_clock;

namespace {

std::pair<std::string, std::string> split_login(const std::string& login) {
  size_t colon = login.find(':');
  return {login.substr(0, colon), login.substr(colon + 1)};
}

std::string string_field(const json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// {"error": {"code": ..., "message": ...}}, as Keystone answers failures.
bool is_keystone_error(const http::Response& response) {
  json doc = json::parse(response.body, nullptr, false);
  return !doc.is_discarded() && doc.is_object() && doc.contains("error") && doc["error"].is_object();
}

class KeystoneAuthenticator final : public Authenticator {
 public:
  KeystoneAuthenticator(http::Client* client, const http::Retrier* retrier, const SwiftConfig& config)
      : client_(client), retrier_(retrier), config_(config), body_(keystone_request_body(config)) {}

  Result<AuthToken> authenticate() override {
    const std::string url = config_.auth_endpoint + "/v3/auth/tokens";
    const std::string what = "Keystone authentication at " + url;
    http::Response response;
    HOARDFS_RETURN_IF_ERROR(exchange(what, "POST", url, body_, &response));
    if (response.status == 401 || response.status == 403) {
      auto [project, user] = split_login(config_.login);
      std::string detail = response_detail(response);
      return Status::auth_failed(fmt::format(
          "{}: HTTP {}: Keystone refused user '{}' (domain {}) for project '{}' (domain {}){}{}", what,
          response.status, user, config_.user_domain, project, config_.project_domain,
          detail.empty() ? "" : ": ", detail));
    }
    // Anything but Keystone's own JSON error means there is no v3 API here.
    if (response.status == 404 || response.status == 300 ||
        (response.status >= 400 && response.status < 500 && !is_keystone_error(response))) {
      return no_v3(response.status);
    }
    if (response.status != 201 && response.status != 200) {
      return http::status_from_http(response.status, what, response_detail(response));
    }
    const std::string* subject_token = response.header("x-subject-token");
    if (subject_token == nullptr || subject_token->empty()) {
      return Status::unsupported(what + ": the answer has no X-Subject-Token (is this a Keystone v3 endpoint?)");
    }
    auto token = parse_keystone_token(*subject_token, response.body, config_);
    if (token) log::debug("Keystone authentication as {}: storage URL {}", config_.login, token->storage_url);
    return token;
  }

 private:
  Status exchange(const std::string& what, const char* method, const std::string& url, std::string_view body,
                  http::Response* response) {
    return retrier_->run(what, [&]() -> http::AttemptResult {
      http::Request request;
      request.method = method;
      request.url = url;
      request.headers = {{"Accept", "application/json"}};
      if (!body.empty()) {
        request.headers.emplace_back("Content-Type", "application/json");
        request.body = body;
      }
      Status sent = client_->perform(request, response);
      if (!sent) return {sent, std::nullopt};
      if (http::is_retryable_http_status(response->status)) {
        const std::string* after = response->header("retry-after");
        return {http::status_from_http(response->status, what, response_detail(*response)),
                after == nullptr ? std::nullopt : http::parse_retry_after(*after)};
      }
      return {Status::ok(), std::nullopt};
    });
  }

  // /v3/auth/tokens does not exist: say what the server offers instead.
  Status no_v3(long status) {
    http::Response discovery;
    std::string offered;
    if (exchange("Keystone version discovery", "GET", config_.auth_endpoint + "/", {}, &discovery)) {
      offered = keystone_versions(discovery.body);
    }
    std::string host = config_.auth_endpoint;
    if (offered.empty()) {
      return Status::unsupported(fmt::format(
          "no Keystone Identity API v3 at {} (POST /v3/auth/tokens: HTTP {}); swiftks:// needs the Keystone "
          "endpoint HOST:PORT", host, status));
    }
    return Status::unsupported(fmt::format(
        "Keystone at {} does not offer the Identity API v3 that hoardfs uses (POST /v3/auth/tokens: HTTP {}); "
        "it offers: {}", host, status, offered));
  }

  http::Client* const client_;
  const http::Retrier* const retrier_;
  const SwiftConfig config_;
  const std::string body_;
};

}  // namespace

std::unique_ptr<Authenticator> make_keystone_authenticator(http::Client* client, const http::Retrier* retrier,
                                                           const SwiftConfig& config) {
  return std::make_unique<KeystoneAuthenticator>(client, retrier, config);
}

std::string keystone_request_body(const SwiftConfig& config) {
  auto [project, user] = split_login(config.login);
  json body = {{"auth",
                {{"identity",
                  {{"methods", json::array({"password"})},
                   {"password",
                    {{"user",
                      {{"name", user}, {"domain", {{"name", config.user_domain}}}, {"password", config.password}}}}}}},
                 {"scope", {{"project", {{"name", project}, {"domain", {{"name", config.project_domain}}}}}}}}}};
  return body.dump();
}

std::optional<system_clock::time_point> parse_iso8601(std::string_view text) {
  std::tm tm{};
  std::string copy(text);
  const char* rest = strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  if (*rest == '.') {
    ++rest;
    while (*rest >= '0' && *rest <= '9') ++rest;
  }
  std::string_view zone(rest);
  if (zone != "Z" && zone != "+00:00" && zone != "") return std::nullopt;
  std::time_t when = timegm(&tm);
  if (when == static_cast<std::time_t>(-1)) return std::nullopt;
  return system_clock::from_time_t(when);
}

Result<AuthToken> parse_keystone_token(std::string subject_token, std::string_view body, const SwiftConfig& config) {
  const std::string where = "Keystone at " + config.auth_endpoint;
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("token") || !doc["token"].is_object()) {
    return Status::io_error(where + ": the token answer is not the JSON Keystone v3 sends");
  }
  const json& token = doc["token"];
  AuthToken result;
  result.token = std::move(subject_token);
  if (std::string expires = string_field(token, "expires_at"); !expires.empty()) {
    result.expires_at = parse_iso8601(expires);
  }
  const std::string project = split_login(config.login).first;
  auto catalog = token.find("catalog");
  if (catalog == token.end() || !catalog->is_array()) {
    return Status::unsupported(fmt::format("{}: the token for project '{}' carries no service catalog", where, project));
  }
  bool has_object_store = false;
  std::set<std::string> regions;  // that have an object-store endpoint of our interface
  std::set<std::string> interfaces;
  for (const json& service : *catalog) {
    if (string_field(service, "type") != "object-store") continue;
    has_object_store = true;
    auto endpoints = service.find("endpoints");
    if (endpoints == service.end() || !endpoints->is_array()) continue;
    for (const json& endpoint : *endpoints) {
      std::string interface = string_field(endpoint, "interface");
      std::string region = string_field(endpoint, "region_id");
      if (region.empty()) region = string_field(endpoint, "region");
      interfaces.insert(interface);
      if (interface != config.interface) continue;
      regions.insert(region);
      if (region == config.region || string_field(endpoint, "region") == config.region) {
        result.storage_url = string_field(endpoint, "url");
        while (result.storage_url.ends_with('/')) result.storage_url.pop_back();
        if (!result.storage_url.empty()) return result;
      }
    }
  }
  if (!has_object_store) {
    return Status::unsupported(
        fmt::format("{}: the service catalog of project '{}' has no object-store (Swift) service", where, project));
  }
  auto join = [](const std::set<std::string>& names) {
    std::string out;
    for (const auto& name : names) out += (out.empty() ? "" : ", ") + (name.empty() ? "(none)" : name);
    return out.empty() ? std::string("none") : out;
  };
  if (regions.empty()) {
    return Status::invalid_argument(fmt::format(
        "{}: the catalog has no {} object-store endpoint (interfaces offered: {}; choose one with interface=)", where,
        config.interface, join(interfaces)));
  }
  return Status::invalid_argument(fmt::format(
      "{}: the catalog has no {} object-store endpoint in region '{}' (regions offered: {})", where, config.interface,
      config.region, join(regions)));
}

std::string keystone_versions(std::string_view discovery_body) {
  json doc = json::parse(discovery_body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return {};
  std::vector<json> versions;
  if (auto it = doc.find("versions"); it != doc.end()) {
    const json& list = it->is_object() && it->contains("values") ? (*it)["values"] : *it;
    if (list.is_array()) versions.assign(list.begin(), list.end());
  } else if (auto one = doc.find("version"); one != doc.end() && one->is_object()) {
    versions.push_back(*one);
  }
  std::string out;
  for (const json& version : versions) {
    std::string id = string_field(version, "id");
    if (id.empty()) continue;
    std::string status = string_field(version, "status");
    out += (out.empty() ? "" : ", ") + id + (status.empty() ? "" : " (" + status + ")");
  }
  return out;
}

}  // namespace hoardfs::swift
