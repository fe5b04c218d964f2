// Pack compaction (hoardfs ctrl compact; doc/format.md, "Pack compaction").
//
// A pack stays in the backend until its last block is freed, so a pack of
// small files keeps the bytes of the ones deleted since. compact() finds the
// packs at least half of whose bytes no block uses, and rewrites what is
// still used: it fetches and decodes each, checks every live block against
// its hash, concatenates them (several sparse packs into one new pack of at
// most a block size), uploads that, and then, in one transaction, points
// each block that still lives at its old place to the new one. Blocks freed
// meanwhile are simply not moved; a block deduplicated meanwhile moves with
// its new references. The old packs are retired: the metadata versions kept
// in the backend still name them (hoardfs adm restore-metadata may bring one
// back), so they become garbage only once the uploads since have pushed
// every such version out.
//
// The database work runs in short steps under mu_, so the filesystem stays
// usable while the packs are fetched, encoded and uploaded without it.
#include <fmt/core.h>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fs/filesystem_impl.h"
#include "hoardfs/object_names.h"

namespace hoardfs {
namespace {

// Objects examined per step under the lock.
constexpr int64_t kScanStep = 4096;
// A new pack holds at most a block size of data, as many blocks as the
// write-back puts in one (256), and the blocks of at most 64 old packs (so
// that an unmount never waits for more than that many fetches).
constexpr uint64_t kMaxPackBlocks = 256;
constexpr size_t kMaxPacksPerRewrite = 64;

struct SparsePack {
  int64_t object = 0;
  uint64_t live_bytes = 0;
  uint64_t live_blocks = 0;
};

struct LiveBlock {
  uint64_t id = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  BlockHash hash{};
};

// A live block going from its pack to offset `to_offset` of the new one.
struct Move {
  LiveBlock block;
  int64_t from_object = 0;
  uint64_t to_offset = 0;
};

// An old pack whose live blocks a rewrite takes: its id and name when read
// (ids are reused once freed; the name never is).
struct Source {
  int64_t object = 0;
  std::string name;
};

}  // namespace

Status FilesystemImpl::compact(CompactReport* report) {
  std::lock_guard running(compact_mu_);
  if (read_only_) return Status::from_errno(EROFS, "compaction: the filesystem is read-only");
  // 1. The sparse packs: live bytes at most half of the pack's decoded size
  // (for packs from before the packs table, of its span up to its last live block).
  std::vector<SparsePack> sparse;
  try {
    int64_t after = 0;
    for (bool more = true; more;) {
      std::lock_guard lock(mu_);
      struct Span {
        int64_t object;
        uint64_t live, end, blocks;
      };
      std::vector<Span> spans;
      auto& st = q("SELECT object, SUM(obj_length), MAX(obj_offset + obj_length), COUNT(*) FROM blocks "
                   "WHERE object > ? GROUP BY object ORDER BY object LIMIT ?")
                     .bind(after, kScanStep);
      while (st.step()) {
        spans.push_back({st.int64(0), static_cast<uint64_t>(st.int64(1)), static_cast<uint64_t>(st.int64(2)),
                         static_cast<uint64_t>(st.int64(3))});
      }
      st.reset();
      more = spans.size() == static_cast<size_t>(kScanStep);
      if (spans.empty()) break;
      std::unordered_map<int64_t, uint64_t> plain_sizes;
      auto& packs = q("SELECT object, plain_size FROM packs WHERE object > ? AND object <= ?")
                        .bind(after, spans.back().object);
      while (packs.step()) plain_sizes[packs.int64(0)] = static_cast<uint64_t>(packs.int64(1));
      packs.reset();
      after = spans.back().object;
      for (const Span& span : spans) {
        uint64_t plain = span.end;
        if (auto known = plain_sizes.find(span.object); known != plain_sizes.end()) {
          plain = std::max(plain, known->second);
        }
        if (span.live * 2 <= plain) sparse.push_back({span.object, span.live, span.blocks});
      }
    }
  } catch (const std::exception& e) {
    return Status::io_error(std::string("compaction: finding sparse packs: ") + e.what());
  }

  // 2. Rewrite them, a new pack's worth at a time.
  for (size_t next = 0; next < sparse.size();) {
    std::vector<int64_t> group;
    uint64_t bytes = 0, blocks = 0;
    while (next < sparse.size() &&
           (group.empty() || (bytes + sparse[next].live_bytes <= block_size_ &&
                              blocks + sparse[next].live_blocks <= kMaxPackBlocks &&
                              group.size() < kMaxPacksPerRewrite))) {
      bytes += sparse[next].live_bytes;
      blocks += sparse[next].live_blocks;
      group.push_back(sparse[next++].object);
    }
    HOARDFS_RETURN_IF_ERROR(rewrite_packs(group, report));
  }
  if (report->packs_rewritten > 0 || report->damaged > 0) {
    log::info("compaction: {} sparse pack(s) of {} bytes rewritten as {} of {} bytes ({} blocks moved); "
              "{} damaged pack(s) left alone",
              report->packs_rewritten, report->stored_before, report->packs_written, report->stored_after,
              report->blocks_moved, report->damaged);
  }
  return Status::ok();
}

Status FilesystemImpl::rewrite_packs(const std::vector<int64_t>& objects, CompactReport* report) {
  std::string plaintext;
  std::vector<Move> moves;
  std::vector<Source> sources;  // the packs whose live blocks are all in `plaintext`
  uint64_t stored_before = 0;
  // Whether `object` is still the object read as `name` (mu_ held): a freed
  // one may have left its id to a new object, never its name.
  auto recorded_as = [this](int64_t object, const std::string& name) {
    auto& obj = q("SELECT name FROM objects WHERE id = ?").bind(object);
    const bool same = obj.step() && obj.text(0) == name;
    obj.reset();
    return same;
  };
  for (int64_t object : objects) {
    if (shut_down_) return Status::io_error("compaction: stopped by the unmount");
    std::string name;
    uint64_t stored_size = 0;
    std::vector<LiveBlock> live;
    try {
      std::lock_guard lock(mu_);
      auto& obj = q("SELECT name, stored_size FROM objects WHERE id = ?").bind(object);
      if (obj.step()) {
        name = obj.text(0);
        stored_size = static_cast<uint64_t>(obj.int64(1));
      }
      obj.reset();
      auto& st = q("SELECT id, obj_offset, obj_length, hash FROM blocks WHERE object = ? ORDER BY obj_offset")
                     .bind(object);
      while (st.step()) {
        live.push_back({static_cast<uint64_t>(st.int64(0)), static_cast<uint64_t>(st.int64(1)),
                        static_cast<uint64_t>(st.int64(2)), hash_from_blob(st.blob(3))});
      }
      st.reset();
    } catch (const std::exception& e) {
      return Status::io_error(std::string("compaction: reading the blocks of a pack: ") + e.what());
    }
    if (name.empty() || live.empty()) continue;  // freed meanwhile

    std::string raw, decoded;
    Status got = backend_.get(name, &raw);
    if (got.is_ok()) got = codec_.decode(name, raw, &decoded);
    for (const LiveBlock& b : live) {
      if (!got.is_ok()) break;
      if (b.offset + b.length > decoded.size()) {
        got = Status::corruption(fmt::format("block {} lies past the end of the pack", b.id));
      } else if (hash_block(keys_, std::string_view(decoded).substr(b.offset, b.length)) != b.hash) {
        got = Status::corruption(fmt::format("block {} does not match its hash", b.id));
      }
    }
    if (!got.is_ok()) {
      if (got.code() != Status::Code::kCorruption && !got.is_not_found()) {
        return got.with_context("compaction: fetching pack " + name);
      }
      try {
        std::lock_guard lock(mu_);
        if (got.is_not_found() && !recorded_as(object, name)) continue;  // freed (and deleted) meanwhile
      } catch (const std::exception& e) {
        return Status::io_error(std::string("compaction: ") + e.what());
      }
      log::warning("compaction: pack {} left as it is: {}", name, got.to_string());
      report->damaged++;
      continue;
    }
    for (const LiveBlock& b : live) {
      moves.push_back({b, object, plaintext.size()});
      plaintext.append(decoded, b.offset, b.length);
    }
    sources.push_back({object, name});
    stored_before += stored_size;
  }
  if (moves.empty()) return Status::ok();

  const std::string name = object_names::new_data_object();
  const std::string stored = codec_.encode(name, plaintext);
  if (Status put = backend_.put(name, stored); !put.is_ok()) {
    backend_write_failed(put);
    return put.with_context("compaction: uploading a new pack");
  }
  uint64_t rewritten = 0;
  try {
    std::lock_guard lock(mu_);
    sql::Transaction txn(db_);
    // A pack freed meanwhile may have left its id to a new object: only the
    // blocks of packs still recorded under the name read are moved.
    std::set<int64_t> current;
    for (const Source& source : sources) {
      if (recorded_as(source.object, source.name)) current.insert(source.object);
    }
    q("INSERT INTO objects(name, stored_size, refcount) VALUES (?, ?, 0)").bind(name, stored.size()).run();
    const int64_t new_object = db_.last_insert_rowid();
    record_pack(new_object, plaintext.size());
    int64_t moved = 0;
    for (const Move& m : moves) {
      if (!current.contains(m.from_object)) continue;
      // Only the block still where it was read, with the bytes checked: one
      // freed meanwhile is not moved (nor one that took its id).
      q("UPDATE blocks SET object = ?, obj_offset = ? WHERE id = ? AND object = ? AND obj_offset = ? AND hash = ?")
          .bind(new_object, m.to_offset, m.block.id, m.from_object, m.block.offset, hash_blob(m.block.hash))
          .run();
      if (db_.changes() == 0) continue;
      ++moved;
      q("UPDATE objects SET refcount = refcount - 1 WHERE id = ?").bind(m.from_object).run();
    }
    q("UPDATE objects SET refcount = ? WHERE id = ?").bind(moved, new_object).run();
    for (int64_t object : current) drop_object_if_unused(object, /*retire=*/true);
    drop_object_if_unused(new_object);  // when every block was freed meanwhile
    txn.commit();
    commit_batch();
    report->blocks_moved += static_cast<uint64_t>(moved);
    rewritten = current.size();
  } catch (const std::exception& e) {
    // Nothing moved; the new pack is an object nothing records, which the
    // next fsck deletes.
    return Status::io_error(std::string("compaction: recording the new pack: ") + e.what());
  }
  report->packs_rewritten += rewritten;
  report->packs_written++;
  report->stored_before += stored_before;
  report->stored_after += stored.size();
  return Status::ok();
}

}  // namespace hoardfs
