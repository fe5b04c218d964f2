#include "hoardfs/status.h"

#include <cstring>

namespace hoardfs {

Status Status::from_errno(int err, std::string what) {
  Code code = Code::kIoError;
  if (err == ENOENT) code = Code::kNotFound;
  if (err == EEXIST) code = Code::kAlreadyExists;
  if (err == EACCES || err == EPERM) code = Code::kPermissionDenied;
  if (err == ENOSPC || err == EDQUOT) code = Code::kNoSpace;
  return Status(code, err, false, what + ": " + std::strerror(err));
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return message_;
}

Status Status::with_context(const std::string& context) const {
  if (is_ok()) return *this;
  Status s = *this;
  s.message_ = context + ": " + message_;
  return s;
}

}  // namespace hoardfs
