// libcurl client with a bounded pool of reusable easy handles (see http_client.h).
#include "backend/http/http_client.h"

#include <curl/curl.h>
#include <fmt/core.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace hoardfs::http {
namespace {

std::once_flag g_curl_init;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

// Keeps only the headers of the final answer: a new status line (after a
// "100 Continue" or a redirect) starts a fresh list.
size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* headers = static_cast<Headers*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    headers->clear();
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    headers->emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return size * count;
}

bool has_header(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (lower(k) == name) return true;
  }
  return false;
}

Status status_from_curl(CURLcode code, const char* error_buffer, const Request& request) {
  std::string detail = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  std::string what = fmt::format("{} {}: {}", request.method, request.url, detail);
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE) {
    return Status::io_error(what + " (the server's TLS certificate is not trusted; give its CA with ssl-ca-path=FILE)");
  }
  if (is_retryable_curl_code(code)) return Status::transient(what);
  return Status::io_error(what);
}

}  // namespace

const std::string* Response::header(std::string_view name) const {
  std::string wanted = lower(name);
  for (const auto& [k, v] : headers) {
    if (k == wanted) return &v;
  }
  return nullptr;
}

struct Client::Pool {
  ClientOptions options;
  std::mutex mutex;
  std::condition_variable available;
  std::vector<CURL*> idle;  // guarded by mutex
  size_t created = 0;       // guarded by mutex; never above options.max_connections

  ~Pool() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
  }

  CURL* acquire() {
    std::unique_lock lock(mutex);
    available.wait(lock, [&] { return !idle.empty() || created < options.max_connections; });
    if (!idle.empty()) {
      CURL* handle = idle.back();
      idle.pop_back();
      return handle;
    }
    CURL* handle = curl_easy_init();
    if (handle != nullptr) ++created;
    return handle;
  }

  void release(CURL* handle) {
    {
      std::lock_guard lock(mutex);
      idle.push_back(handle);
    }
    available.notify_one();
  }
};

Result<std::unique_ptr<Client>> Client::create(ClientOptions options) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (options.max_connections == 0) options.max_connections = 1;
  if (options.user_agent.empty()) options.user_agent = std::string("hoardfs/") + HOARDFS_VERSION;
  if (!options.ca_file.empty()) {
    std::FILE* f = std::fopen(options.ca_file.c_str(), "r");
    if (f == nullptr) return Status::invalid_argument("cannot read CA file '" + options.ca_file + "' (ssl-ca-path)");
    std::fclose(f);
  }
  auto pool = std::make_unique<Pool>();
  pool->options = std::move(options);
  return std::unique_ptr<Client>(new Client(std::move(pool)));
}

Client::Client(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}
Client::~Client() = default;

const ClientOptions& Client::options() const { return pool_->options; }

Status Client::perform(const Request& request, Response* response) {
  *response = Response();
  CURL* curl = pool_->acquire();
  if (curl == nullptr) return Status::io_error("curl_easy_init failed");
  // Resetting options keeps the handle's live connections and caches.
  curl_easy_reset(curl);
  const ClientOptions& o = pool_->options;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  struct curl_slist* list = nullptr;
  for (const auto& [name, value] : request.headers) {
    // "Name;" sends a header with an empty value; "Name:" would remove it.
    std::string line = value.empty() ? name + ";" : name + ": " + value;
    list = curl_slist_append(list, line.c_str());
  }
  for (const char* suppressed : {"Content-Type", "Accept", "Expect"}) {
    if (!has_header(request.headers, lower(suppressed))) {
      list = curl_slist_append(list, (std::string(suppressed) + ":").c_str());
    }
  }

  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, o.user_agent.c_str());
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, o.low_speed_bytes);
  auto stall = request.stall_timeout.count() > 0 ? request.stall_timeout : o.low_speed_time;
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(stall.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(o.request_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!o.ca_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, nullptr);
  }
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response->headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response->body);

  if (request.method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (request.method == "PUT" || request.method == "POST") {
      // POSTFIELDS sends the buffer as is, with Content-Length (never chunked).
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response->status);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_slist_free_all(list);
  Status status = code == CURLE_OK ? Status::ok() : status_from_curl(code, error_buffer, request);
  pool_->release(curl);
  return status;
}

bool is_retryable_curl_code(int curl_code) {
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_AGAIN:
      return true;
    default:
      return false;
  }
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace hoardfs::http
