// A minimal HTTP/1.1 server on 127.0.0.1 for unit tests: every request goes
// to a handler function, which plays Swift, TempAuth or Keystone. One thread
// per connection, keep-alive, Content-Length bodies only (what libcurl sends
// for hoardfs). The handler runs on those threads, so it must be thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace hoardfs::testing {

struct FakeRequest {
  std::string method;
  std::string target;  // path and query, as sent (still percent-encoded)
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;

  std::string path() const { return target.substr(0, target.find('?')); }
  std::string query() const {
    size_t q = target.find('?');
    return q == std::string::npos ? "" : target.substr(q + 1);
  }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

struct FakeReply {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeReply(const FakeRequest&)>;
  explicit FakeHttpServer(Handler handler);
  ~FakeHttpServer();
  FakeHttpServer(const FakeHttpServer&) = delete;
  FakeHttpServer& operator=(const FakeHttpServer&) = delete;

  uint16_t port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string base_url() const { return "http://" + endpoint(); }

 private:
  void accept_loop();
  void serve(int fd);
  // Reads one request from `fd`, answers it; false when the connection ends.
  bool serve_one(int fd, std::string* buffer);

  Handler handler_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::vector<int> connections_;       // guarded by mutex_
  std::vector<std::thread> workers_;   // guarded by mutex_
};

}  // namespace hoardfs::testing
