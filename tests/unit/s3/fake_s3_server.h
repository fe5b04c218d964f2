// A tiny in-process S3 server for tests that inject network faults: objects
// in memory, path-style, no signature checks, HTTP/1.1 keep-alive, one
// thread per connection. Faults are queued per method and hit the next
// matching requests: a reset mid-body, 500 InternalError, 503 SlowDown with
// Retry-After, a stall longer than the client's timeout, a corrupted body.
//
// Supported: PUT/GET/HEAD/DELETE of objects (GET with Range), GET on the
// bucket (an empty listing, enough for ensure_bucket), DeleteObjects, and
// multipart uploads (initiate, parts, complete, abort, list uploads).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/http/http_client.h"

namespace hoardfs::testing {

class FakeS3Server {
 public:
  enum class Fault {
    kReset,          // send the headers and half the body, then close the connection
    kInternalError,  // 500 with an InternalError document
    kSlowDown,       // 503 SlowDown with "Retry-After: <retry_after_seconds>"
    kStall,          // send the headers and half the body, then nothing for stall_seconds
    kCorruptBody,    // flip one byte of the body (length unchanged)
    kDropRequest,    // handle the request, then close without answering (a lost answer)
    kNotImplemented, // 501 NotImplemented (a gateway without the feature)
    kKeyUnavailable, // DeleteObjects: 200, nothing deleted, a ServiceUnavailable error for the first key
  };

  // Listens on 127.0.0.1, a free port. With an upstream ("127.0.0.1:7480")
  // it is a fault-injecting proxy: requests go to that real server unchanged
  // (Host included, so signatures stay valid) and the answers come back,
  // with the injected faults applied.
  explicit FakeS3Server(std::string upstream = "");
  ~FakeS3Server();
  FakeS3Server(const FakeS3Server&) = delete;
  FakeS3Server& operator=(const FakeS3Server&) = delete;

  int port() const { return port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(port_); }

  // The next `count` requests with this method ("" = any; "POST?uploadId"
  // style filters match method and a query substring) meet `fault`.
  void inject(Fault fault, const std::string& method = "", int count = 1);
  void set_retry_after_seconds(int seconds) { retry_after_seconds_ = seconds; }
  void set_stall_seconds(int seconds) { stall_seconds_ = seconds; }

  // "PUT /bucket/key?partNumber=1&uploadId=..." for every request received.
  std::vector<std::string> requests() const;
  size_t faults_left() const;
  std::map<std::string, std::string> objects() const;  // path → bytes
  size_t open_uploads() const;
  size_t connections_accepted() const;

 private:
  struct Request {
    std::string method, target, path, query;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };
  struct Response {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  struct Object {
    std::string data;
    std::string checksum;  // x-amz-meta-hoardfs-md5
  };
  struct Upload {
    std::string path;
    std::string checksum;
    std::map<int, std::string> parts;
  };
  struct Pending {
    Fault fault;
    std::string method;
    int count;
  };

  Response forward(const Request& request);
  void accept_loop();
  void serve(int fd);
  Response handle(const Request& request);
  Response handle_bucket(const Request& request);
  Response handle_multipart(const Request& request);
  bool take_fault(const Request& request, Fault* fault);

  const std::string upstream_;
  std::unique_ptr<http::Client> client_;  // proxy mode only
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> retry_after_seconds_{1};
  std::atomic<int> stall_seconds_{3};
  std::thread acceptor_;

  mutable std::mutex mutex_;
  std::vector<std::thread> connections_;    // guarded by mutex_
  std::vector<int> connection_fds_;         // guarded by mutex_
  std::vector<Pending> faults_;             // guarded by mutex_
  std::vector<std::string> log_;            // guarded by mutex_
  std::map<std::string, Object> objects_;   // guarded by mutex_
  std::map<std::string, Upload> uploads_;   // guarded by mutex_
  int next_upload_ = 1;                     // guarded by mutex_
};

}  // namespace hoardfs::testing
