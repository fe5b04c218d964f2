#include "fake_s3_server.h"

#include <arpa/inet.h>
#include <fmt/core.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <pugixml.hpp>
#include <stdexcept>

#include "backend/s3/s3_signer.h"

namespace hoardfs::testing {
namespace {

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string query_value(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string item = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    size_t eq = item.find('=');
    if (item.substr(0, eq) == name) return eq == std::string::npos ? "" : url_decode(item.substr(eq + 1));
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return "\x01";  // absent
}

bool has_query(const std::string& query, const std::string& name) { return query_value(query, name) != "\x01"; }

std::string error_xml(const std::string& code) {
  return "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>fake</Message></Error>";
}

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 404: return "Not Found";
    case 403: return "Forbidden";
    case 412: return "Precondition Failed";
    case 416: return "Range Not Satisfiable";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

FakeS3Server::FakeS3Server(std::string upstream) : upstream_(std::move(upstream)) {
  if (!upstream_.empty()) {
    http::ClientOptions options;
    options.max_connections = 16;
    client_ = std::move(http::Client::create(options).value());
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    throw std::runtime_error("fake S3 server: cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeS3Server::~FakeS3Server() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    for (int fd : connection_fds_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(connections_);
  }
  for (auto& t : threads) t.join();
}

void FakeS3Server::inject(Fault fault, const std::string& method, int count) {
  std::lock_guard lock(mutex_);
  faults_.push_back({fault, method, count});
}

std::vector<std::string> FakeS3Server::requests() const {
  std::lock_guard lock(mutex_);
  return log_;
}

size_t FakeS3Server::faults_left() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& f : faults_) n += static_cast<size_t>(f.count);
  return n;
}

std::map<std::string, std::string> FakeS3Server::objects() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::string> out;
  for (const auto& [path, object] : objects_) out[path] = object.data;
  return out;
}

size_t FakeS3Server::connections_accepted() const {
  std::lock_guard lock(mutex_);
  return connection_fds_.size();
}

size_t FakeS3Server::open_uploads() const {
  std::lock_guard lock(mutex_);
  return uploads_.size();
}

void FakeS3Server::accept_loop() {
  while (!stopping_) {
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    connection_fds_.push_back(fd);
    connections_.emplace_back([this, fd] { serve(fd); });
  }
}

bool FakeS3Server::take_fault(const Request& request, Fault* fault) {
  std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    std::string method = it->method, query_part;
    if (size_t q = method.find('?'); q != std::string::npos) {
      query_part = method.substr(q + 1);
      method = method.substr(0, q);
    }
    if (!method.empty() && method != request.method) continue;
    if (!query_part.empty() && request.query.find(query_part) == std::string::npos) continue;
    *fault = it->fault;
    if (--it->count == 0) faults_.erase(it);
    return true;
  }
  return false;
}

