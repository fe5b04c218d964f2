// An in-memory Swift proxy with TempAuth and a Keystone v3 token endpoint,
// on FakeHttpServer, for tests of the Swift backend's protocol handling:
// token refusal and renewal, Retry-After, missing containers, bulk versus
// single deletes, listing parameters and URL encoding. Knobs switch its
// behaviours; it records every request ("METHOD target") in order.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "fake_http_server.h"

namespace hoardfs::testing {

class FakeSwift {
 public:
  FakeSwift();

  std::string endpoint() const { return server_.endpoint(); }

  // Knobs.
  std::atomic<bool> info_enabled{true};
  std::atomic<bool> bulk_delete_enabled{true};
  std::atomic<bool> keystone_v3{true};      // false: /v3 is missing, / lists only v2.0
  std::atomic<bool> refuse_all_tokens{false};
  std::atomic<int> unavailable_next{0};     // answer this many storage requests 503 + Retry-After: 1
  std::atomic<int> auth_delay_ms{100};      // widens the window in which renewals could pile up
  std::atomic<int> corrupt_next_gets{0};    // flip a byte of this many GET bodies (ETag unchanged)
  std::atomic<int> etag_mismatches{0};      // PUTs refused with 422
  std::atomic<int> superseded_next_puts{0}; // answer this many object PUTs 202 without storing (a newer
                                            // concurrent PUT won, as Swift's proxy reports it)

  std::atomic<int> auth_calls{0};
  // Makes every token issued so far invalid (like a revocation).
  void revoke_tokens();
  void create_container(const std::string& name);
  bool has_object(const std::string& container, const std::string& name);
  std::vector<std::string> requests();

 private:
  FakeReply handle(const FakeRequest& request);
  FakeReply issue_token();
  FakeReply keystone(const FakeRequest& request);
  FakeReply storage(const FakeRequest& request);
  FakeReply bulk_delete(const FakeRequest& request);
  FakeReply listing(const std::string& container, const FakeRequest& request);
  FakeReply object(const std::string& container, const std::string& name, const FakeRequest& request);

  std::mutex mutex_;
  std::set<std::string> valid_tokens_;                     // guarded by mutex_
  std::set<std::string> containers_;                       // guarded by mutex_
  std::map<std::string, std::map<std::string, std::string>> objects_;  // container → name → data; guarded
  std::vector<std::string> requests_;                      // guarded by mutex_
  int tokens_issued_ = 0;                                  // guarded by mutex_
  FakeHttpServer server_;  // last: stops before the state above goes
};

}  // namespace hoardfs::testing
