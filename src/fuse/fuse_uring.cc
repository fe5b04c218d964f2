// FUSE over io_uring under a libfuse 3.14 session (see fuse_uring.h).
#include "fuse/fuse_uring.h"

#include <liburing.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "fuse/fuse_operations.h"
#include "fuse/init_reply.h"
#include "hoardfs/log.h"

namespace hoardfs::fuse_internal {
namespace {

// The kernel's FUSE-over-io_uring interface (include/uapi/linux/fuse.h,
// protocol 7.42). Debian 12's headers predate it.
constexpr uint64_t kFuseOverIoUring = 1ULL << 41;  // an INIT flag (flags2 bit 9)
constexpr uint32_t kCmdRegister = 1;               // FUSE_IO_URING_CMD_REGISTER
constexpr uint32_t kCmdCommitAndFetch = 2;         // FUSE_IO_URING_CMD_COMMIT_AND_FETCH

struct RingEntInOut {  // struct fuse_uring_ent_in_out
  uint64_t flags;
  uint64_t commit_id;  // names the request in the commit
  uint32_t payload_sz;
  uint32_t padding;
  uint64_t reserved;
};

struct RingReqHeader {  // struct fuse_uring_req_header
  char in_out[128];     // fuse_in_header in, fuse_out_header out
  char op_in[128];      // the request's first argument (its op header)
  RingEntInOut ring_ent_in_out;
};

struct RingCmdReq {  // struct fuse_uring_cmd_req, in the SQE's command area
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};

constexpr unsigned kQueueDepth = 8;  // entries per CPU
// Room before the payload for the in header and the op header, so that a
// request becomes one contiguous message without copying its payload.
constexpr size_t kHeadRoom = 256;
constexpr uint64_t kWakeTag = 1;  // user_data of the eventfd poll
// Polling after metadata requests, unless -o spin= says otherwise: on
// machines of up to kSpinMaxCpus CPUs, for kSpinDefaultUs (see spin_wait()).
constexpr unsigned kSpinMaxCpus = 4;
constexpr unsigned kSpinDefaultUs = 100;

// Whether a request may wait long on the backend, on other threads or on
// the kernel: those are served by the pool instead of the CPU's ring thread.
// Reads only when they would start a fetch (the read probe, checked in
// handle_request): a block already cached or on its way from the block
// cache's read-ahead is read at once, and sending every read through the pool
// cost more than it saved (2 GiB cold read: 3.5-4.0 s through the pool,
// 3.0-3.1 s on the ring thread).
// Among extended attributes only the control ones (user.hoardfs.*: commands,
// the settled wait) can; cp asks for security.capability before every
// write, which is answered at once.
bool served_by_pool(uint32_t opcode, const char* payload, size_t payload_size) {
  static constexpr std::string_view kControlPrefix = "user.hoardfs.";
  switch (opcode) {
    case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
    case FUSE_FALLOCATE:
    case FUSE_COPY_FILE_RANGE:
      return true;
    case FUSE_SETXATTR:
    case FUSE_GETXATTR:
    case FUSE_REMOVEXATTR:  // the payload starts with the name
      return std::string_view(payload, std::min(payload_size, kControlPrefix.size())) == kControlPrefix;
    default:
      return false;
  }
}

// The kernel keeps one queue per possible CPU (num_possible_cpus()) and uses
// the rings only once every one of them is registered. /sys lists them as
// ranges ("0-3"); get_nprocs_conf() counts the present ones, which may be
// fewer on a machine with CPU hot-plug slots.
unsigned possible_cpus() {
  std::ifstream list("/sys/devices/system/cpu/possible");
  std::string text;
  unsigned highest = 0;
  bool any = false;
  while (std::getline(list, text, ',')) {
    size_t dash = text.find('-');
    std::string last = dash == std::string::npos ? text : text.substr(dash + 1);
    try {
      highest = std::max(highest, static_cast<unsigned>(std::stoul(last)));
      any = true;
    } catch (const std::exception&) {
      return static_cast<unsigned>(get_nprocs_conf());
    }
  }
  return any ? highest + 1 : static_cast<unsigned>(get_nprocs_conf());
}

size_t iov_total(const iovec* iov, int count) {
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

}  // namespace

struct Queue;

struct RingEntry {
  Queue* queue = nullptr;
  RingReqHeader* header = nullptr;
  char* buffer = nullptr;  // kHeadRoom + payload
  char* payload = nullptr;
  size_t payload_capacity = 0;
  iovec iov[2]{};
  uint64_t commit_id = 0;
  uint64_t unique = 0;  // the request's id, while it waits for its reply
  fuse_buf request{};   // the request as /dev/fuse would deliver it, in `buffer`
};

struct Queue {
  unsigned qid = 0;
  io_uring ring{};
  bool ring_ready = false;
  int wake_fd = -1;
  std::vector<RingEntry> entries;
  std::thread thread;
  std::mutex mutex;  // guards `committed`
  std::vector<RingEntry*> committed;
};

namespace {
thread_local Queue* t_ring_queue = nullptr;  // the queue whose ring thread this is
// The entry whose request this thread is processing and has not answered yet.
thread_local RingEntry* t_serving = nullptr;
}  // namespace

struct UringTransport::State {
  fuse_session* session = nullptr;
  int device_fd = -1;
  unsigned pool_size = 4;
  UringTransport::ReadProbe read_probe;  // reads that would fetch go to the pool

