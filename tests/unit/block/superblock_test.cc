// Superblock: creation, unlocking, passphrase change, plain mode, revision
// checks and detection of edited fields.
#include "hoardfs/superblock.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace hoardfs {
namespace {

using json = nlohmann::json;

const std::string kPassphrase = "correct horse battery staple";

// The cheapest Argon2id cost libsodium allows keeps these tests fast; one
// test below checks the INTERACTIVE defaults.
FilesystemParams params(bool encrypted = true) {
  FilesystemParams p;
  p.encrypted = encrypted;
  p.block_size = 1 << 20;
  p.kdf = KdfLimits{1, 8 << 20};
  return p;
}

NewFilesystem create(bool encrypted = true) {
  auto created = create_superblock(params(encrypted), kPassphrase);
  EXPECT_TRUE(created.is_ok()) << created.status().to_string();
  return std::move(created).value();
}

void expect_same_keys(const KeyMaterial& a, const KeyMaterial& b) {
  EXPECT_EQ(a.encrypted, b.encrypted);
  EXPECT_EQ(a.data_key, b.data_key);
  EXPECT_EQ(a.block_hash_key, b.block_hash_key);
}

std::string edit(const std::string& bytes, const std::function<void(json&)>& change) {
  json j = json::parse(bytes);
  change(j);
  return j.dump(2);
}

TEST(SuperblockTest, CreateThenUnlock) {
  FilesystemParams defaults;
  auto created = create_superblock(defaults, kPassphrase);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  NewFilesystem& fs = *created;
  EXPECT_TRUE(fs.keys.encrypted);
  EXPECT_NE(fs.keys.data_key, fs.keys.block_hash_key);
  EXPECT_NE(fs.keys.data_key, Key256{});
  auto keys = unlock_superblock(fs.superblock_bytes, kPassphrase);
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  expect_same_keys(*keys, fs.keys);

  auto parsed = parse_superblock(fs.superblock_bytes);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->revision, kFilesystemRevision);
  EXPECT_EQ(parsed->block_size, 1u << 20);
  EXPECT_EQ(parsed->fs_id.size(), 32u);
  EXPECT_EQ(parsed->fs_id, fs.params.fs_id);
  EXPECT_GT(parsed->created_unix, 1600000000);
  EXPECT_EQ(parsed->created_unix, fs.params.created_unix);
  EXPECT_TRUE(parsed->encrypted);
  EXPECT_EQ(parsed->kdf.opslimit, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
  EXPECT_EQ(parsed->kdf.memlimit, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
}

TEST(SuperblockTest, NamesTheBlockHash) {
  NewFilesystem fs = create();
  EXPECT_EQ(kFilesystemRevision, 2u);
  EXPECT_EQ(json::parse(fs.superblock_bytes)["block_hash"], "hmac-sha256");
  EXPECT_EQ(fs.keys.block_hash, BlockHashFunction::kHmacSha256);
  auto keys = unlock_superblock(fs.superblock_bytes, kPassphrase);
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  EXPECT_EQ(keys->block_hash, BlockHashFunction::kHmacSha256);
  EXPECT_EQ(parse_superblock(fs.superblock_bytes)->block_hash, BlockHashFunction::kHmacSha256);

  FilesystemParams p = params();
  p.block_hash = BlockHashFunction::kBlake2b256;
  auto blake = create_superblock(p, kPassphrase);
  ASSERT_TRUE(blake.is_ok()) << blake.status().to_string();
  EXPECT_EQ(json::parse(blake->superblock_bytes)["block_hash"], "blake2b-256");
  keys = unlock_superblock(blake->superblock_bytes, kPassphrase);
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  EXPECT_EQ(keys->block_hash, BlockHashFunction::kBlake2b256);

  // Authenticated like every member: changing it is detected.
  std::string swapped = edit(fs.superblock_bytes, [](json& j) { j["block_hash"] = "blake2b-256"; });
  EXPECT_EQ(unlock_superblock(swapped, kPassphrase).status().code(), Status::Code::kCorruption);
  // Revision 2 must name one this build knows; revision 1 must name none
  // (and is BLAKE2b: tests/e2e/test_block_hash.py reads a real one).
  for (const std::string& bytes :
       {edit(fs.superblock_bytes, [](json& j) { j["block_hash"] = "md5"; }),
        edit(fs.superblock_bytes, [](json& j) { j["block_hash"] = 1; }),
        edit(fs.superblock_bytes, [](json& j) { j.erase("block_hash"); }),
        edit(fs.superblock_bytes, [](json& j) { j["revision"] = 1; })}) {
    EXPECT_EQ(parse_superblock(bytes).status().code(), Status::Code::kCorruption) << bytes;
  }
  auto old = parse_superblock(edit(fs.superblock_bytes, [](json& j) {
    j["revision"] = 1;
    j.erase("block_hash");
  }));
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_EQ(old->block_hash, BlockHashFunction::kBlake2b256);
}

TEST(SuperblockTest, StoredJsonHoldsNoKeyInClear) {
  NewFilesystem fs = create();
  json j = json::parse(fs.superblock_bytes);
  EXPECT_EQ(j["format"], "hoardfs");
  EXPECT_EQ(j["kdf"]["alg"], "argon2id13");
  EXPECT_FALSE(j["master_key"].contains("clear"));
  EXPECT_EQ(j["master_key"]["wrapped"].get<std::string>().size(), 2u * (32 + 16));
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, fs.keys.data_key.data(), 32);
  EXPECT_EQ(fs.superblock_bytes.find(hex), std::string::npos);
}

TEST(SuperblockTest, KeysAreRandomPerFilesystem) {
  NewFilesystem a = create(false);
  NewFilesystem b = create(false);
  EXPECT_NE(a.keys.data_key, b.keys.data_key);
  EXPECT_NE(a.keys.block_hash_key, b.keys.block_hash_key);
  EXPECT_NE(a.params.fs_id, b.params.fs_id);
}

TEST(SuperblockTest, WrongPassphrase) {
  NewFilesystem fs = create();
  for (const std::string& guess : {std::string("wrong"), std::string(), kPassphrase + " "}) {
    auto keys = unlock_superblock(fs.superblock_bytes, guess);
    ASSERT_FALSE(keys.is_ok());
    EXPECT_EQ(keys.status().code(), Status::Code::kWrongPassphrase);
  }
}

TEST(SuperblockTest, EncryptedNeedsPassphraseAndSaneParameters) {
  EXPECT_EQ(create_superblock(params(), "").status().code(), Status::Code::kInvalidArgument);
  FilesystemParams p = params();
  p.block_size = 100;
  EXPECT_EQ(create_superblock(p, kPassphrase).status().code(), Status::Code::kInvalidArgument);
  p = params();
  p.kdf.memlimit = uint64_t{1} << 40;
  EXPECT_EQ(create_superblock(p, kPassphrase).status().code(), Status::Code::kInvalidArgument);
  p = params();
  p.revision = kFilesystemRevision + 1;
  EXPECT_EQ(create_superblock(p, kPassphrase).status().code(), Status::Code::kInvalidArgument);
  p = params();
  p.revision = 1;  // read, never made
  EXPECT_EQ(create_superblock(p, kPassphrase).status().code(), Status::Code::kInvalidArgument);
  p = params();
  p.fs_id = "not hex";
  EXPECT_EQ(create_superblock(p, kPassphrase).status().code(), Status::Code::kInvalidArgument);
}

TEST(SuperblockTest, KeepsGivenIdentityAndTime) {
  FilesystemParams p = params();
  p.fs_id = "00112233445566778899AABBCCDDEEFF";
  p.created_unix = 1234567890;
  p.block_size = 65536;
  p.kdf = KdfLimits{2, 16 << 20};
  auto fs = create_superblock(p, kPassphrase);
  ASSERT_TRUE(fs.is_ok());
  auto parsed = parse_superblock(fs->superblock_bytes);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->fs_id, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(parsed->created_unix, 1234567890);
  EXPECT_EQ(parsed->block_size, 65536u);
  EXPECT_EQ(parsed->kdf.opslimit, 2u);
  EXPECT_EQ(parsed->kdf.memlimit, 16u << 20);
  EXPECT_TRUE(unlock_superblock(fs->superblock_bytes, kPassphrase).is_ok());
}

TEST(SuperblockTest, RewrapKeepsKeysAndParameters) {
  NewFilesystem fs = create();
  auto rewrapped = rewrap_superblock(fs.superblock_bytes, kPassphrase, "new passphrase");
  ASSERT_TRUE(rewrapped.is_ok()) << rewrapped.status().to_string();
  auto keys = unlock_superblock(*rewrapped, "new passphrase");
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  expect_same_keys(*keys, fs.keys);
  EXPECT_EQ(unlock_superblock(*rewrapped, kPassphrase).status().code(),
            Status::Code::kWrongPassphrase);

  // Only the salt, nonce, wrapped key and MAC changed.
  json before = json::parse(fs.superblock_bytes);
  json after = json::parse(*rewrapped);
  EXPECT_NE(before["kdf"]["salt"], after["kdf"]["salt"]);
  EXPECT_NE(before["master_key"]["wrapped"], after["master_key"]["wrapped"]);
  for (json* j : {&before, &after}) {
    (*j)["kdf"].erase("salt");
    j->erase("master_key");
    j->erase("mac");
  }
  EXPECT_EQ(before, after);
}

TEST(SuperblockTest, RewrapCanChangeKdfLimits) {
  NewFilesystem fs = create();
  auto rewrapped = rewrap_superblock(fs.superblock_bytes, kPassphrase, "p2", KdfLimits{3, 32 << 20});
  ASSERT_TRUE(rewrapped.is_ok()) << rewrapped.status().to_string();
  auto parsed = parse_superblock(*rewrapped);
  ASSERT_TRUE(parsed.is_ok());
  EXPECT_EQ(parsed->kdf.opslimit, 3u);
  EXPECT_EQ(parsed->kdf.memlimit, 32u << 20);
  auto keys = unlock_superblock(*rewrapped, "p2");
  ASSERT_TRUE(keys.is_ok());
  expect_same_keys(*keys, fs.keys);
}

TEST(SuperblockTest, RewrapRefusals) {
  NewFilesystem fs = create();
  EXPECT_EQ(rewrap_superblock(fs.superblock_bytes, "wrong", "new").status().code(),
            Status::Code::kWrongPassphrase);
  EXPECT_EQ(rewrap_superblock(fs.superblock_bytes, kPassphrase, "").status().code(),
            Status::Code::kInvalidArgument);
  NewFilesystem plain = create(false);
  EXPECT_EQ(rewrap_superblock(plain.superblock_bytes, "", "new").status().code(),
            Status::Code::kInvalidArgument);
}

TEST(SuperblockTest, PlainFilesystem) {
  NewFilesystem fs = create(false);
  EXPECT_FALSE(fs.keys.encrypted);
  EXPECT_NE(fs.keys.block_hash_key, Key256{});
  json j = json::parse(fs.superblock_bytes);
  EXPECT_FALSE(j.contains("kdf"));
  EXPECT_FALSE(j["encrypted"].get<bool>());
  // The passphrase plays no part.
  for (const std::string& passphrase : {std::string(), std::string("anything")}) {
    auto keys = unlock_superblock(fs.superblock_bytes, passphrase);
    ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
    expect_same_keys(*keys, fs.keys);
  }
  // The documented derivation: crypto_kdf with context "hoardfs_", ids 1 and 2.
  uint8_t master[32];
  ASSERT_EQ(sodium_hex2bin(master, 32, j["master_key"]["clear"].get<std::string>().c_str(), 64,
                           nullptr, nullptr, nullptr),
            0);
  Key256 data{}, hash{};
  crypto_kdf_derive_from_key(data.data(), 32, 1, "hoardfs_", master);
  crypto_kdf_derive_from_key(hash.data(), 32, 2, "hoardfs_", master);
  EXPECT_EQ(fs.keys.data_key, data);
  EXPECT_EQ(fs.keys.block_hash_key, hash);
}

TEST(SuperblockTest, NewerRevisionIsUnsupported) {
  NewFilesystem fs = create();
  std::string newer = edit(fs.superblock_bytes, [](json& j) { j["revision"] = kFilesystemRevision + 1; });
  EXPECT_EQ(parse_superblock(newer).status().code(), Status::Code::kUnsupported);
  EXPECT_EQ(unlock_superblock(newer, kPassphrase).status().code(), Status::Code::kUnsupported);
  // Even when the rest is unknown to this version.
  std::string future = R"({"format": "hoardfs", "revision": 7, "whatever": []})";
  EXPECT_EQ(parse_superblock(future).status().code(), Status::Code::kUnsupported);
  std::string zero = edit(fs.superblock_bytes, [](json& j) { j["revision"] = 0; });
  EXPECT_EQ(parse_superblock(zero).status().code(), Status::Code::kCorruption);
}

TEST(SuperblockTest, MalformedInputIsCorruption) {
  NewFilesystem fs = create();
  for (const std::string& bytes :
       {std::string(), std::string("not json"), std::string("[]"), std::string("{}"),
        std::string(R"({"format": "other", "revision": 1})"),
        std::string(R"({"format": "hoardfs", "revision": "1"})"),
        std::string(R"({"format": "hoardfs", "revision": 1})"),
        std::string(100000, ' ') + fs.superblock_bytes,
        edit(fs.superblock_bytes, [](json& j) { j["block_size"] = -1; }),
        edit(fs.superblock_bytes, [](json& j) { j["block_size"] = 1.5; }),
        edit(fs.superblock_bytes, [](json& j) { j["fs_id"] = "xyz"; }),
        edit(fs.superblock_bytes, [](json& j) { j["kdf"]["alg"] = "scrypt"; }),
        edit(fs.superblock_bytes, [](json& j) { j["kdf"]["memlimit"] = uint64_t{1} << 40; }),
        edit(fs.superblock_bytes, [](json& j) { j["kdf"]["salt"] = "00"; }),
        edit(fs.superblock_bytes, [](json& j) { j.erase("mac"); }),
        edit(fs.superblock_bytes, [](json& j) { j.erase("master_key"); })}) {
    auto parsed = parse_superblock(bytes);
    EXPECT_EQ(parsed.status().code(), Status::Code::kCorruption) << bytes.substr(0, 80);
    EXPECT_EQ(unlock_superblock(bytes, kPassphrase).status().code(), Status::Code::kCorruption);
  }
  // Every truncation (but the trailing newline) is refused before any KDF work.
  std::string compact = json::parse(fs.superblock_bytes).dump();
  for (size_t len = 0; len < compact.size(); ++len) {
    ASSERT_EQ(parse_superblock(compact.substr(0, len)).status().code(),
              Status::Code::kCorruption)
        << len;
  }
}

TEST(SuperblockTest, EditedParametersAreDetected) {
  for (bool encrypted : {true, false}) {
    NewFilesystem fs = create(encrypted);
    const std::vector<std::function<void(json&)>> edits = {
        [](json& j) { j["block_size"] = j["block_size"].get<uint32_t>() * 2; },
        [](json& j) { j["fs_id"] = "00000000000000000000000000000000"; },
        [](json& j) { j["created"] = j["created"].get<int64_t>() + 1; },
        [](json& j) { j["extra"] = "field"; },
        [](json& j) {
          std::string mac = j["mac"];
          mac[0] = mac[0] == '0' ? '1' : '0';
          j["mac"] = mac;
        },
    };
    for (size_t i = 0; i < edits.size(); ++i) {
      std::string edited = edit(fs.superblock_bytes, edits[i]);
      EXPECT_EQ(unlock_superblock(edited, kPassphrase).status().code(), Status::Code::kCorruption)
          << "edit " << i << " encrypted " << encrypted;
    }
    // Turning encryption on or off changes the layout the parser expects.
    std::string flipped = edit(fs.superblock_bytes, [&](json& j) { j["encrypted"] = !encrypted; });
    EXPECT_EQ(unlock_superblock(flipped, kPassphrase).status().code(), Status::Code::kCorruption);
  }
  // Edits to what the passphrase unwraps cannot be told from a wrong passphrase.
  NewFilesystem fs = create();
  auto flip_hex = [](json& field) {
    std::string s = field;
    s[0] = s[0] == '0' ? '1' : '0';
    field = s;
  };
  const std::vector<std::function<void(json&)>> key_edits = {
      [&](json& j) { flip_hex(j["kdf"]["salt"]); },
      [&](json& j) { flip_hex(j["master_key"]["nonce"]); },
      [&](json& j) { flip_hex(j["master_key"]["wrapped"]); },
      [](json& j) { j["kdf"]["opslimit"] = 3; },
  };
  for (size_t i = 0; i < key_edits.size(); ++i) {
    std::string edited = edit(fs.superblock_bytes, key_edits[i]);
    EXPECT_EQ(unlock_superblock(edited, kPassphrase).status().code(),
              Status::Code::kWrongPassphrase)
        << "edit " << i;
  }
}

TEST(SuperblockTest, WhitespaceAndKeyOrderDoNotMatter) {
  NewFilesystem fs = create(false);
  std::string compact = json::parse(fs.superblock_bytes).dump();
  auto keys = unlock_superblock(compact, "");
  ASSERT_TRUE(keys.is_ok()) << keys.status().to_string();
  expect_same_keys(*keys, fs.keys);
}

}  // namespace
}  // namespace hoardfs
