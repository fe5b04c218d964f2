// See fake_swift.h.
#include "fake_swift.h"

#include "backend/swift/swift_backend.h"

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

namespace hoardfs::testing {
namespace {

std::string decode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::strtol(text.substr(i + 1, 2).c_str(), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> parse_query(const std::string& query) {
  std::map<std::string, std::string> params;
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string item = query.substr(pos, amp - pos);
    size_t eq = item.find('=');
    params[decode(item.substr(0, eq))] = eq == std::string::npos ? "" : decode(item.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return params;
}

FakeReply status_only(int status) { return {status, {}, "<html><h1>" + std::to_string(status) + "</h1></html>"}; }

}  // namespace

FakeSwift::FakeSwift() : server_([this](const FakeRequest& request) { return handle(request); }) {}

void FakeSwift::revoke_tokens() {
  std::lock_guard lock(mutex_);
  valid_tokens_.clear();
}

void FakeSwift::create_container(const std::string& name) {
  std::lock_guard lock(mutex_);
  containers_.insert(name);
}

bool FakeSwift::has_object(const std::string& container, const std::string& name) {
  std::lock_guard lock(mutex_);
  return objects_[container].contains(name);
}

std::vector<std::string> FakeSwift::requests() {
  std::lock_guard lock(mutex_);
  return requests_;
}

FakeReply FakeSwift::handle(const FakeRequest& request) {
  {
    std::lock_guard lock(mutex_);
    requests_.push_back(request.method + " " + request.target);
  }
  const std::string path = request.path();
  if (path == "/auth/v1.0") {
    if (request.header("x-auth-user") != "test:tester" || request.header("x-auth-key") != "testing") {
      return status_only(401);
    }
    return issue_token();
  }
  if (path.starts_with("/v3") || path == "/") return keystone(request);
  if (path == "/info") {
    if (!info_enabled) return status_only(404);
    nlohmann::json info = {{"swift", {{"version", "fake"}, {"container_listing_limit", 10000}}},
                           {"slo", {{"max_manifest_segments", 1000}}}};
    if (bulk_delete_enabled) info["bulk_delete"] = {{"max_deletes_per_request", 10000}};
    return {200, {{"Content-Type", "application/json"}}, info.dump()};
  }
  if (path.starts_with("/v1/AUTH_test")) return storage(request);
  return status_only(404);
}

FakeReply FakeSwift::issue_token() {
  ++auth_calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(auth_delay_ms.load()));
  std::lock_guard lock(mutex_);
  std::string token = "tk" + std::to_string(++tokens_issued_);
  valid_tokens_.insert(token);
  return {200,
          {{"X-Storage-Url", "http://" + endpoint() + "/v1/AUTH_test"},
           {"X-Auth-Token", token},
           {"X-Auth-Token-Expires", "86400"}},
          ""};
}

FakeReply FakeSwift::keystone(const FakeRequest& request) {
  if (request.path() == "/" && request.method == "GET") {
    return {300, {}, R"({"versions": {"values": [{"id": "v2.0", "status": "deprecated"}]}})"};
  }
  if (!keystone_v3 || request.path() != "/v3/auth/tokens" || request.method != "POST") return status_only(404);
  auto body = nlohmann::json::parse(request.body, nullptr, false);
  try {
    const auto& user = body["auth"]["identity"]["password"]["user"];
    const auto& project = body["auth"]["scope"]["project"];
    if (user["name"] != "tester" || user["password"] != "testing" || user["domain"]["name"] != "Default" ||
        project["name"] != "test") {
      return {401, {}, R"({"error": {"code": 401, "message": "The request you have made requires authentication."}})"};
    }
  } catch (const std::exception&) {
    return status_only(400);
  }
  FakeReply token = issue_token();
  std::string subject = token.headers[1].second;
  nlohmann::json answer = {
      {"token",
       {{"expires_at", "2099-01-01T00:00:00.000000Z"},
        {"catalog", nlohmann::json::array({{{"type", "object-store"},
                                             {"endpoints", nlohmann::json::array({{{"interface", "public"},
                                                                                   {"region_id", "RegionOne"},
                                                                                   {"url", "http://" + endpoint() +
                                                                                               "/v1/AUTH_test"}}})}}})}}}};
  return {201, {{"X-Subject-Token", subject}}, answer.dump()};
}

FakeReply FakeSwift::storage(const FakeRequest& request) {
  {
    std::lock_guard lock(mutex_);
    if (refuse_all_tokens || !valid_tokens_.contains(request.header("x-auth-token"))) return status_only(401);
  }
  if (unavailable_next.load() > 0 && unavailable_next-- > 0) return {503, {{"Retry-After", "1"}}, "busy"};
  std::string rest = request.path().substr(std::string("/v1/AUTH_test").size());
  if (rest.empty() || rest == "/") {
    if (request.method == "POST" && request.query() == "bulk-delete" && bulk_delete_enabled) return bulk_delete(request);
    return status_only(400);
  }
  rest.erase(0, 1);
  size_t slash = rest.find('/');
  std::string container = decode(rest.substr(0, slash));
  if (slash == std::string::npos) {
    std::lock_guard lock(mutex_);
    if (request.method == "HEAD") return status_only(containers_.contains(container) ? 204 : 404);
    if (request.method == "PUT") return status_only(containers_.insert(container).second ? 201 : 202);
    if (request.method != "GET") return status_only(405);
  }
  if (slash == std::string::npos) return listing(container, request);
  return object(container, decode(rest.substr(slash + 1)), request);
}

FakeReply FakeSwift::listing(const std::string& container, const FakeRequest& request) {
  auto params = parse_query(request.query());
  std::lock_guard lock(mutex_);
  if (!containers_.contains(container)) return status_only(404);
  size_t limit = params.contains("limit") ? std::stoul(params["limit"]) : 10000;
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [name, data] : objects_[container]) {
    if (!name.starts_with(params["prefix"]) || name <= params["marker"]) continue;
    if (out.size() == limit) break;
    out.push_back({{"name", name}, {"bytes", data.size()}});
  }
  return {200, {{"Content-Type", "application/json"}}, out.dump()};
}

FakeReply FakeSwift::object(const std::string& container, const std::string& name, const FakeRequest& request) {
  std::lock_guard lock(mutex_);
  if (!containers_.contains(container)) return status_only(404);
  auto& objects = objects_[container];
  auto it = objects.find(name);
  if (request.method == "PUT") {
    if (request.header("if-none-match") == "*" && it != objects.end()) return status_only(412);
    if (superseded_next_puts > 0 && superseded_next_puts-- > 0) return status_only(202);
    if (!request.header("etag").empty() && request.header("etag") != swift::md5_hex(request.body)) {
      ++etag_mismatches;
      return status_only(422);
    }
    objects[name] = request.body;
    return status_only(201);
  }
  if (request.method == "DELETE") {
    if (it == objects.end()) return status_only(404);
    objects.erase(it);
    return {204, {}, ""};
  }
  if (it == objects.end()) return status_only(404);
  if (request.method == "HEAD") return {200, {{"Content-Length", std::to_string(it->second.size())}}, ""};
  std::string range = request.header("range");
  if (range.starts_with("bytes=")) {
    size_t first = std::stoull(range.substr(6));
    size_t dash = range.find('-');
    size_t last = dash + 1 < range.size() ? std::stoull(range.substr(dash + 1)) : it->second.size() - 1;
    if (first >= it->second.size()) return status_only(416);
    return {206, {}, it->second.substr(first, last - first + 1)};
  }
  FakeReply reply{200, {{"ETag", swift::md5_hex(it->second)}}, it->second};
  if (!reply.body.empty() && corrupt_next_gets.load() > 0 && corrupt_next_gets-- > 0) reply.body[0] ^= 1;
  return reply;
}

FakeReply FakeSwift::bulk_delete(const FakeRequest& request) {
  int deleted = 0, missing = 0;
  std::lock_guard lock(mutex_);
  size_t pos = 0;
  while (pos < request.body.size()) {
    size_t eol = request.body.find('\n', pos);
    std::string line = decode(request.body.substr(pos, eol - pos));
    pos = eol == std::string::npos ? request.body.size() : eol + 1;
    if (line.empty()) continue;
    size_t slash = line.find('/', 1);
    auto& objects = objects_[line.substr(1, slash - 1)];
    if (objects.erase(line.substr(slash + 1)) > 0) {
      ++deleted;
    } else {
      ++missing;
    }
  }
  nlohmann::json answer = {{"Response Status", "200 OK"}, {"Number Deleted", deleted},
                           {"Number Not Found", missing}, {"Errors", nlohmann::json::array()}};
  return {200, {}, "  " + answer.dump()};
}

}  // namespace hoardfs::testing