  // From the INIT exchange.
  std::atomic<bool> init_seen{false};
  uint64_t init_unique = 0;                // set before kernel_offers
  std::atomic<bool> kernel_offers{false};  // the INIT offered FUSE_OVER_IO_URING

  std::vector<std::unique_ptr<Queue>> queues;
  std::atomic<bool> stopping{false};
  // Polling instead of sleeping after metadata requests (see spin_wait()).
  std::optional<unsigned> spin_us;  // as asked for (unset: by the number of CPUs)
  int64_t spin_window_ns = 0;
  std::atomic<int64_t> last_metadata_ns{0};  // when the latest one arrived, on any queue
  std::mutex start_mutex;  // guards the three below
  std::condition_variable start_cv;
  unsigned started_queues = 0;     // registered or failed
  unsigned registered_queues = 0;
  bool starting = false;        // from the INIT reply until every queue started

  // Requests taken from a ring whose processing ended without a reply, by
  // unique id (see process(); none do so today).
  std::mutex inflight_mutex;
  std::unordered_map<uint64_t, RingEntry*> inflight;

  std::mutex pool_mutex;
  std::condition_variable pool_cv;
  std::deque<RingEntry*> pool_work;
  std::vector<std::thread> pool;

  void start_rings(size_t payload_size);
  void queue_started(bool registered);
  void ring_loop(Queue& queue, size_t payload_size);
  bool spin_wait(Queue& queue);
  bool setup_queue(Queue& queue, size_t payload_size);
  void handle_request(RingEntry& entry);
  void process(RingEntry& entry);
  void pool_loop();
  ssize_t reply(RingEntry& entry, const iovec* iov, int count);
  void commit(RingEntry& entry);
  ssize_t write_init_reply(int fd, const iovec* iov, int count, uint32_t flags_to_add);
};

namespace {

// Fills a free SQE with a FUSE ring command; false when the ring is full,
// which cannot happen: each entry has at most one command in flight and the
// ring holds twice as many SQEs as there are entries.
bool prepare_command(io_uring* ring, int fd, uint32_t command, unsigned qid, uint64_t commit_id,
                     RingEntry* entry) {
  io_uring_sqe* sqe = io_uring_get_sqe(ring);
  if (sqe == nullptr) {
    log::error("fuse: io_uring submission queue full");
    return false;
  }
  std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));  // SQE128: the command area follows
  sqe->opcode = IORING_OP_URING_CMD;
  sqe->fd = fd;
  sqe->cmd_op = command;
  io_uring_sqe_set_data(sqe, entry);
  auto* request = reinterpret_cast<RingCmdReq*>(sqe->cmd);
  request->qid = static_cast<uint16_t>(qid);
  request->commit_id = commit_id;
  if (command == kCmdRegister) {
    sqe->addr = reinterpret_cast<uint64_t>(entry->iov);
    sqe->len = 2;
  }
  return true;
}

// Polls the eventfd through which other threads wake the ring thread.
bool arm_wake(io_uring* ring, int wake_fd) {
  io_uring_sqe* poll = io_uring_get_sqe(ring);
  if (poll == nullptr) return false;
  io_uring_prep_poll_add(poll, wake_fd, POLLIN);
  io_uring_sqe_set_data64(poll, kWakeTag);
  return true;
}

}  // namespace

