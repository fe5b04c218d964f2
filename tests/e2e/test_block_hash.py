#!/usr/bin/python3
"""Block identities across format revisions, on real mounts.

fixtures/revision1-storage is a filesystem that hoardfs made before revision
2 (mkfs --blocksize 64K, passphrase "revision 1 fixture"; the files below,
written through a mount): its blocks are named by keyed BLAKE2b-256, and its
superblock names no block hash. This build must
1. read every file of it, the small ones from their pack (whose members are
   checked against their names) with an empty cache;
2. keep naming new blocks the old way there: another copy of a file already
   stored adds no stored bytes (a mount that named them by HMAC-SHA-256 would
   store the copy again), and hoardfs verify --data finds every object
   matching its name;
3. leave the filesystem at revision 1 (hoardfs adm upgrade says so), while
   mkfs makes revision 2 with "block_hash": "hmac-sha256", or "blake2b-256"
   with --block-hash blake2b-256, where copies are deduplicated just the
   same; an unknown --block-hash is a usage error (exit 2) that creates
   nothing.
"""

import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, Checks, Hoard, check_eq, log, read_bytes, require_environment,  # noqa: E402
                         write_bytes)

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "revision1-storage")
FIXTURE_PASSPHRASE = "revision 1 fixture"
KiB = 1024


def fixture_files():
    """What the fixture's files hold (made the same way as when it was written)."""
    rng = random.Random(1)
    blob = rng.randbytes(150 * KiB)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon"]
    files = {"hello.txt": b"revision 1 fixture\n", "random.bin": blob, "dir/copy.bin": blob,
             "dir/text.txt": b" ".join(rng.choice(words) for _ in range(4000))}
    for i in range(3):
        files[f"dir/small{i}"] = bytes([65 + i]) * (100 + i)
    return files


def superblock(h):
    with open(os.path.join(h.storage, "hoardfs.superblock")) as f:
        return json.load(f)


def cli(h, *args):
    return h.tool([CLI, *args], stdin_text=h.passphrase + "\n")


def expect_ok(r, what):
    if r.returncode != 0:
        raise AssertionError(f"{what} failed: " + r.describe())
    return r


def reads_revision1(h):
    sb = superblock(h)
    check_eq(sb["revision"], 1, "the fixture's revision")
    if "block_hash" in sb:
        raise AssertionError("a revision 1 superblock names no block hash")
    h.mount()
    for name, data in fixture_files().items():
        check_eq(read_bytes(os.path.join(h.mnt, name)) == data, True, f"content of {name}")
    check_eq(os.readlink(os.path.join(h.mnt, "link")), "random.bin", "the symlink")


def copies_dedup(h, what):
    """A third copy of random.bin, and a new file twice: the copies store nothing."""
    before = h.stat_json()
    blob = read_bytes(os.path.join(h.mnt, "random.bin"))
    write_bytes(os.path.join(h.mnt, "third-copy.bin"), blob)
    fresh = random.Random(2).randbytes(100 * KiB)
    write_bytes(os.path.join(h.mnt, "new-a.bin"), fresh)
    write_bytes(os.path.join(h.mnt, "new-b.bin"), fresh)
    write_bytes(os.path.join(h.mnt, "new-small"), b"packed with others\n")
    h.remount(drop_cache=True)  # uploaded; and what follows reads from the backend
    after = h.stat_json()
    log(f"    {what}: before {before}, after {after}")
    grown = after["dedup_bytes"] - before["dedup_bytes"]
    # Only the new 100 KiB and the small file are new data.
    if not 100 * KiB <= grown <= 100 * KiB + 4 * KiB:
        raise AssertionError(f"{what}: dedup_bytes grew by {grown} bytes; a copy of stored data "
                             f"and a file written twice should add only about {100 * KiB}")
    for name in ("third-copy.bin", "random.bin"):
        check_eq(read_bytes(os.path.join(h.mnt, name)) == blob, True, f"content of {name} after the copy")
    check_eq(read_bytes(os.path.join(h.mnt, "new-b.bin")) == fresh, True, "content of new-b.bin")
    check_eq(read_bytes(os.path.join(h.mnt, "new-small")), b"packed with others\n", "content of new-small")


def verify_data(h):
    r = cli(h, "verify", "--restart", "--data", "--cachedir", h.cache, h.url)
    expect_ok(r, "hoardfs verify --data")


def still_revision1(h):
    h.umount()
    check_eq(superblock(h)["revision"], 1, "the revision after writing to it")
    r = expect_ok(cli(h, "adm", "upgrade", h.url), "hoardfs adm upgrade")
    if "revision 1" not in r.stdout or "BLAKE2b" not in r.stdout:
        raise AssertionError(f"adm upgrade should say the filesystem stays at revision 1: {r.stdout!r}")
    h.mount()
    for name, data in fixture_files().items():
        check_eq(read_bytes(os.path.join(h.mnt, name)) == data, True, f"content of {name} at the end")
    h.umount()


def new_filesystem(h, *mkfs_args, block_hash="hmac-sha256"):
    h.mkfs(*mkfs_args)
    sb = superblock(h)
    check_eq(sb["revision"], 2, "the revision mkfs makes")
    check_eq(sb["block_hash"], block_hash, f"the block hash of mkfs {' '.join(mkfs_args)}")
    h.mount()
    write_bytes(os.path.join(h.mnt, "random.bin"), random.Random(1).randbytes(150 * KiB))
    h.remount()


def unknown_block_hash(h):
    r = h.mkfs("--block-hash", "md5", check=False)
    check_eq(r.returncode, 2, "exit status of mkfs --block-hash md5")
    if "--block-hash" not in r.stderr:
        raise AssertionError(f"the error should name the option: {r.stderr!r}")
    check_eq(os.listdir(h.storage), [], "what mkfs --block-hash md5 left in the storage")


def main():
    require_environment()
    checks = Checks("block hash")
    with Hoard("rev1", passphrase=FIXTURE_PASSPHRASE) as h:
        os.rmdir(h.storage)
        shutil.copytree(FIXTURE, h.storage)
        if checks.run("reads_a_revision_1_filesystem", reads_revision1, h):
            checks.run("copies_dedup_on_revision_1", copies_dedup, h, "revision 1")
            checks.run("verify_data_on_revision_1", verify_data, h)
            checks.run("stays_at_revision_1", still_revision1, h)
    with Hoard("rev2") as h:
        if checks.run("mkfs_makes_revision_2", new_filesystem, h):
            checks.run("copies_dedup_on_revision_2", copies_dedup, h, "revision 2")
            checks.run("verify_data_on_revision_2", verify_data, h)
            checks.run("final_umount", h.umount)
    with Hoard("blake") as h:
        checks.run("unknown_block_hash_is_refused", unknown_block_hash, h)
        if checks.run("mkfs_block_hash_blake2b", new_filesystem, h, "--block-hash", "blake2b-256",
                      block_hash="blake2b-256"):
            checks.run("copies_dedup_with_blake2b", copies_dedup, h, "revision 2, blake2b-256")
            checks.run("verify_data_with_blake2b", verify_data, h)
            checks.run("final_umount_blake2b", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
