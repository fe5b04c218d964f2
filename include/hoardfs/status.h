// Status and Result: errors are values, never exceptions across layers.
//
// A Status carries a category (what kind of failure), an errno that the
// filesystem layer can hand to the kernel, a retryable flag that the retry
// wrapper honours, and a human-readable one-line message.
#pragma once

#include <cerrno>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hoardfs {

class Status {
 public:
  enum class Code {
    kOk,
    kNotFound,         // the object/entry does not exist
    kAlreadyExists,    // a conditional create found the key present
    kInvalidArgument,  // bad input from the user or a caller
    kIoError,          // local or remote I/O failed
    kCorruption,       // data failed authentication / integrity checks
    kAuthFailed,       // the backend refused our credentials
    kPermissionDenied, // the backend refused the operation
    kWrongPassphrase,  // the master key could not be unwrapped
    kUnsupported,      // format revision or feature not supported
    kNoSpace,          // local disk or backend is full
  };

  Status() = default;
  static Status ok() { return Status(); }
  static Status not_found(std::string msg) { return {Code::kNotFound, ENOENT, false, std::move(msg)}; }
  static Status already_exists(std::string msg) { return {Code::kAlreadyExists, EEXIST, false, std::move(msg)}; }
  static Status invalid_argument(std::string msg) { return {Code::kInvalidArgument, EINVAL, false, std::move(msg)}; }
  static Status io_error(std::string msg, int err = EIO, bool retryable = false) {
    return {Code::kIoError, err, retryable, std::move(msg)};
  }
  // A failure that may succeed when repeated (timeouts, 5xx, throttling).
  static Status transient(std::string msg) { return {Code::kIoError, EIO, true, std::move(msg)}; }
  static Status corruption(std::string msg) { return {Code::kCorruption, EIO, false, std::move(msg)}; }
  static Status auth_failed(std::string msg) { return {Code::kAuthFailed, EACCES, false, std::move(msg)}; }
  static Status permission_denied(std::string msg) { return {Code::kPermissionDenied, EACCES, false, std::move(msg)}; }
  static Status wrong_passphrase(std::string msg) { return {Code::kWrongPassphrase, EACCES, false, std::move(msg)}; }
  static Status unsupported(std::string msg) { return {Code::kUnsupported, ENOTSUP, false, std::move(msg)}; }
  static Status no_space(std::string msg) { return {Code::kNoSpace, ENOSPC, false, std::move(msg)}; }
  // From a failed system call: keeps errno, marks nothing retryable.
  static Status from_errno(int err, std::string what);

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  bool is_not_found() const { return code_ == Code::kNotFound; }
  bool retryable() const { return retryable_; }
  Code code() const { return code_; }
  int error_number() const { return errno_; }
  const std::string& message() const { return message_; }
  // "not found: data/ab/123" style, for logs and one-line errors.
  std::string to_string() const;
  // Prefixes the message with context ("reading superblock: ...").
  Status with_context(const std::string& context) const;

 private:
  Status(Code code, int err, bool retryable, std::string msg)
      : code_(code), errno_(err), retryable_(retryable), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  bool retryable_ = false;
  std::string message_;
};

// A value or a non-ok Status.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)
  bool is_ok() const { return value_.has_value(); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace hoardfs

// Returns early from the enclosing function when `expr` is not ok.
#define HOARDFS_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::hoardfs::Status status_macro_ = (expr);  \
    if (!status_macro_.is_ok()) return status_macro_; \
  } while (0)