ssize_t UringTransport::read_device(int fd, void* buf, size_t size, void* userdata) {
  ssize_t n = ::read(fd, buf, size);
  State* state = static_cast<AdapterContext*>(userdata)->uring->state_.get();
  if (n >= static_cast<ssize_t>(sizeof(fuse_in_header) + sizeof(fuse_init_in)) && !state->init_seen.load()) {
    const auto* in = static_cast<const fuse_in_header*>(buf);
    if (in->opcode == FUSE_INIT) {
      fuse_init_in init;
      std::memcpy(&init, static_cast<const char*>(buf) + sizeof(fuse_in_header), sizeof init);
      uint64_t flags = init.flags;
      if (flags & FUSE_INIT_EXT) flags |= static_cast<uint64_t>(init.flags2) << 32;
      state->init_unique = in->unique;
      bool offers = (flags & kFuseOverIoUring) != 0;
      state->kernel_offers = offers;
      state->init_seen = true;
      if (!offers) {
        log::info("fuse: the kernel does not offer io_uring (is fuse.enable_uring=Y?), using /dev/fuse");
      }
    }
  }
  return n;
}

char* UringTransport::reply_buffer(size_t* capacity) {
  if (t_serving == nullptr) return nullptr;
  *capacity = t_serving->payload_capacity;
  return t_serving->payload;
}

ssize_t UringTransport::write_device(int fd, iovec* iov, int count, void* userdata) {
  State* state = static_cast<AdapterContext*>(userdata)->uring->state_.get();
  const auto* out = static_cast<const fuse_out_header*>(iov[0].iov_base);
  // Without the kernel's offer no request comes from a ring: a reply is
  // written as it is, without a look at the in-flight table.
  if (state->kernel_offers && out->unique != 0) {
    RingEntry* entry = nullptr;
    if (t_serving != nullptr && t_serving->unique == out->unique) {
      // The reply of the request this thread is processing (every operation
      // answers before it returns): no table, no lock.
      entry = std::exchange(t_serving, nullptr);
      return state->reply(*entry, iov, count);
    }
    {
      std::lock_guard lock(state->inflight_mutex);
      auto it = state->inflight.find(out->unique);
      if (it != state->inflight.end()) {
        entry = it->second;
        state->inflight.erase(it);
      }
    }
    if (entry != nullptr) return state->reply(*entry, iov, count);
    if (out->unique == state->init_unique) {
      return state->write_init_reply(fd, iov, count, static_cast<AdapterContext*>(userdata)->init_flags_to_add);
    }
  }
  return ::writev(fd, iov, count);
}

