#!/usr/bin/python3
"""Concurrent use of one mount (the daemon is multi-threaded).

- Four processes each run a differential sequence (differential.py) in their
  own directory at the same time, each compared with its own reference
  directory.
- Four processes write interleaved, unaligned stripes of one shared file
  (so they modify the same blocks at the same time); the result must hold
  every stripe.
- Four processes append records to one O_APPEND file; every record must be
  there exactly once, intact.
- A reader checks a stable file over and over while all this runs.
After a remount without the cache, everything is checked again.
"""

import hashlib
import multiprocessing
import os
import random
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import differential  # noqa: E402
from hoardfs_e2e import Checks, Hoard, check_eq, log, require_environment, scratch_dir  # noqa: E402

MiB = 1 << 20
WORKERS = 4
STRIPE = 300_007
ROUNDS = 12
RECORD = 100
RECORDS_PER_WRITER = 500


def stripe_data(worker, rnd):
    return random.Random(worker * 1000 + rnd).randbytes(STRIPE)


def stripes_writer(path, worker):
    fd = os.open(path, os.O_WRONLY)
    try:
        for rnd in range(ROUNDS):
            offset = (rnd * WORKERS + worker) * STRIPE
            view = memoryview(stripe_data(worker, rnd))
            while view:
                n = os.pwrite(fd, view, offset)
                view, offset = view[n:], offset + n
    finally:
        os.close(fd)


def expected_stripes():
    out = bytearray()
    for rnd in range(ROUNDS):
        for worker in range(WORKERS):
            out += stripe_data(worker, rnd)
    return bytes(out)


def appender(path, worker):
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        for seq in range(RECORDS_PER_WRITER):
            record = f"writer {worker} record {seq} ".encode()
            record += b"." * (RECORD - 1 - len(record)) + b"\n"
            check_eq(os.write(fd, record), RECORD, "O_APPEND write size")
    finally:
        os.close(fd)


def check_appends(path):
    with open(path, "rb") as f:
        data = f.read()
    check_eq(len(data), WORKERS * RECORDS_PER_WRITER * RECORD, "size of the O_APPEND file")
    seen = set()
    for i in range(0, len(data), RECORD):
        record = data[i:i + RECORD]
        words = record.split()
        if len(words) != 5 or words[0] != b"writer" or not record.endswith(b".\n"):
            raise AssertionError(f"damaged record at offset {i}: {record!r}")
        seen.add((int(words[1]), int(words[3])))
    check_eq(len(seen), WORKERS * RECORDS_PER_WRITER, "distinct records in the O_APPEND file")


def reader(path, digest, rounds):
    for _ in range(rounds):
        with open(path, "rb") as f:
            check_eq(hashlib.sha256(f.read()).hexdigest(), digest,
                     "stable file read during concurrent writes")


def differential_worker(mnt, workdir, seed, nops):
    ref, m, pinned = differential.run_seed(differential.NoMount(mnt), seed, nops, workdir, set())
    return sorted(pinned)


def in_child(fn, *args):
    """Runs fn in a forked process; returns a handle for collect()."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def body():
        try:
            child.send(("ok", fn(*args)))
        except BaseException:  # noqa: BLE001 - everything goes back to the parent
            child.send(("error", traceback.format_exc()))

    proc = ctx.Process(target=body)
    proc.start()
    child.close()
    return proc, parent, f"{fn.__name__}{args[1:] if len(args) > 1 else ''}"


def collect(handles, timeout=600):
    errors, results = [], []
    for proc, conn, name in handles:
        if conn.poll(timeout):
            status, value = conn.recv()
        else:
            status, value = "error", f"no answer within {timeout}s"
        proc.join(60)
        if status != "ok":
            errors.append(f"{name}: {value}")
        results.append(value)
    if errors:
        raise AssertionError("\n".join(errors))
    return results


def main():
    require_environment()
    checks = Checks("concurrency")
    seeds = [random.SystemRandom().randrange(1, 2**31) for _ in range(WORKERS)]
    log(f"differential seeds: {seeds} (replay one alone: differential.py --seed S --ops 1500)")
    state = {}
    with scratch_dir("hoardfs-conc-ref-") as workdir:
        with Hoard("conc") as h:
            if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
                checks.finish()
            m = h.mnt
            stripes = os.path.join(m, "stripes.bin")
            appends = os.path.join(m, "appends.log")
            stable = os.path.join(m, "stable.bin")

            def run_all():
                open(stripes, "wb").close()
                open(appends, "wb").close()
                blob = random.Random(5).randbytes(5 * MiB + 3)
                with open(stable, "wb") as f:
                    f.write(blob)
                handles = [in_child(differential_worker, m, workdir, seed, 1500)
                           for seed in seeds]
                handles += [in_child(stripes_writer, stripes, w) for w in range(WORKERS)]
                handles += [in_child(appender, appends, w) for w in range(WORKERS)]
                handles.append(in_child(reader, stable, hashlib.sha256(blob).hexdigest(), 30))
                results = collect(handles)
                state["pinned"] = {seed: set(results[i]) for i, seed in enumerate(seeds)}
                state["stable"] = hashlib.sha256(blob).hexdigest()

            def verify(what):
                with open(stripes, "rb") as f:
                    if f.read() != expected_stripes():
                        raise AssertionError(f"{what}: the striped file lost or mixed stripes")
                check_appends(appends)
                reader(stable, state["stable"], 1)
                for seed in seeds:
                    ref = differential.Side("reference", os.path.join(workdir, f"ref-{seed}"))
                    mnt = differential.Side("hoardfs", os.path.join(m, f"diff-{seed}"))
                    differential.compare_trees(ref, mnt, state["pinned"][seed],
                                               f"{what}, seed {seed}")

            if checks.run("concurrent_workload", run_all):
                checks.run("results_while_mounted", verify, "while mounted")
                checks.run("remount_without_cache", h.remount, True)
                checks.run("results_after_cache_loss", verify, "after remount without cache")
            checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
