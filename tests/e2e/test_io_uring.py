#!/usr/bin/python3
"""mount -o io_uring: requests travel through the kernel's per-CPU io_uring
queues when the kernel allows it (fuse.enable_uring=Y), and through /dev/fuse
otherwise, with the same results. user.hoardfs.transport on the root says
which. The tree written through the rings must read back the same from an
empty cache (so it reached the backend), with hard links, symlinks, extended
attributes (served by the pool threads), large reads and writes (1 MiB
requests, the ring buffer size) and renames. Reads that must wait for the
backend are served by the pool too: four of them from one CPU, on a backend
slowed to 1 s per request, overlap instead of queueing behind each other.

SKIP when the kernel has no FUSE over io_uring (before Linux 6.14). The
kernel switch is put back as it was."""

import os
import random
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (URING_SWITCH, Checks, Hoard, assert_same_tree, check_eq, log,  # noqa: E402
                         require_environment, skip, snapshot)

MiB = 1 << 20


def set_switch(value):
    with open(URING_SWITCH, "w") as f:
        f.write(value + "\n")


def transport(h):
    return os.getxattr(h.mnt, "user.hoardfs.transport").decode()


def build_tree(root, rng):
    """A tree touching most request types; returns nothing, compare with snapshot()."""
    for d in range(8):
        sub = os.path.join(root, f"dir{d}", "inner")
        os.makedirs(sub)
        for i in range(150):
            path = os.path.join(sub, f"f{i}")
            with open(path, "wb") as f:
                f.write(rng.randbytes(rng.randint(0, 70000)))
            if i % 10 == 0:
                os.link(path, os.path.join(root, f"dir{d}", f"link{i}"))
            if i % 15 == 0:
                os.symlink(f"inner/f{i}", os.path.join(root, f"dir{d}", f"sym{i}"))
            if i % 20 == 0:
                os.setxattr(path, "user.note", f"file {d}/{i}".encode())
            if i % 25 == 0:
                os.rename(path, path + ".renamed")
            if i % 30 == 0:
                os.chmod(path + ("" if i % 25 else ".renamed"), 0o640)
    big = os.path.join(root, "big.bin")
    data = rng.randbytes(9 * MiB + 12345)  # several full-size write and read requests
    with open(big, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    with open(big, "rb") as f:
        check_eq(f.read(), data, "a 9 MiB file read back through the rings")
    for d in range(0, 8, 3):  # removals
        os.unlink(os.path.join(root, f"dir{d}", "inner", "f1"))
    os.mkdir(os.path.join(root, "empty"))
    os.rmdir(os.path.join(root, "empty"))


def copy_mtimes(source, target):
    for dirpath, dirnames, filenames in os.walk(source, topdown=False):
        for name in filenames + dirnames + [""]:
            path = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(path)
            os.utime(os.path.join(target, os.path.relpath(path, source)), ns=(st.st_atime_ns, st.st_mtime_ns),
                     follow_symlinks=False)


def falls_back_when_the_kernel_says_no(h):
    set_switch("N")
    h.mount("-o", "io_uring")
    check_eq(transport(h), "/dev/fuse", "transport with -o io_uring and fuse.enable_uring=N")
    with open(os.path.join(h.mnt, "fallback.txt"), "w") as f:
        f.write("through /dev/fuse\n")
    h.umount()


def plain_mount_ignores_the_switch(h):
    set_switch("Y")
    h.mount_args = []  # no -o io_uring (mount() keeps the last options otherwise)
    h.mount()
    check_eq(transport(h), "/dev/fuse", "transport without -o io_uring")
    h.umount()


def tree_through_the_rings(h, expected_dir):
    set_switch("Y")
    h.mount("-o", "io_uring")
    check_eq(transport(h), "io_uring", "transport with -o io_uring and fuse.enable_uring=Y")
    build_tree(os.path.join(h.mnt, "tree"), random.Random(7))
    build_tree(expected_dir, random.Random(7))
    # The reference tree is built a moment later: compare all but mtimes, then
    # keep the mount's mtimes as the reference for the remount.
    assert_same_tree(snapshot(expected_dir), snapshot(os.path.join(h.mnt, "tree")), "tree on the rings",
                     ignore=("mtime_ns",))
    copy_mtimes(os.path.join(h.mnt, "tree"), expected_dir)
    with open(os.path.join(h.mnt, "fallback.txt")) as f:
        check_eq(f.read(), "through /dev/fuse\n", "a file written through /dev/fuse")
    h.umount()


def same_tree_from_an_empty_cache(h, expected_dir):
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)
    h.mount("-o", "io_uring")
    check_eq(transport(h), "io_uring", "transport after the remount")
    assert_same_tree(snapshot(expected_dir), snapshot(os.path.join(h.mnt, "tree")),
                     "tree read back from the backend through the rings")
    h.umount()


def slow_fetches_leave_the_queue_free(h):
    """Four readers on one CPU, each reading a file whose block must come from
    a backend that takes 1 s per request: the fetches wait in the pool side by
    side, not one after another on that CPU's ring thread (4 s and more)."""
    latency_s = 1.0
    rng = random.Random(11)
    contents = {f"slow{i}": rng.randbytes(600 * 1024) for i in range(4)}  # one unpacked block each
    set_switch("Y")
    h.mount("-o", "io_uring")
    for name, data in contents.items():
        with open(os.path.join(h.mnt, name), "wb") as f:
            f.write(data)
    h.umount()
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)
    h.mount("-o", "io_uring", "--backend-options", f"fault-latency-ms={int(latency_s * 1000)}")
    check_eq(transport(h), "io_uring", "transport with a slow backend")
    results = {}

    def reader(name):
        os.sched_setaffinity(0, {0})  # this thread: CPU 0's queue
        with open(os.path.join(h.mnt, name), "rb") as f:
            results[name] = f.read()

    threads = [threading.Thread(target=reader, args=(name,)) for name in contents]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    log(f"    4 reads of uncached blocks from one CPU, backend latency {latency_s:.1f} s: {elapsed:.2f} s")
    check_eq(results, contents, "files read back through a slow backend")
    if elapsed >= 3 * latency_s:
        raise AssertionError(f"4 fetches from one CPU took {elapsed:.2f} s with {latency_s:.1f} s per backend "
                             f"request: they waited one after another on the CPU's ring thread")
    h.mount_args = ["-o", "io_uring"]
    h.umount()


def main():
    require_environment()
    if not os.path.exists(URING_SWITCH):
        skip(f"this kernel has no FUSE over io_uring ({URING_SWITCH} is missing; Linux 6.14 or later)")
    with open(URING_SWITCH) as f:
        original = f.read().strip()
    log(f"fuse.enable_uring was {original}")
    checks = Checks("io_uring")
    try:
        with Hoard("io-uring") as h:
            expected = os.path.join(os.path.dirname(h.cache), "expected")
            os.mkdir(expected)
            if not checks.run("mkfs", h.mkfs):
                checks.finish()
            checks.run("falls_back_when_the_kernel_says_no", falls_back_when_the_kernel_says_no, h)
            checks.run("plain_mount_ignores_the_switch", plain_mount_ignores_the_switch, h)
            if checks.run("tree_through_the_rings", tree_through_the_rings, h, expected):
                checks.run("same_tree_from_an_empty_cache", same_tree_from_an_empty_cache, h, expected)
            checks.run("slow_fetches_leave_the_queue_free", slow_fetches_leave_the_queue_free, h)
    finally:
        set_switch("Y" if original in ("Y", "1") else "N")
    checks.finish()


if __name__ == "__main__":
    main()