ssize_t UringTransport::State::write_init_reply(int fd, const iovec* iov, int count, uint32_t flags_to_add) {
  std::vector<char> message = flatten(iov, count);
  const size_t flags2_end = sizeof(fuse_out_header) + offsetof(fuse_init_out, flags2) + sizeof(uint32_t);
  auto* out = reinterpret_cast<fuse_out_header*>(message.data());
  if (out->error != 0 || message.size() < flags2_end) return ::write(fd, message.data(), message.size());
  fuse_init_out init;
  std::memcpy(&init, message.data() + sizeof(fuse_out_header),
              std::min(sizeof init, message.size() - sizeof(fuse_out_header)));
  init.flags |= FUSE_INIT_EXT | flags_to_add;
  init.flags2 |= static_cast<uint32_t>(kFuseOverIoUring >> 32);
  {
    // Requests may arrive (through /dev/fuse) as soon as the reply is
    // written; active() waits until the queues are registered.
    std::lock_guard lock(start_mutex);
    starting = true;
  }
  std::memcpy(message.data() + sizeof(fuse_out_header), &init,
              std::min(sizeof init, message.size() - sizeof(fuse_out_header)));
  ssize_t n = ::write(fd, message.data(), message.size());
  if (n < 0) {
    int error = errno;
    std::lock_guard lock(start_mutex);
    starting = false;
    start_cv.notify_all();
    errno = error;
    return n;
  }
  // The kernel has applied the reply: the rings may now be registered. The
  // payload buffer must hold the largest request or reply the kernel builds.
  size_t max_pages = (init.flags & FUSE_MAX_PAGES) ? init.max_pages : 32;
  size_t payload = std::max<size_t>({8192, init.max_write, max_pages * 4096});
  start_rings(payload);
  return static_cast<ssize_t>(iov_total(iov, count));
}

void UringTransport::State::start_rings(size_t payload_size) {
  unsigned cpus = possible_cpus();
  spin_window_ns = static_cast<int64_t>(spin_us.value_or(cpus <= kSpinMaxCpus ? kSpinDefaultUs : 0)) * 1000;
  for (unsigned qid = 0; qid < cpus; ++qid) {
    auto queue = std::make_unique<Queue>();
    queue->qid = qid;
    queues.push_back(std::move(queue));
  }
  for (auto& queue : queues) {
    Queue* q = queue.get();
    q->thread = std::thread([this, q, payload_size] { ring_loop(*q, payload_size); });
  }
  for (unsigned i = 0; i < pool_size; ++i) pool.emplace_back([this] { pool_loop(); });
  // Return (and let the mount be used) once every queue is registered, so
  // that what user.hoardfs.transport says holds from the first request on.
  std::unique_lock lock(start_mutex);
  start_cv.wait(lock, [this] { return started_queues == queues.size(); });
  starting = false;
  start_cv.notify_all();
  if (registered_queues == queues.size()) {
    log::info("fuse: requests use io_uring ({} CPUs)", queues.size());
  } else {
    log::warning("fuse: io_uring queues not all registered; requests keep using /dev/fuse");
  }
}

void UringTransport::State::queue_started(bool registered) {
  std::lock_guard lock(start_mutex);
  if (registered) ++registered_queues;
  ++started_queues;
  start_cv.notify_all();
}

bool UringTransport::State::setup_queue(Queue& queue, size_t payload_size) {
  queue.wake_fd = eventfd(0, EFD_CLOEXEC);
  if (queue.wake_fd < 0) return false;
  io_uring_params params{};
  params.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
  params.cq_entries = 4 * (kQueueDepth + 1);
  int rc = io_uring_queue_init_params(2 * (kQueueDepth + 1), &queue.ring, &params);
  if (rc < 0) {
    log::warning("fuse: io_uring setup for CPU {} failed: {}", queue.qid, std::strerror(-rc));
    return false;
  }
  queue.ring_ready = true;
  queue.entries.resize(kQueueDepth);
  for (RingEntry& entry : queue.entries) {
    entry.queue = &queue;
    entry.header = static_cast<RingReqHeader*>(std::aligned_alloc(4096, 4096));
    entry.payload_capacity = payload_size;
    size_t buffer_size = (kHeadRoom + payload_size + 4095) / 4096 * 4096;
    entry.buffer = static_cast<char*>(std::aligned_alloc(4096, buffer_size));
    if (entry.header == nullptr || entry.buffer == nullptr) return false;
    entry.payload = entry.buffer + kHeadRoom;
    entry.iov[0] = {entry.header, sizeof(RingReqHeader)};
    entry.iov[1] = {entry.payload, payload_size};
    if (!prepare_command(&queue.ring, device_fd, kCmdRegister, queue.qid, 0, &entry)) return false;
  }
  return arm_wake(&queue.ring, queue.wake_fd);
}