void FakeS3Server::serve(int fd) {
  std::string buffer;
  char chunk[65536];
  auto read_more = [&]() -> bool {
    for (;;) {
      pollfd p{fd, POLLIN, 0};
      int ready = ::poll(&p, 1, 200);
      if (stopping_) return false;
      if (ready <= 0) continue;
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer.append(chunk, static_cast<size_t>(n));
      return true;
    }
  };
  for (;;) {
    size_t end;
    while ((end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!read_more()) return;
    }
    Request request;
    std::string head = buffer.substr(0, end);
    buffer.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    request.method = line.substr(0, sp1);
    request.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t q = request.target.find('?');
    request.path = url_decode(request.target.substr(0, q));
    request.query = q == std::string::npos ? "" : request.target.substr(q + 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t next = head.find("\r\n", pos);
      std::string h = head.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
      size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        size_t v = h.find_first_not_of(' ', colon + 1);
        request.headers[name] = v == std::string::npos ? "" : h.substr(v);
      }
      if (next == std::string::npos) break;
      pos = next + 2;
    }
    size_t length = request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
    while (buffer.size() < length) {
      if (!read_more()) return;
    }
    request.body = buffer.substr(0, length);
    buffer.erase(0, length);
    {
      std::lock_guard lock(mutex_);
      log_.push_back(request.method + " " + request.target);
    }

    Fault fault{};
    bool faulty = take_fault(request, &fault);
    Response response;
    if (faulty && fault == Fault::kInternalError) {
      response = {500, {}, error_xml("InternalError")};
    } else if (faulty && fault == Fault::kNotImplemented) {
      response = {501, {}, error_xml("NotImplemented")};
    } else if (faulty && fault == Fault::kSlowDown) {
      response = {503, {{"Retry-After", std::to_string(retry_after_seconds_.load())}}, error_xml("SlowDown")};
    } else if (faulty && fault == Fault::kKeyUnavailable) {
      pugi::xml_document doc;
      doc.load_buffer(request.body.data(), request.body.size());
      std::string key = doc.child("Delete").child("Object").child("Key").text().as_string();
      response = {200, {}, "<DeleteResult><Error><Key>" + key + "</Key><Code>ServiceUnavailable</Code>"
                           "<Message>Please reduce your request rate.</Message></Error></DeleteResult>"};
    } else {
      response = handle(request);
    }
    if (faulty && fault == Fault::kDropRequest) return;
    if (faulty && fault == Fault::kCorruptBody && !response.body.empty()) response.body[response.body.size() / 2] ^= 1;

    std::string out = fmt::format("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (const auto& [k, v] : response.headers) out += k + ": " + v + "\r\n";
    out += fmt::format("Content-Length: {}\r\n\r\n", response.body.size());
    bool head_only = request.method == "HEAD";
    if (faulty && (fault == Fault::kReset || fault == Fault::kStall) && !head_only) {
      send_all(fd, out);
      send_all(fd, std::string_view(response.body).substr(0, response.body.size() / 2));
      if (fault == Fault::kStall) {
        auto until = std::chrono::steady_clock::now() + std::chrono::seconds(stall_seconds_.load());
        while (!stopping_ && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
      struct linger hard{1, 0};  // RST rather than FIN
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
      return;
    }
    if (!head_only) out += response.body;
    if (!send_all(fd, out)) return;
  }
}

FakeS3Server::Response FakeS3Server::forward(const Request& request) {
  http::Request out;
  out.method = request.method;
  out.url = "http://" + upstream_ + request.target;
  for (const auto& [name, value] : request.headers) {
    if (name != "content-length" && name != "connection" && name != "user-agent") out.headers.emplace_back(name, value);
  }
  out.body = request.body;
  http::Response in;
  if (!client_->perform(out, &in).is_ok()) return {502, {}, error_xml("BadGateway")};
  Response response{static_cast<int>(in.status), {}, std::move(in.body)};
  for (const auto& [name, value] : in.headers) {
    if (name == "content-length") {
      if (request.method == "HEAD") response.body.assign(std::stoul(value), '\0');  // sets Content-Length only
      continue;
    }
    if (name != "connection" && name != "transfer-encoding" && name != "keep-alive") {
      response.headers.emplace_back(name, value);
    }
  }
  return response;
}

FakeS3Server::Response FakeS3Server::handle(const Request& request) {
  if (!upstream_.empty()) return forward(request);
  // "/bucket" or "/bucket/" is the bucket itself.
  size_t slash = request.path.find('/', 1);
  if (slash == std::string::npos || slash + 1 == request.path.size()) return handle_bucket(request);
  if (has_query(request.query, "uploads") || has_query(request.query, "uploadId")) return handle_multipart(request);
  std::lock_guard lock(mutex_);
  auto it = objects_.find(request.path);
  if (request.method == "PUT") {
    if (request.headers.count("if-none-match") && it != objects_.end()) return {412, {}, error_xml("PreconditionFailed")};
    std::string checksum = request.headers.count("x-amz-meta-hoardfs-md5") ? request.headers.at("x-amz-meta-hoardfs-md5") : "";
    objects_[request.path] = {request.body, checksum};
    return {200, {{"ETag", "\"" + s3::md5_hex(request.body) + "\""}}, ""};
  }
  if (request.method == "DELETE") {
    objects_.erase(request.path);
    return {204, {}, ""};
  }
  if (it == objects_.end()) return {404, {}, request.method == "HEAD" ? "" : error_xml("NoSuchKey")};
  const Object& object = it->second;
  std::vector<std::pair<std::string, std::string>> headers = {{"ETag", "\"" + s3::md5_hex(object.data) + "\""}};
  if (!object.checksum.empty()) headers.emplace_back("x-amz-meta-hoardfs-md5", object.checksum);
  if (request.method == "HEAD") {
    Response r{200, headers, ""};
    r.body = object.data;  // Content-Length is computed from it; HEAD sends no body
    return r;
  }
  if (auto range = request.headers.find("range"); range != request.headers.end()) {
    uint64_t first = 0, last = 0;
    if (std::sscanf(range->second.c_str(), "bytes=%lu-%lu", &first, &last) != 2) return {400, {}, error_xml("InvalidRange")};
    if (first >= object.data.size()) return {416, {}, error_xml("InvalidRange")};
    return {206, headers, object.data.substr(first, last - first + 1)};
  }
  return {200, headers, object.data};
}

FakeS3Server::Response FakeS3Server::handle_bucket(const Request& request) {
  if (request.method == "PUT") return {200, {}, ""};
  if (request.method == "GET" && has_query(request.query, "uploads")) {
    std::lock_guard lock(mutex_);
    std::string body = "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>";
    for (const auto& [id, upload] : uploads_) {
      std::string key = upload.path.substr(request.path.size() + (request.path.ends_with('/') ? 0 : 1));
      body += "<Upload><Key>" + key + "</Key><UploadId>" + id + "</UploadId></Upload>";
    }
    return {200, {}, body + "</ListMultipartUploadsResult>"};
  }
  if (request.method == "GET") {
    return {200, {}, "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"};
  }
  if (request.method == "POST" && has_query(request.query, "delete")) {
    pugi::xml_document doc;
    doc.load_buffer(request.body.data(), request.body.size());
    std::string bucket = request.path.substr(0, request.path.find('/', 1) == std::string::npos
                                                    ? request.path.size()
                                                    : request.path.find('/', 1));
    std::lock_guard lock(mutex_);
    for (pugi::xml_node object : doc.child("Delete").children("Object")) {
      objects_.erase(bucket + "/" + object.child("Key").text().as_string());
    }
    return {200, {}, "<DeleteResult></DeleteResult>"};
  }
  return {405, {}, error_xml("MethodNotAllowed")};
}

FakeS3Server::Response FakeS3Server::handle_multipart(const Request& request) {
  std::lock_guard lock(mutex_);
  if (request.method == "POST" && has_query(request.query, "uploads")) {
    std::string id = "upload-" + std::to_string(next_upload_++);
    std::string checksum = request.headers.count("x-amz-meta-hoardfs-md5") ? request.headers.at("x-amz-meta-hoardfs-md5") : "";
    uploads_[id] = {request.path, checksum, {}};
    return {200, {}, "<InitiateMultipartUploadResult><UploadId>" + id + "</UploadId></InitiateMultipartUploadResult>"};
  }
  std::string id = query_value(request.query, "uploadId");
  auto it = uploads_.find(id);
  if (it == uploads_.end()) return {404, {}, error_xml("NoSuchUpload")};
  if (request.method == "PUT") {
    it->second.parts[std::stoi(query_value(request.query, "partNumber"))] = request.body;
    return {200, {{"ETag", "\"" + s3::md5_hex(request.body) + "\""}}, ""};
  }
  if (request.method == "DELETE") {
    uploads_.erase(it);
    return {204, {}, ""};
  }
  if (request.method == "POST") {
    std::string data;
    for (const auto& [number, part] : it->second.parts) data += part;
    objects_[it->second.path] = {data, it->second.checksum};
    uploads_.erase(it);
    return {200, {}, "<CompleteMultipartUploadResult><ETag>\"x-2\"</ETag></CompleteMultipartUploadResult>"};
  }
  return {405, {}, error_xml("MethodNotAllowed")};
}

}  // namespace hoardfs::testing
