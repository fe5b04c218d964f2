#!/usr/bin/python3
"""The /dev/fuse request loop that polls after metadata requests (-o spin=,
the default on machines of up to four CPUs), and libfuse's own loop, which
serves instead with -o spin=0:

- reads that wait for the backend (slowed to 1 s per request) from four
  threads overlap in both loops: a request that blocks gets another thread
  waiting for the device in its place;
- an idle daemon stops polling: once the work is done, a second passes with
  next to no CPU time spent by the daemon;
- SIGTERM ends the polling loop (its threads sleep in poll() with a timeout,
  since the signal wakes only one of them) and the daemon unmounts, keeping
  what was written;
- a tree written through either loop reads back the same."""

import os
import random
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (Checks, Hoard, assert_same_tree, check_eq, is_mounted, log,  # noqa: E402
                         pid_alive, require_environment, snapshot, wait_until)

POLLING = ("-o", "spin=100")  # the polling loop on any machine
LIBFUSE = ("-o", "spin=0")


def daemon_pid(h):
    return int(os.getxattr(h.mnt, "user.hoardfs.pid").decode().strip())


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def blocked_reads_overlap(h, loop):
    latency_s = 1.0
    rng = random.Random(5)
    contents = {f"slow-{loop[1]}-{i}": rng.randbytes(600 * 1024) for i in range(4)}  # one block each
    h.mount(*loop)
    for name, data in contents.items():
        with open(os.path.join(h.mnt, name), "wb") as f:
            f.write(data)
    h.umount()
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)
    h.mount(*loop, "--backend-options", f"fault-latency-ms={int(latency_s * 1000)}")
    results = {}

    def reader(name):
        with open(os.path.join(h.mnt, name), "rb") as f:
            results[name] = f.read()

    threads = [threading.Thread(target=reader, args=(name,)) for name in contents]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    log(f"    4 reads of uncached blocks ({' '.join(loop)}), backend latency {latency_s:.1f} s: {elapsed:.2f} s")
    check_eq(results, contents, "files read back through a slow backend")
    if elapsed >= 3 * latency_s:
        raise AssertionError(f"4 reads waiting for the backend took {elapsed:.2f} s with {latency_s:.1f} s per "
                             f"request ({' '.join(loop)}): they were served one after another")
    h.mount_args = list(loop)
    h.umount()


def idle_daemon_stops_polling(h):
    h.mount(*POLLING)
    root = os.path.join(h.mnt, "burst")
    os.mkdir(root)
    for i in range(2000):  # metadata requests: each opens the polling window again
        os.close(os.open(os.path.join(root, f"e{i}"), os.O_CREAT | os.O_WRONLY, 0o644))
        os.stat(os.path.join(root, f"e{i}"))
    pid = daemon_pid(h)
    windows = []
    for _ in range(15):  # the uploads of the burst may take a few windows; polling never stops
        before = cpu_seconds(pid)
        time.sleep(1.0)  # a measuring interval, not synchronization
        windows.append(cpu_seconds(pid) - before)
        if windows[-1] < 0.25:
            break
    log(f"    daemon CPU seconds per idle second: {', '.join(f'{w:.2f}' for w in windows)}")
    if windows[-1] >= 0.25:
        raise AssertionError(f"the daemon kept using {windows[-1]:.2f} CPU-seconds per second 15 s after the "
                             "last request: its threads did not stop polling")
    h.umount()


def sigterm_unmounts(h):
    h.mount(*POLLING)
    data = os.urandom(300 * 1024)
    with open(os.path.join(h.mnt, "before-sigterm"), "wb") as f:
        f.write(data)
    for i in range(200):  # threads polling, then asleep in poll()
        os.stat(os.path.join(h.mnt, "before-sigterm"))
    pid = daemon_pid(h)
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not is_mounted(h.mnt) and not pid_alive(pid), 60, "the daemon to unmount and exit after SIGTERM")
    h.mount(*POLLING)
    with open(os.path.join(h.mnt, "before-sigterm"), "rb") as f:
        check_eq(f.read(), data, "a file written before SIGTERM, after the remount")
    h.umount()


def build_tree(root, rng):
    for d in range(6):
        sub = os.path.join(root, f"d{d}")
        os.makedirs(sub)
        for i in range(120):
            path = os.path.join(sub, f"f{i}")
            with open(path, "wb") as f:
                f.write(rng.randbytes(rng.randint(0, 40000)))
            if i % 10 == 0:
                os.link(path, os.path.join(sub, f"h{i}"))
            if i % 15 == 0:
                os.symlink(f"f{i}", os.path.join(sub, f"s{i}"))
            if i % 20 == 0:
                os.rename(path, path + ".moved")


def same_tree_through_both_loops(h):
    expected = os.path.join(h.base, "expected")
    build_tree(expected, random.Random(3))
    for loop in (POLLING, LIBFUSE):
        h.mount(*loop)
        target = os.path.join(h.mnt, f"tree-{loop[1]}")
        build_tree(target, random.Random(3))
        h.umount()
        shutil.rmtree(h.cache)
        os.mkdir(h.cache)
        h.mount(*loop)
        assert_same_tree(snapshot(expected), snapshot(target), f"tree written with {' '.join(loop)}",
                         ignore=("mtime_ns",))
        h.umount()


def main():
    require_environment()
    checks = Checks("device-loop")
    with Hoard("device-loop") as h:
        if not checks.run("mkfs", h.mkfs):
            checks.finish()
        checks.run("blocked_reads_overlap_polling", blocked_reads_overlap, h, POLLING)
        checks.run("blocked_reads_overlap_libfuse", blocked_reads_overlap, h, LIBFUSE)
        checks.run("idle_daemon_stops_polling", idle_daemon_stops_polling, h)
        checks.run("sigterm_unmounts", sigterm_unmounts, h)
        checks.run("same_tree_through_both_loops", same_tree_through_both_loops, h)
    checks.finish()


if __name__ == "__main__":
    main()
