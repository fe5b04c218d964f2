#!/usr/bin/python3
"""The block cache keeps to its size limit and evicted data reads back right.

Mounted with the smallest cache (--cachesize 64M), 192 MiB of random data is
written; after `hoardfs ctrl flushcache` the cache must be within its limit
(in `hoardfs stat` and on disk), and every file must read back with the right
checksum (evicted blocks are fetched again), also after a remount without the
cache directory.
"""

import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import CLI, Checks, Hoard, check_eq, log, require_environment  # noqa: E402

MiB = 1 << 20
CACHE = 64 * MiB
FILES = 8
FILE_SIZE = 24 * MiB


def disk_usage(path):
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


def content(i):
    """File i's bytes, regenerated on demand, one MiB at a time."""
    rng = random.Random(1000 + i)
    for _ in range(FILE_SIZE // MiB):
        yield rng.randbytes(MiB)


def write_files(h, digests):
    for i in range(FILES):
        h256 = hashlib.sha256()
        with open(os.path.join(h.mnt, f"big{i}.bin"), "wb") as f:
            for chunk in content(i):
                h256.update(chunk)
                f.write(chunk)
        digests[i] = h256.hexdigest()


def flush(h):
    r = h.tool([CLI, "ctrl", "flushcache", h.mnt])
    if r.returncode != 0:
        raise AssertionError("hoardfs ctrl flushcache failed: " + r.describe())


def within_limit(h, what):
    stats = h.stat_json()
    used = disk_usage(h.cache)
    log(f"    {what}: cache_bytes {stats['cache_bytes']}, dirty {stats['dirty_bytes']}, "
        f"limit {stats.get('cache_limit_bytes')}, {used} bytes on disk in the cache dir")
    if stats["cache_bytes"] > CACHE:
        raise AssertionError(f"{what}: cache_bytes {stats['cache_bytes']} > limit {CACHE}")
    # Blocks plus the metadata database and its WAL.
    if used > CACHE + 32 * MiB:
        raise AssertionError(f"{what}: the cache directory uses {used} bytes with a "
                             f"{CACHE}-byte limit")


def read_back(h, digests, what):
    for i, digest in digests.items():
        h256 = hashlib.sha256()
        with open(os.path.join(h.mnt, f"big{i}.bin"), "rb") as f:
            while True:
                chunk = f.read(MiB)
                if not chunk:
                    break
                h256.update(chunk)
        check_eq(h256.hexdigest(), digest, f"{what}: sha256 of big{i}.bin")
    # Random reads across files (blocks evicted and fetched again).
    rng = random.Random(3)
    for _ in range(4):
        i = rng.randrange(FILES)
        expected = b"".join(content(i))
        with open(os.path.join(h.mnt, f"big{i}.bin"), "rb") as f:
            for _ in range(10):
                offset = rng.randrange(FILE_SIZE - 100000)
                f.seek(offset)
                if f.read(100000) != expected[offset:offset + 100000]:
                    raise AssertionError(f"{what}: random read of big{i}.bin at {offset}")


def main():
    require_environment()
    checks = Checks("cache")
    digests = {}
    with Hoard("cache") as h:
        if not checks.run("mkfs_and_mount",
                          lambda: (h.mkfs(), h.mount("--cachesize", str(CACHE // MiB) + "M"))):
            checks.finish()
        checks.run("write_three_times_the_cache_size", write_files, h, digests)
        checks.run("flushcache", flush, h)
        checks.run("cache_within_limit_after_writes", within_limit, h, "after writing")
        checks.run("read_back_evicted_data", read_back, h, digests, "mounted")
        checks.run("cache_within_limit_after_reads", within_limit, h, "after reading")
        checks.run("remount_without_cache", h.remount, True)
        checks.run("read_back_after_cache_loss", read_back, h, digests, "after cache loss")
        checks.run("cache_within_limit_after_cache_loss", within_limit, h, "after cache loss")
        checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
