// The Backend contract against MemoryBackend, directly and through the
// wrappers with faults off (a wrapper must not bend the contract).
#include "backend/memory/memory_backend.h"
#include "backend_contract.h"
#include "hoardfs/backend_wrappers.h"
#include "hoardfs/log.h"

namespace {

using hoardfs::Backend;
using hoardfs::MemoryBackend;

// The faulty instance retries thousands of times; one warning each is noise here.
const bool quiet_retries = (hoardfs::log::set_level(hoardfs::log::Level::kError), true);

HOARDFS_INSTANTIATE_BACKEND_CONTRACT(Memory, [] { return std::unique_ptr<Backend>(new MemoryBackend()); });

HOARDFS_INSTANTIATE_BACKEND_CONTRACT(RetryingFaultFreeMemory, [] {
  auto faults = std::make_unique<hoardfs::FaultInjectingBackend>(std::make_unique<MemoryBackend>());
  return std::unique_ptr<Backend>(new hoardfs::RetryingBackend(std::move(faults)));
});

// Transient faults below a retrying layer must be invisible above it. Only
// writes get faults that can take effect twice (lost acks), since that is
// what the retry layer has to make idempotent.
HOARDFS_INSTANTIATE_BACKEND_CONTRACT(RetryingFaultyMemory, [] {
  hoardfs::FaultOptions faults;
  faults.error_probability = 0.1;
  faults.lost_ack_probability = 0.05;
  faults.partial_write_probability = 0.05;
  hoardfs::RetryOptions retry;
  retry.initial_delay = std::chrono::milliseconds(0);
  retry.max_delay = std::chrono::milliseconds(1);
  auto inner = std::make_unique<hoardfs::FaultInjectingBackend>(std::make_unique<MemoryBackend>(), faults);
  return std::unique_ptr<Backend>(new hoardfs::RetryingBackend(std::move(inner), retry));
});

}  // namespace
