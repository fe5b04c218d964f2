// Superblock: filesystem parameters and the wrapped master key, as JSON
// (see include/hoardfs/superblock.h and doc/format.md, "Superblock").
//
// Key hierarchy: a random 256-bit master key; data_key, block_hash_key and
// the superblock MAC key are derived from it with crypto_kdf (context
// "hoardfs_", one subkey id each). The passphrase never touches data: it only
// derives (Argon2id) the key that wraps the master key (crypto_secretbox), so
// changing it rewrites nothing but the superblock.
//
// The MAC is keyed BLAKE2b-256 over a domain string followed by the compact
// JSON serialisation (sorted keys) of every member except "mac" itself.
#include "hoardfs/superblock.h"

#include <fmt/core.h>
#include <sodium.h>

#include <ctime>
#include <stdexcept>
#include <nlohmann/json.hpp>

#include "block/sodium_support.h"

namespace hoardfs {
namespace {

using block_internal::ensure_sodium;
using block_internal::from_hex;
using block_internal::SecretKey;
using block_internal::to_hex;
using json = nlohmann::json;

constexpr char kFormatName[] = "hoardfs";
constexpr char kKdfAlgorithm[] = "argon2id13";
constexpr char kKdfContext[crypto_kdf_CONTEXTBYTES + 1] = "hoardfs_";
constexpr uint64_t kDataKeyId = 1;
constexpr uint64_t kBlockHashKeyId = 2;
constexpr uint64_t kSuperblockMacKeyId = 3;
constexpr char kMacDomain[] = "hoardfs superblock mac v1\n";
constexpr size_t kMacBytes = 32;
constexpr size_t kFsIdBytes = 16;
constexpr uint64_t kMaxKdfOpslimit = 64;
constexpr size_t kWrappedKeyBytes = sizeof(Key256) + crypto_secretbox_MACBYTES;

static_assert(sizeof(Key256) == crypto_kdf_KEYBYTES);
static_assert(sizeof(Key256) == crypto_secretbox_KEYBYTES);
static_assert(KdfLimits{}.opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(KdfLimits{}.memlimit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

Status corrupt(const std::string& why) {
  return Status::corruption("superblock is damaged or not a hoardfs superblock: " + why);
}

Status check_limits(const KdfLimits& limits) {
  if (limits.opslimit < crypto_pwhash_argon2id_OPSLIMIT_MIN || limits.opslimit > kMaxKdfOpslimit ||
      limits.memlimit < crypto_pwhash_argon2id_MEMLIMIT_MIN || limits.memlimit > kMaxKdfMemlimit) {
    return Status::invalid_argument(
        fmt::format("Argon2id limits out of range (opslimit {}..{}, memlimit {}..{} bytes)",
                    crypto_pwhash_argon2id_OPSLIMIT_MIN, kMaxKdfOpslimit,
                    crypto_pwhash_argon2id_MEMLIMIT_MIN, kMaxKdfMemlimit));
  }
  return Status::ok();
}

// Everything read from the stored JSON, checked for shape but not yet
// authenticated.
struct Document {
  json root;
  FilesystemParams params;
  uint8_t salt[crypto_pwhash_SALTBYTES] = {};
  uint8_t nonce[crypto_secretbox_NONCEBYTES] = {};
  uint8_t wrapped[kWrappedKeyBytes] = {};
  SecretKey clear_master;  // plain filesystems only
  uint8_t mac[kMacBytes] = {};
};

const json& member(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) {
    throw std::runtime_error(fmt::format("missing \"{}\"", key));
  }
  return object.at(key);
}

uint64_t unsigned_member(const json& object, const char* key) {
  const json& v = member(object, key);
  if (!v.is_number_unsigned()) throw std::runtime_error(fmt::format("\"{}\" is not a count", key));
  return v.get<uint64_t>();
}

void hex_member(const json& object, const char* key, uint8_t* out, size_t size) {
  const json& v = member(object, key);
  if (!v.is_string() || !from_hex(v.get_ref<const std::string&>(), out, size)) {
    throw std::runtime_error(fmt::format("\"{}\" is not {} hex bytes", key, size));
  }
}

// Fills everything after the revision check; throws on a malformed field.
void read_fields(Document& doc) {
  const json& root = doc.root;
  FilesystemParams& p = doc.params;
  if (p.revision == 1) {
    if (root.contains("block_hash")) throw std::runtime_error("a revision 1 filesystem names no block hash");
    p.block_hash = BlockHashFunction::kBlake2b256;
  } else {
    const json& name = member(root, "block_hash");
    auto function = name.is_string() ? block_hash_from_name(name.get_ref<const std::string&>()) : std::nullopt;
    if (!function) throw std::runtime_error("unknown \"block_hash\"");
    p.block_hash = *function;
  }
  uint64_t block_size = unsigned_member(root, "block_size");
  if (block_size < kMinBlockSize || block_size > kMaxBlockSize) {
    throw std::runtime_error(fmt::format("block_size {} out of range", block_size));
  }
  p.block_size = static_cast<uint32_t>(block_size);
  uint8_t fs_id[kFsIdBytes];
  hex_member(root, "fs_id", fs_id, sizeof fs_id);
  p.fs_id = to_hex(fs_id, sizeof fs_id);
  const json& created = member(root, "created");
  if (!created.is_number_integer()) throw std::runtime_error("\"created\" is not an integer");
  p.created_unix = created.get<int64_t>();
  const json& encrypted = member(root, "encrypted");
  if (!encrypted.is_boolean()) throw std::runtime_error("\"encrypted\" is not a boolean");
  p.encrypted = encrypted.get<bool>();
  const json& master = member(root, "master_key");
  if (p.encrypted) {
    const json& kdf = member(root, "kdf");
    if (member(kdf, "alg") != kKdfAlgorithm) throw std::runtime_error("unknown KDF");
    hex_member(kdf, "salt", doc.salt, sizeof doc.salt);
    p.kdf.opslimit = unsigned_member(kdf, "opslimit");
    p.kdf.memlimit = unsigned_member(kdf, "memlimit");
    if (!check_limits(p.kdf)) throw std::runtime_error("KDF limits out of range");
    hex_member(master, "nonce", doc.nonce, sizeof doc.nonce);
    hex_member(master, "wrapped", doc.wrapped, sizeof doc.wrapped);
  } else {
    if (root.contains("kdf")) throw std::runtime_error("a plain filesystem has no KDF");
    hex_member(master, "clear", doc.clear_master.data(), sizeof(Key256));
  }
  hex_member(root, "mac", doc.mac, sizeof doc.mac);
}

Status parse_document(std::string_view bytes, Document* doc) {
  if (bytes.size() > kMaxSuperblockBytes) return corrupt(fmt::format("{} bytes", bytes.size()));
  doc->root = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc->root.is_discarded()) return corrupt("not valid JSON");
  try {
    const json& root = doc->root;
    if (!root.is_object() || !root.contains("format") || root.at("format") != kFormatName) {
      return corrupt("no \"format\": \"hoardfs\"");
    }
    uint64_t revision = unsigned_member(root, "revision");
    if (revision > kFilesystemRevision) {
      return Status::unsupported(fmt::format(
          "the filesystem has revision {}, but this hoardfs supports only up to revision {}; "
          "upgrade hoardfs",
          revision, kFilesystemRevision));
    }
    if (revision == 0) return corrupt("revision 0");
    doc->params.revision = static_cast<uint32_t>(revision);
    read_fields(*doc);
  } catch (const std::exception& e) {
    return corrupt(e.what());
  }
  return Status::ok();
}

void derive_subkey(const SecretKey& master, uint64_t id, uint8_t* out) {
  crypto_kdf_derive_from_key(out, sizeof(Key256), id, kKdfContext, master.data());
}

KeyMaterial derive_keys(const SecretKey& master, const FilesystemParams& params) {
  KeyMaterial keys;
  keys.encrypted = params.encrypted;
  keys.block_hash = params.block_hash;
  derive_subkey(master, kDataKeyId, keys.data_key.data());
  derive_subkey(master, kBlockHashKeyId, keys.block_hash_key.data());
  return keys;
}

// MAC over every member except "mac".
void compute_mac(const SecretKey& master, const json& root, uint8_t* mac) {
  json covered = root;
  covered.erase("mac");
  std::string message = std::string(kMacDomain) + covered.dump();
  SecretKey mac_key;
  derive_subkey(master, kSuperblockMacKeyId, mac_key.data());
  crypto_generichash(mac, kMacBytes, reinterpret_cast<const uint8_t*>(message.data()),
                     message.size(), mac_key.data(), sizeof(Key256));
}

void seal(const SecretKey& master, json& root) {
  uint8_t mac[kMacBytes];
  compute_mac(master, root, mac);
  root["mac"] = to_hex(mac, sizeof mac);
}

Status derive_wrapping_key(const std::string& passphrase, const uint8_t* salt,
                           const KdfLimits& limits, SecretKey* kek) {
  if (crypto_pwhash(kek->data(), sizeof(Key256), passphrase.data(), passphrase.size(), salt,
                    limits.opslimit, static_cast<size_t>(limits.memlimit),
                    crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::io_error(fmt::format(
        "Argon2id key derivation failed (not enough memory for {} MiB?)", limits.memlimit >> 20));
  }
  return Status::ok();
}

// Wraps `master` under `passphrase` with a fresh salt and nonce and stores
// the result in root["kdf"] and root["master_key"].
Status wrap_master_key(const SecretKey& master, const std::string& passphrase,
                       const KdfLimits& limits, json& root) {
  uint8_t salt[crypto_pwhash_SALTBYTES];
  uint8_t nonce[crypto_secretbox_NONCEBYTES];
  uint8_t wrapped[kWrappedKeyBytes];
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  SecretKey kek;
  HOARDFS_RETURN_IF_ERROR(derive_wrapping_key(passphrase, salt, limits, &kek));
  crypto_secretbox_easy(wrapped, master.data(), sizeof(Key256), nonce, kek.data());
  root["kdf"] = {{"alg", kKdfAlgorithm},
                 {"salt", to_hex(salt, sizeof salt)},
                 {"opslimit", limits.opslimit},
                 {"memlimit", limits.memlimit}};
  root["master_key"] = {{"nonce", to_hex(nonce, sizeof nonce)},
                        {"wrapped", to_hex(wrapped, sizeof wrapped)}};
  return Status::ok();
}

// Recovers the master key and checks the MAC.
Status open_master_key(const Document& doc, const std::string& passphrase, SecretKey* master) {
  if (doc.params.encrypted) {
    SecretKey kek;
    HOARDFS_RETURN_IF_ERROR(derive_wrapping_key(passphrase, doc.salt, doc.params.kdf, &kek));
    if (crypto_secretbox_open_easy(master->data(), doc.wrapped, sizeof doc.wrapped, doc.nonce,
                                   kek.data()) != 0) {
      return Status::wrong_passphrase("wrong passphrase");
    }
  } else {
    master->bytes = doc.clear_master.bytes;
  }
  uint8_t mac[kMacBytes];
  compute_mac(*master, doc.root, mac);
  if (sodium_memcmp(mac, doc.mac, sizeof mac) != 0) {
    return corrupt("its parameters do not match their MAC (modified?)");
  }
  return Status::ok();
}

std::string serialise(const json& root) { return root.dump(2) + "\n"; }

}  // namespace

const char* block_hash_name(BlockHashFunction function) {
  return function == BlockHashFunction::kHmacSha256 ? "hmac-sha256" : "blake2b-256";
}

std::optional<BlockHashFunction> block_hash_from_name(std::string_view name) {
  for (auto function : {BlockHashFunction::kHmacSha256, BlockHashFunction::kBlake2b256}) {
    if (name == block_hash_name(function)) return function;
  }
  return std::nullopt;
}

Result<NewFilesystem> create_superblock(const FilesystemParams& params,
                                        const std::string& passphrase) {
  ensure_sodium();
  if (params.revision != kFilesystemRevision) {
    return Status::invalid_argument(
        fmt::format("cannot create a filesystem of revision {}", params.revision));
  }
  if (params.block_size < kMinBlockSize || params.block_size > kMaxBlockSize) {
    return Status::invalid_argument(fmt::format("block size must be between {} and {} bytes",
                                                kMinBlockSize, kMaxBlockSize));
  }
  if (params.encrypted) {
    if (passphrase.empty()) return Status::invalid_argument("the passphrase must not be empty");
    HOARDFS_RETURN_IF_ERROR(check_limits(params.kdf));
  }
  NewFilesystem result;
  result.params = params;
  FilesystemParams& p = result.params;
  if (p.fs_id.empty()) {
    uint8_t id[kFsIdBytes];
    randombytes_buf(id, sizeof id);
    p.fs_id = to_hex(id, sizeof id);
  } else {
    uint8_t id[kFsIdBytes];
    if (!from_hex(p.fs_id, id, sizeof id)) {
      return Status::invalid_argument("fs_id must be 32 hex characters");
    }
    p.fs_id = to_hex(id, sizeof id);  // lower case, as stored
  }
  if (p.created_unix == 0) p.created_unix = static_cast<int64_t>(std::time(nullptr));
  if (!p.encrypted) p.kdf = KdfLimits{};

  SecretKey master;
  crypto_kdf_keygen(master.data());
  json root = {{"format", kFormatName},
               {"revision", p.revision},
               {"block_size", p.block_size},
               {"fs_id", p.fs_id},
               {"created", p.created_unix},
               {"encrypted", p.encrypted},
               {"block_hash", block_hash_name(p.block_hash)}};
  if (p.encrypted) {
    HOARDFS_RETURN_IF_ERROR(wrap_master_key(master, passphrase, p.kdf, root));
  } else {
    // Nothing to protect: the key only makes block hashes per-filesystem.
    root["master_key"] = {{"clear", to_hex(master.data(), sizeof(Key256))}};
  }
  seal(master, root);
  result.superblock_bytes = serialise(root);
  result.keys = derive_keys(master, p);
  return result;
}

Result<FilesystemParams> parse_superblock(std::string_view bytes) {
  ensure_sodium();
  Document doc;
  HOARDFS_RETURN_IF_ERROR(parse_document(bytes, &doc));
  return doc.params;
}

Result<KeyMaterial> unlock_superblock(std::string_view bytes, const std::string& passphrase) {
  ensure_sodium();
  Document doc;
  HOARDFS_RETURN_IF_ERROR(parse_document(bytes, &doc));
  SecretKey master;
  HOARDFS_RETURN_IF_ERROR(open_master_key(doc, passphrase, &master));
  return derive_keys(master, doc.params);
}

Result<std::string> rewrap_superblock(std::string_view bytes, const std::string& old_passphrase,
                                      const std::string& new_passphrase) {
  Document doc;
  HOARDFS_RETURN_IF_ERROR(parse_document(bytes, &doc));
  return rewrap_superblock(bytes, old_passphrase, new_passphrase, doc.params.kdf);
}

Result<std::string> rewrap_superblock(std::string_view bytes, const std::string& old_passphrase,
                                      const std::string& new_passphrase,
                                      const KdfLimits& limits) {
  ensure_sodium();
  Document doc;
  HOARDFS_RETURN_IF_ERROR(parse_document(bytes, &doc));
  if (!doc.params.encrypted) {
    return Status::invalid_argument("the filesystem is not encrypted; it has no passphrase");
  }
  if (new_passphrase.empty()) return Status::invalid_argument("the passphrase must not be empty");
  HOARDFS_RETURN_IF_ERROR(check_limits(limits));
  SecretKey master;
  HOARDFS_RETURN_IF_ERROR(open_master_key(doc, old_passphrase, &master));
  json root = doc.root;
  HOARDFS_RETURN_IF_ERROR(wrap_master_key(master, new_passphrase, limits, root));
  seal(master, root);
  return serialise(root);
}

}  // namespace hoardfs