void UringTransport::State::ring_loop(Queue& queue, size_t payload_size) {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(queue.qid, &cpus);
  if (sched_setaffinity(0, sizeof cpus, &cpus) != 0) {
    log::debug("fuse: ring thread of CPU {} runs unpinned: {}", queue.qid, std::strerror(errno));
  }
  t_ring_queue = &queue;
  if (!setup_queue(queue, payload_size)) {
    log::warning("fuse: io_uring queue of CPU {} not set up", queue.qid);
    queue_started(false);
    return;
  }
  int submitted = io_uring_submit(&queue.ring);
  if (submitted < 0) {
    log::warning("fuse: registering the io_uring queue of CPU {} failed: {}", queue.qid, std::strerror(-submitted));
    queue_started(false);
    return;
  }
  // A refused registration completes at once, with the error.
  io_uring_cqe* refused = nullptr;
  if (io_uring_peek_cqe(&queue.ring, &refused) == 0 && refused->res < 0) {
    log::warning("fuse: the kernel refused the io_uring queue of CPU {}: {}", queue.qid, std::strerror(-refused->res));
    queue_started(false);
    return;
  }
  queue_started(true);
  std::vector<RingEntry*> arrived;
  while (!stopping.load()) {
    {
      std::lock_guard lock(queue.mutex);
      for (RingEntry* entry : queue.committed) {
        // An entry that never carried a request (its registration was
        // interrupted) registers again; the others answer and fetch.
        uint32_t command = entry->commit_id == 0 ? kCmdRegister : kCmdCommitAndFetch;
        prepare_command(&queue.ring, device_fd, command, queue.qid, entry->commit_id, entry);
      }
      queue.committed.clear();
    }
    int rc = spin_wait(queue) ? 0 : io_uring_submit_and_wait(&queue.ring, 1);
    if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) {
      log::error("fuse: io_uring of CPU {} failed: {}", queue.qid, std::strerror(-rc));
      return;
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    arrived.clear();
    io_uring_for_each_cqe(&queue.ring, head, cqe) {
      ++seen;
      if (io_uring_cqe_get_data64(cqe) == kWakeTag) {
        uint64_t value = 0;
        if (::read(queue.wake_fd, &value, sizeof value) < 0) { /* nothing to clear */ }
        arm_wake(&queue.ring, queue.wake_fd);
        continue;
      }
      auto* entry = static_cast<RingEntry*>(io_uring_cqe_get_data(cqe));
      if (cqe->res == 0) {
        arrived.push_back(entry);
      } else if (cqe->res == -EINTR || cqe->res == -EAGAIN) {
        std::lock_guard lock(queue.mutex);
        queue.committed.push_back(entry);  // asks again (a fetch with the same id)
      } else if (cqe->res != -ENOTCONN && !stopping.load()) {
        log::warning("fuse: ring entry of CPU {} ended: {}", queue.qid, std::strerror(-cqe->res));
      }
    }
    io_uring_cq_advance(&queue.ring, seen);
    for (RingEntry* entry : arrived) handle_request(*entry);
  }
}

