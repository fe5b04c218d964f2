#!/usr/bin/python3
"""A long sequential read streams (--sequential-cutoff), through a real mount:
read with an empty cache, a 48 MiB file comes back whole while the block
cache keeps only what the read fetched before the cutoff (and its read-ahead);
with --sequential-cutoff 0 the whole file is cached. A file changed after a
streaming read reads back as written."""

import hashlib
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import Checks, Hoard, check_eq, log, require_environment  # noqa: E402

MiB = 1 << 20
FILE_SIZE = 48 * MiB
CUTOFF = 4 * MiB
READ_AHEAD = 16 * MiB  # the mount's default read-ahead (16 blocks of 1 MiB)


def digest(data):
    return hashlib.sha256(data).hexdigest()


def read_sequentially(path):
    parts = []
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            parts.append(chunk)
    return b"".join(parts)


def cold_read(h, cutoff, data):
    """Remounts with an empty cache and --sequential-cutoff `cutoff`, reads
    the file back whole, and returns the bytes the block cache then holds."""
    h.umount()
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)
    h.mount("--sequential-cutoff", cutoff)
    check_eq(digest(read_sequentially(os.path.join(h.mnt, "big"))), digest(data),
             f"the file read back with --sequential-cutoff {cutoff}")
    cached = h.stat_json()["cache_bytes"]
    log(f"    cache after reading {FILE_SIZE // MiB} MiB with --sequential-cutoff {cutoff}: {cached} bytes")
    return cached


def streams_past_the_cutoff(h, data):
    path = os.path.join(h.mnt, "big")
    cached = cold_read(h, "4M", data)
    if cached > CUTOFF + READ_AHEAD + 4 * MiB:
        raise AssertionError(f"the block cache holds {cached} bytes after a streaming read of "
                             f"{FILE_SIZE} bytes: the blocks past the cutoff were cached")
    # Changed after the streaming read: the block's other bytes stay.
    patch = random.Random(2).randbytes(5000)
    at = 40 * MiB + 1000
    with open(path, "r+b") as f:
        f.seek(at)
        f.write(patch)
    data = data[:at] + patch + data[at + len(patch):]
    h.remount()
    check_eq(digest(read_sequentially(path)), digest(data), "the file after a write into its streamed part")
    return data


def cutoff_zero_caches_everything(h, data):
    cached = cold_read(h, "0", data)
    if cached < FILE_SIZE:
        raise AssertionError(f"with --sequential-cutoff 0 the block cache holds {cached} bytes "
                             f"after reading {FILE_SIZE}")


def main():
    require_environment()
    checks = Checks("streaming")
    data = random.Random(1).randbytes(FILE_SIZE)
    state = {"data": data}
    with Hoard("streaming") as h:
        def setup():
            h.mkfs()
            h.mount()
            with open(os.path.join(h.mnt, "big"), "wb") as f:
                f.write(data)
        if not checks.run("mkfs_mount_write", setup):
            checks.finish()
        checks.run("streams_past_the_cutoff",
                   lambda: state.update(data=streams_past_the_cutoff(h, state["data"])))
        checks.run("cutoff_zero_caches_everything", lambda: cutoff_zero_caches_everything(h, state["data"]))
        checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
