#!/usr/bin/python3
"""`hoardfs stat` on a real mount: deduplication of duplicated files shows as
dedup_bytes < data_bytes, compressible text as compressed_bytes much smaller
than dedup_bytes, and --compress none stores text as it is."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treegen  # noqa: E402
from hoardfs_e2e import CLI, Checks, Hoard, check_eq, log, require_environment  # noqa: E402

MiB = 1 << 20


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def stat_shape(h):
    stats = h.stat_json()
    log(f"    fresh filesystem: {stats}")
    for key in ("data_bytes", "dedup_bytes", "compressed_bytes", "blocks", "dirty_bytes"):
        check_eq(stats[key], 0, f"{key} of an empty filesystem")
    if stats["inodes"] < 1:
        raise AssertionError("an empty filesystem has at least the root inode")
    r = h.tool([CLI, "stat", h.mnt])
    if r.returncode != 0 or not r.stdout.strip():
        raise AssertionError("hoardfs stat (human output) failed: " + r.describe())
    log("    " + r.stdout.strip().replace("\n", "\n    "))


def dedup_and_compression(h):
    m = h.mnt
    rng = random.Random(5)
    random_blob = rng.randbytes(8 * MiB)
    for name in ("a", "b", "c"):
        write(os.path.join(m, f"random-{name}.bin"), random_blob)
    text = treegen.text(rng, 16 * MiB)
    write(os.path.join(m, "text.txt"), text)
    with open(os.path.join(m, "sparse"), "wb") as f:
        f.truncate(100 * MiB)

    h.remount()  # everything uploaded, figures final
    stats = h.stat_json()
    log(f"    after writing 3 x 8 MiB random (same content) + 16 MiB text: {stats}")
    logical = 3 * 8 * MiB + 16 * MiB
    if not logical <= stats["data_bytes"] <= logical + 100 * MiB:
        raise AssertionError(f"data_bytes {stats['data_bytes']} should be the logical size "
                             f"of the files written (>= {logical})")
    distinct = 8 * MiB + 16 * MiB
    if not distinct * 0.9 <= stats["dedup_bytes"] <= distinct * 1.1:
        raise AssertionError(f"dedup_bytes {stats['dedup_bytes']}: three copies of 8 MiB plus "
                             f"16 MiB of text should dedup to about {distinct}")
    if stats["dedup_bytes"] >= stats["data_bytes"]:
        raise AssertionError("dedup_bytes is not smaller than data_bytes")
    # Random data does not shrink; the text shrinks at least 3x.
    if not 8 * MiB <= stats["compressed_bytes"] <= 8 * MiB + 16 * MiB / 3 + MiB:
        raise AssertionError(f"compressed_bytes {stats['compressed_bytes']}: expected 8 MiB of "
                             f"random data plus the text compressed at least 3x")
    if stats["compressed_bytes"] >= stats["dedup_bytes"] * 0.75:
        raise AssertionError("compressed_bytes is not much smaller than dedup_bytes")
    check_eq(stats["dirty_bytes"], 0, "dirty_bytes after a fresh mount")
    if stats["blocks"] < 2:
        raise AssertionError(f"blocks {stats['blocks']} is too small")
    if stats["inodes"] < 6 or stats["entries"] < 5:
        raise AssertionError(f"inodes/entries too small for 5 files: {stats}")
    if stats["metadata_bytes"] <= 0:
        raise AssertionError("metadata_bytes should count the database")
    return stats


def dedup_shown_before_upload(h):
    """A fourth copy written now (dirty, not yet uploaded) adds data_bytes
    but no dedup_bytes once it is flushed."""
    before = h.stat_json()
    with open(os.path.join(h.mnt, "random-a.bin"), "rb") as f:
        blob = f.read()
    write(os.path.join(h.mnt, "random-d.bin"), blob)
    h.remount()
    after = h.stat_json()
    check_eq(after["data_bytes"] - before["data_bytes"], len(blob),
             "data_bytes growth for a fourth copy")
    check_eq(after["dedup_bytes"], before["dedup_bytes"], "dedup_bytes after a fourth copy")
    check_eq(after["compressed_bytes"], before["compressed_bytes"],
             "compressed_bytes after a fourth copy")


def no_compression(h):
    h.umount()
    h.mount("--compress", "none")
    before = h.stat_json()
    text = treegen.text(random.Random(99), 4 * MiB)
    write(os.path.join(h.mnt, "uncompressed.txt"), text)
    h.umount()
    h.mount()  # figures after everything is stored
    after = h.stat_json()
    grown = after["compressed_bytes"] - before["compressed_bytes"]
    log(f"    4 MiB text with --compress none stored as {grown} bytes")
    if grown < 4 * MiB:
        raise AssertionError(f"with --compress none, 4 MiB of text took only {grown} "
                             f"stored bytes")


def main():
    require_environment()
    checks = Checks("stat")
    with Hoard("stat") as h:
        if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
            checks.finish()
        checks.run("stat_of_empty_filesystem", stat_shape, h)
        checks.run("dedup_and_compression", dedup_and_compression, h)
        checks.run("dedup_of_a_later_copy", dedup_shown_before_upload, h)
        checks.run("compress_none", no_compression, h)
        checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