namespace {
int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

// Instead of sleeping in io_uring_enter: while a metadata request arrived on
// any queue within the spin window, sends the pending commits and polls the
// completion queue, yielding the CPU between looks. Why (measured on a
// 2-vCPU VM whose idle CPUs halt): a reply wakes its caller while the ring
// thread still runs, so the scheduler puts the caller on the other CPU if
// that one is idle, and pays an IPI and a halt exit (25-50 us) for it; rsync
// --link-dest's generator moved twice per file. A polling CPU is not idle,
// so the caller stays where it was. sched_yield() lets any runnable task
// have the CPU. Returns true when completions are ready (or the loop must
// look at `stopping`), false to wait in the kernel as usual.
bool UringTransport::State::spin_wait(Queue& queue) {
  if (spin_window_ns <= 0 || now_ns() - last_metadata_ns.load(std::memory_order_relaxed) >= spin_window_ns) {
    return false;
  }
  int rc = io_uring_submit(&queue.ring);  // the commits go out (and wake their callers) now
  if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) return false;
  while (io_uring_cq_ready(&queue.ring) == 0) {
    if (stopping.load(std::memory_order_relaxed) ||
        now_ns() - last_metadata_ns.load(std::memory_order_relaxed) >= spin_window_ns) {
      return io_uring_cq_ready(&queue.ring) != 0;
    }
    sched_yield();
  }
  return true;
}

void UringTransport::State::handle_request(RingEntry& entry) {
  const auto* in = reinterpret_cast<const fuse_in_header*>(entry.header->in_out);
  const RingEntInOut& ent = entry.header->ring_ent_in_out;
  entry.commit_id = ent.commit_id;
  size_t fixed = sizeof(fuse_in_header) + ent.payload_sz;
  if (in->len < fixed || in->len - fixed > sizeof entry.header->op_in || ent.payload_sz > entry.payload_capacity) {
    log::error("fuse: malformed ring request (opcode {}, length {})", in->opcode, in->len);
    fuse_out_header out{sizeof(fuse_out_header), -EIO, in->unique};
    iovec iov{&out, sizeof out};
    reply(entry, &iov, 1);
    return;
  }
  size_t op_size = in->len - fixed;
  char* message = entry.payload - sizeof(fuse_in_header) - op_size;
  std::memcpy(message, in, sizeof(fuse_in_header));
  std::memcpy(message + sizeof(fuse_in_header), entry.header->op_in, op_size);
  entry.request = fuse_buf{};
  entry.request.mem = message;
  entry.request.size = in->len;
  entry.unique = in->unique;
  if (spin_window_ns > 0 && in->opcode != FUSE_READ && in->opcode != FUSE_WRITE) {
    last_metadata_ns.store(now_ns(), std::memory_order_relaxed);
  }
  bool to_pool = served_by_pool(in->opcode, entry.payload, ent.payload_sz);
  if (in->opcode == FUSE_READ && read_probe && op_size >= sizeof(fuse_read_in)) {
    const auto* read_in = reinterpret_cast<const fuse_read_in*>(entry.header->op_in);
    to_pool = read_probe(in->nodeid, read_in->offset, read_in->size);
  }
  if (to_pool) {
    {
      std::lock_guard lock(pool_mutex);
      pool_work.push_back(&entry);
    }
    pool_cv.notify_one();
    return;
  }
  process(entry);
}

// The reply normally comes from this thread, inside fuse_session_process_buf()
// (write_device() finds it through t_serving). Should an operation ever keep
// its request to answer later from another thread, the entry goes into the
// in-flight table when processing ends, where write_device() looks next.
void UringTransport::State::process(RingEntry& entry) {
  RingEntry* outer = std::exchange(t_serving, &entry);
  fuse_session_process_buf(session, &entry.request);
  if (t_serving == &entry) {
    std::lock_guard lock(inflight_mutex);
    inflight[entry.unique] = &entry;
  }
  t_serving = outer;
}

void UringTransport::State::pool_loop() {
  for (;;) {
    RingEntry* entry = nullptr;
    {
      std::unique_lock lock(pool_mutex);
      pool_cv.wait(lock, [this] { return stopping.load() || !pool_work.empty(); });
      if (pool_work.empty()) return;
      entry = pool_work.front();
      pool_work.pop_front();
    }
    process(*entry);
  }
}

