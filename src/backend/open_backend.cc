// open_backend(): storage URL → backend stack.
//
// The scheme picks the family; remote families (S3, Swift) come from their
// factories (backend_factories.h) and are wrapped in a RetryingBackend, since
// networks fail transiently and local disks do not. Two groups of options are
// handled here for every scheme and removed before the factories see them:
//   retry-time=SECONDS        total retry budget per call (default 300)
//   fault-errors=P, fault-lost-acks=P, fault-partial=P, fault-latency-ms=N|A-B,
//   fault-seed=N, fault-writes-only
//                             fault injection (FaultInjectingBackend), so that
//                             tests can stress a real mount; when present the
//                             stack is Retrying(FaultInjecting(backend)).
#include <charconv>
#include <chrono>

#include "backend/local/local_backend.h"
#include "backend/memory/memory_backend.h"
#include "hoardfs/backend.h"
#include "hoardfs/backend_factories.h"
#include "hoardfs/backend_wrappers.h"

namespace hoardfs {
namespace {

bool parse_number(const std::string& text, double* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool parse_unsigned(const std::string& text, uint64_t* out) {
  if (text.empty()) return false;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

Status bad_option(const std::string& name, const std::string& value, const char* expected) {
  return Status::invalid_argument("backend option " + name + "='" + value + "': expected " + expected);
}

// Options that open_backend() itself understands, taken out of the rest.
struct GenericOptions {
  RetryOptions retry;
  bool inject_faults = false;
  FaultOptions faults;
  BackendOptions rest;  // for the backend family
};

Result<GenericOptions> split_options(const BackendOptions& options) {
  GenericOptions g;
  for (const auto& [name, value] : options.values) {
    double number = 0;
    uint64_t whole = 0;
    if (name == "retry-time") {
      if (!parse_number(value, &number) || number < 0) return bad_option(name, value, "seconds >= 0");
      g.retry.max_total = std::chrono::milliseconds(static_cast<int64_t>(number * 1000));
    } else if (name == "fault-errors" || name == "fault-lost-acks" || name == "fault-partial") {
      if (!parse_number(value, &number) || number < 0 || number > 1) {
        return bad_option(name, value, "a probability between 0 and 1");
      }
      (name == "fault-errors"      ? g.faults.error_probability
       : name == "fault-lost-acks" ? g.faults.lost_ack_probability
                                   : g.faults.partial_write_probability) = number;
      g.inject_faults = true;
    } else if (name == "fault-latency-ms") {
      size_t dash = value.find('-');
      uint64_t low = 0, high = 0;
      if (!parse_unsigned(value.substr(0, dash), &low) ||
          !parse_unsigned(dash == std::string::npos ? value : value.substr(dash + 1), &high) || high < low) {
        return bad_option(name, value, "milliseconds N or a range A-B");
      }
      g.faults.min_latency = std::chrono::milliseconds(low);
      g.faults.max_latency = std::chrono::milliseconds(high);
      g.inject_faults = true;
    } else if (name == "fault-seed") {
      if (!parse_unsigned(value, &whole)) return bad_option(name, value, "an unsigned integer");
      g.faults.seed = whole;
    } else if (name == "fault-writes-only") {
      g.faults.faults_on_reads = false;
    } else {
      g.rest.values.emplace_back(name, value);
    }
  }
  return g;
}

Status reject_options(const BackendOptions& rest, const std::string& family) {
  if (rest.values.empty()) return Status::ok();
  return Status::invalid_argument("the " + family + " backend has no option '" + rest.values.front().first +
                                  "'");
}

}  // namespace

Result<std::unique_ptr<Backend>> open_backend(const std::string& url, const BackendOptions& options,
                                              const Credentials& credentials) {
  size_t sep = url.find("://");
  if (sep == std::string::npos || sep == 0) {
    return Status::invalid_argument("malformed storage URL '" + url +
                                    "': expected SCHEME://..., e.g. local:///srv/backup or s3://REGION/BUCKET");
  }
  const std::string scheme = url.substr(0, sep);
  const std::string rest = url.substr(sep + 3);
  auto generic = split_options(options);
  if (!generic) return generic.status();

  std::unique_ptr<Backend> backend;
  bool remote = false;
  if (scheme == "local") {
    HOARDFS_RETURN_IF_ERROR(reject_options(generic->rest, "local"));
    if (rest.empty() || rest[0] != '/') {
      return Status::invalid_argument("local storage URL needs an absolute path, as in local:///srv/backup (got '" +
                                      url + "')");
    }
    auto local = LocalBackend::open(rest);
    if (!local) return local.status();
    backend = std::move(local).value();
  } else if (scheme == "memory") {
    HOARDFS_RETURN_IF_ERROR(reject_options(generic->rest, "memory"));
    if (rest.empty()) return Status::invalid_argument("memory storage URL needs a name: memory://NAME");
    backend = MemoryBackend::named(rest);
  } else if (scheme == "s3" || scheme == "s3c") {
    auto s3 = open_s3_backend(url, generic->rest, credentials);
    if (!s3) return s3.status();
    backend = std::move(s3).value();
    remote = true;
  } else if (scheme == "swift" || scheme == "swiftks") {
    auto swift = open_swift_backend(url, generic->rest, credentials);
    if (!swift) return swift.status();
    backend = std::move(swift).value();
    remote = true;
  } else {
    return Status::invalid_argument("unknown storage URL scheme '" + scheme +
                                    "://' (expected local://, s3://, s3c://, swift:// or swiftks://)");
  }

  if (generic->inject_faults) {
    backend = std::make_unique<FaultInjectingBackend>(std::move(backend), generic->faults);
  }
  // Injected faults are transient by design, so they get retried like a
  // network's would: the point is to exercise the same path.
  if (remote || generic->inject_faults) {
    backend = std::make_unique<RetryingBackend>(std::move(backend), generic->retry);
  }
  return backend;
}

Status create_storage(const std::string& url, const BackendOptions& options, const Credentials& credentials,
                      bool* created) {
  *created = false;
  const std::string scheme = url.substr(0, url.find("://"));
  auto generic = split_options(options);
  if (!generic) return generic.status();
  if (scheme == "s3" || scheme == "s3c") {
    return create_s3_bucket(url, generic->rest, credentials, created);
  }
  if (scheme == "swift" || scheme == "swiftks") {
    return create_swift_container(url, generic->rest, credentials, created);
  }
  return Status::ok();  // local:// and memory:// need nothing; open_backend() judges the URL
}

}  // namespace hoardfs