ssize_t UringTransport::State::reply(RingEntry& entry, const iovec* iov, int count) {
  fuse_out_header out;
  std::memcpy(&out, iov[0].iov_base, sizeof out);
  size_t total = iov_total(iov, count) - sizeof out;
  if (total > entry.payload_capacity) {
    log::error("fuse: a {}-byte reply does not fit the ring buffer", total);
    out.error = -EIO;
    total = 0;
  } else {
    size_t at = 0;
    for (int i = 0; i < count; ++i) {
      const char* base = static_cast<const char*>(iov[i].iov_base);
      size_t skip = i == 0 ? sizeof out : 0;
      // Data put in place through reply_buffer() stays where it is.
      if (base + skip != entry.payload + at) std::memcpy(entry.payload + at, base + skip, iov[i].iov_len - skip);
      at += iov[i].iov_len - skip;
    }
  }
  out.len = static_cast<uint32_t>(sizeof out + total);
  std::memcpy(entry.header->in_out, &out, sizeof out);
  entry.header->ring_ent_in_out.payload_sz = static_cast<uint32_t>(total);
  commit(entry);
  return static_cast<ssize_t>(sizeof out + total);
}

void UringTransport::State::commit(RingEntry& entry) {
  Queue& queue = *entry.queue;
  bool on_ring_thread = t_ring_queue == &queue;
  {
    std::lock_guard lock(queue.mutex);
    queue.committed.push_back(&entry);
  }
  if (!on_ring_thread) {
    uint64_t one = 1;
    if (::write(queue.wake_fd, &one, sizeof one) < 0) log::error("fuse: cannot wake ring thread {}", queue.qid);
  }
}

void UringTransport::set_read_probe(ReadProbe probe) { state_->read_probe = std::move(probe); }

UringTransport::UringTransport(unsigned pool_threads, std::optional<unsigned> spin_us)
    : state_(std::make_unique<State>()) {
  state_->pool_size = pool_threads == 0 ? 1 : pool_threads;
  state_->spin_us = spin_us;
}

UringTransport::~UringTransport() { stop(); }

bool UringTransport::attach(fuse_session* session) {
  state_->session = session;
  state_->device_fd = fuse_session_fd(session);
  fuse_custom_io io{};
  io.read = read_device;
  io.writev = write_device;
  if (fuse_session_custom_io(session, &io, state_->device_fd) != 0) {
    log::warning("fuse: libfuse refused custom device I/O; using /dev/fuse");
    return false;
  }
  return true;
}

bool UringTransport::active() const {
  std::unique_lock lock(state_->start_mutex);
  state_->start_cv.wait(lock, [this] { return !state_->starting; });
  return !state_->queues.empty() && state_->registered_queues == state_->queues.size();
}

void UringTransport::stop() {
  State& s = *state_;
  if (s.stopping.exchange(true)) return;
  s.pool_cv.notify_all();
  for (std::thread& thread : s.pool) thread.join();
  s.pool.clear();
  for (auto& queue : s.queues) {
    if (queue->wake_fd >= 0) {
      uint64_t one = 1;
      if (::write(queue->wake_fd, &one, sizeof one) < 0) { /* the thread also ends with the ring */ }
    }
    if (queue->thread.joinable()) queue->thread.join();
    if (queue->ring_ready) io_uring_queue_exit(&queue->ring);
    if (queue->wake_fd >= 0) ::close(queue->wake_fd);
    for (RingEntry& entry : queue->entries) {
      std::free(entry.header);
      std::free(entry.buffer);
    }
  }
  s.queues.clear();
}

bool UringTransport::kernel_allows() {
  std::ifstream parameter("/sys/module/fuse/parameters/enable_uring");
  char value = 'N';
  return parameter >> value && (value == 'Y' || value == '1');
}

}  // namespace hoardfs::fuse_internal
