#!/usr/bin/python3
"""The hoardfs benchmark suite: backup-target workloads on hoardfs and on a
plain directory of the same disk, side by side.

  bench/run_bench.py [--scale F] [--json FILE] [--only NAME ...] [--workdir DIR]
                     [--io-uring] [--repeat N] [--mount-option OPT ...]

Runs as root (it mounts). Each workload runs on a hoardfs mount (local
backend under --workdir, encryption on, default compression) and on a plain
directory next to it; the table shows both times, their ratio
(hoardfs / plain, lower is better) and the daemon's peak RSS. Every figure
also goes to the JSON file (default bench-results.json).

--only NAME (repeatable) runs only those workloads; any of the reads brings
write-random and read-cold along, since the reads follow them in one sequence.

--repeat N runs the whole selection N times, each time on a new filesystem
and plain directory, and then prints a last table of medians with each
workload's range of ratios; the JSON file's "results" then holds the medians
(peak RSS: the highest) and "runs" every run's figures. On a machine whose
disk speed wanders from minute to minute, one run's ratio says little.

Workloads (sizes at --scale 1; --scale 0.1 for a quick look):
  write-random   dd bs=1M of 2 GiB of incompressible data, then umount.hoardfs
                 (plain: the same + sync)
  write-text     the same with compressible text
  read-cold      read the random file back after a remount with an empty cache
                 (plain: after dropping the page cache)
  read-warm      read it again at once (page cache on both sides)
  read-warm-again  a third read (no target): the second read of a FUSE file
                 moves each of its 4 KiB pages to the kernel's active list
                 (see doc/design.md), the third finds them there
  read-cached    read it after a remount that keeps the block cache, page
                 cache dropped (plain: a cold read); the cold read cached only
                 its first 64 MiB (--sequential-cutoff), the rest is fetched
  cp-tree        cp -a of 20,000 small files (1-64 KiB, some duplicated), then
                 umount (plain: + sync)
  rsync-first    rsync -a of that tree into an empty directory
  rsync-incr     rsync -a after changing 1% of the files
  rsync-linkdest rsync -a --link-dest into a new directory (rsnapshot's pattern)
  cp-al          cp -al of a 100,000-file tree
  find-du        find and du over it
  rm-rf          rm -rf of it
  mount-warm     mount time with a warm cache
  random-4k      random 4 KiB reads and writes (half each, psync, buffered)
                 in a 1 GiB file laid out sequentially (and uploaded) first:
                 as many operations as the file has 4 KiB blocks, then an
                 fsync; page cache left warm; time and IOPS (fio, else a
                 Python pread/pwrite loop)
  million-inodes a filesystem of 1,000,000 inodes (directories of 1,000
                 empty files) made by bench/make_inodes, which opens the
                 unmounted filesystem in-process and calls the Filesystem API
                 (mkdir, create + release) without FUSE, then uploads the
                 metadata; the plain twin is made with os.mkdir/os.open.
                 Rows: inodes-mount-warm (mount with the cache folder
                 make_inodes left), inodes-ls-lR (ls -lR > /dev/null, right
                 after that mount; the plain tree's dentries are still in the
                 kernel's cache), inodes-mount-cold (cache folder deleted: the
                 metadata comes from the backend)

random-4k and million-inodes scale too (min. 64 MiB and 10,000 inodes).

Each side of a workload starts with nothing dirty and, on hoardfs, nothing
left to upload (a sync, and a flushcache where the mount stays): the write
workloads' source, what the hoardfs daemon left in its cache files and the
previous workload's uploads are written out before the clock starts, not
charged to whichever side runs next.

--io-uring mounts with -o io_uring, after turning on the kernel's switch
(echo Y > /sys/module/fuse/parameters/enable_uring; Linux 6.14 or later):
requests then travel through per-CPU io_uring queues instead of /dev/fuse.

Tools: python3, dd, cp, rsync, find, du, ls (Debian), fio if installed. The
tools of the build in $HOARDFS_BUILD_DIR (default: build): src/tools/*.hoardfs
and bench/make_inodes.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("HOARDFS_BUILD_DIR", os.path.join(REPO, "build"))
TOOLS = os.path.join(BUILD, "src", "tools")
MKFS, MOUNT, UMOUNT = (os.path.join(TOOLS, t) for t in ("mkfs.hoardfs", "mount.hoardfs", "umount.hoardfs"))
MAKE_INODES = os.path.join(BUILD, "bench", "make_inodes")
WORKLOADS = ("write-random", "write-text", "read-cold", "read-warm", "read-warm-again", "read-cached", "cp-tree",
             "rsync-first", "rsync-incr", "rsync-linkdest", "cp-al", "find-du", "rm-rf", "mount-warm", "random-4k", "million-inodes")
PASSPHRASE = "benchmark passphrase\n"
MiB = 1 << 20
MOUNT_OPTIONS = []  # -o io_uring with --io-uring
URING_SWITCH = "/sys/module/fuse/parameters/enable_uring"


def sh(*argv, **kw):
    subprocess.run(argv, check=True, **kw)


def drop_caches():
    sh("sync")
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


class Mount:
    def __init__(self, base):
        self.storage = os.path.join(base, "storage")
        self.cache = os.path.join(base, "cache")
        self.mnt = os.path.join(base, "mnt")
        for d in (self.storage, self.cache, self.mnt):
            os.makedirs(d, exist_ok=True)
        self.url = "local://" + self.storage
        self.peak_rss = 0
        subprocess.run([MKFS, "--quiet", self.url], input=PASSPHRASE, text=True, check=True)

    def mount(self):
        subprocess.run([MOUNT, "--quiet", "--cachedir", self.cache, *MOUNT_OPTIONS, self.url, self.mnt], input=PASSPHRASE,
                       text=True, check=True)
        self.pid = int(os.getxattr(self.mnt, "user.hoardfs.pid").decode())

    def rss(self):
        """Peak RSS of the daemon so far (VmHWM), in bytes."""
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss = max(self.peak_rss, int(line.split()[1]) * 1024)
        except OSError:
            pass
        return self.peak_rss

    def umount(self):
        self.rss()
        sh(UMOUNT, self.mnt)

    def drop_cache(self):
        shutil.rmtree(self.cache)
        os.mkdir(self.cache)


def timed(fn):
    start = time.monotonic()
    fn()
    return time.monotonic() - start


def settle(h):
    """Nothing left to do on either side: dirty pages written, uploads done."""
    sh("sync")
    os.setxattr(h.mnt, "user.hoardfs.ctrl", b"flushcache")


def make_source(path, size, text):
    """The data the write workloads copy (made before timing starts)."""
    if not text:
        sh("dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={size // MiB}", "status=none")
        return
    # Text: words drawn at random, different in every MiB (so dedup does not help).
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))).encode()
             for _ in range(5000)]
    pool = [b" ".join(rng.choice(words) for _ in range(200000))[:MiB] for _ in range(64)]
    with open(path, "wb") as f:
        for i in range(size // MiB):
            chunk = bytearray(pool[i % 64])
            chunk[:8] = i.to_bytes(8, "little")  # no two MiB alike
            f.write(chunk)


def write_file(source, path):
    sh("dd", f"if={source}", f"of={path}", "bs=1M", "status=none")


def make_tree(root, files, seed=5):
    rng = random.Random(seed)
    os.makedirs(root)
    blobs = [os.urandom(rng.randint(1, 64) * 1024) for _ in range(50)]
    for i in range(files):
        d = os.path.join(root, f"d{i // 200:04d}")
        if i % 200 == 0:
            os.makedirs(d, exist_ok=True)
        data = blobs[i % 50] if i % 10 == 0 else os.urandom(rng.randint(1, 64) * 1024)
        with open(os.path.join(d, f"f{i:06d}"), "wb") as f:
            f.write(data)


def read_tree(root):
    """Reads every file under root (into the page cache)."""
    for d, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(d, name), "rb") as f:
                while f.read(MiB):
                    pass


def make_empty_tree(root, files):
    os.makedirs(root)
    for i in range(files):
        d = os.path.join(root, f"d{i // 500:04d}")
        if i % 500 == 0:
            os.makedirs(d)
        os.close(os.open(os.path.join(d, f"f{i:06d}"), os.O_WRONLY | os.O_CREAT, 0o644))


def change_one_percent(root, seed=9):
    rng = random.Random(seed)
    names = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
    for path in rng.sample(names, max(1, len(names) // 100)):
        with open(path, "ab") as f:
            f.write(os.urandom(4096))


def lay_out(path, size):
    """The file of random-4k: written sequentially, incompressible."""
    sh("dd", "if=/dev/urandom", f"of={path}", "bs=1M", f"count={size // MiB}", "status=none")


def random_4k(path, size, ops, seed=3):
    """`ops` random 4 KiB reads and writes (half each) in the file `path` of `size` bytes, then an fsync.
    The page cache is left as the layout left it (fio --invalidate=0): dropping it would send the plain
    directory's reads to the disk while hoardfs reads its cache files from memory. Returns (seconds, IOPS,
    tool); fio's own job runtime, so its start-up is not counted."""
    if shutil.which("fio"):
        out = subprocess.run(["fio", "--name=random-4k", f"--filename={path}", f"--size={size}", "--bs=4k",
                              "--rw=randrw", "--rwmixread=50", "--ioengine=psync", "--direct=0",
                              "--invalidate=0", f"--io_size={ops * 4096}", f"--randseed={seed}", "--end_fsync=1",
                              "--output-format=json"], check=True, capture_output=True, text=True).stdout
        job = json.loads(out[out.index("{"):])["jobs"][0]
        if job["error"]:
            raise RuntimeError(f"fio on {path}: error {job['error']}")
        seconds = job["job_runtime"] / 1000
        ios = job["read"]["total_ios"] + job["write"]["total_ios"]
        return seconds, ios / seconds if seconds > 0 else 0.0, "fio"
    rng = random.Random(seed)
    buf = os.urandom(4096)
    blocks = size // 4096
    fd = os.open(path, os.O_RDWR)
    try:
        start = time.monotonic()
        for _ in range(ops):
            offset = rng.randrange(blocks) * 4096
            if rng.random() < 0.5:
                os.pread(fd, 4096, offset)
            else:
                os.pwrite(fd, buf, offset)
        os.fsync(fd)
        seconds = time.monotonic() - start
    finally:
        os.close(fd)
    return seconds, ops / seconds if seconds > 0 else 0.0, "python"


def make_inodes(m, inodes):
    """Fills the unmounted filesystem of Mount `m` with bench/make_inodes; returns its layout line."""
    out = subprocess.run([MAKE_INODES, "--cachedir", m.cache, m.url, str(inodes)], input=PASSPHRASE, text=True,
                         stdout=subprocess.PIPE)  # progress lines on stderr pass through
    if out.returncode != 0:
        raise RuntimeError(f"make_inodes failed with exit {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def make_inode_tree(root, layout):
    """The plain twin of make_inodes' tree (same names, empty files)."""
    os.mkdir(root)
    per_dir, files = layout["per_dir"], layout["files"]
    for d in range(layout["dirs"]):
        sub = os.path.join(root, f"d{d:05d}")
        os.mkdir(sub)
        for i in range(d * per_dir, min(files, (d + 1) * per_dir)):
            os.close(os.open(os.path.join(sub, f"f{i:07d}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", default="bench-results.json")
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--workdir", default="/var/tmp")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="run the workloads N times and report the median of each figure")
    parser.add_argument("--io-uring", action="store_true", help="mount with -o io_uring (turns the kernel switch on)")
    parser.add_argument("--mount-option", action="append", default=[], metavar="OPT",
                        help="pass -o OPT to mount.hoardfs (e.g. nodirect_writes, for an A/B comparison)")
    args = parser.parse_args()
    unknown = [n for n in args.only if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    # The reads read write-random's file, in one sequence that starts cold.
    if any(n in args.only for n in ("read-cold", "read-warm", "read-warm-again", "read-cached")):
        args.only.extend(n for n in ("write-random", "read-cold") if n not in args.only)
    if os.geteuid() != 0:
        print("run_bench.py: needs root (mounts through FUSE)", file=sys.stderr)
        sys.exit(2)
    if args.io_uring:
        if not os.path.exists(URING_SWITCH):
            print("run_bench.py: --io-uring: this kernel has no FUSE io_uring (Linux 6.14 or later)", file=sys.stderr)
            sys.exit(2)
        with open(URING_SWITCH, "w") as f:
            f.write("Y\n")
        MOUNT_OPTIONS.extend(["-o", "io_uring"])
    for option in args.mount_option:
        MOUNT_OPTIONS.extend(["-o", option])
    runs = []
    try:
        for n in range(args.repeat):
            if args.repeat > 1:
                print(f"--- run {n + 1} of {args.repeat}", flush=True)
            runs.append({})
            run_suite(args, runs[-1])
    finally:
        summary = runs[0] if len(runs) == 1 else summarize(runs)
        with open(args.json, "w") as f:
            json.dump({"scale": args.scale, "results": summary, **({"runs": runs} if len(runs) > 1 else {})}, f,
                      indent=2)
        if len(runs) > 1:
            print_summary(summary, len(runs))
        print(f"figures written to {args.json}")


def summarize(runs):
    """Per workload, the median of each figure over the runs (peak RSS: the
    highest) and every run's ratio."""
    summary = {}
    for name in dict.fromkeys(k for r in runs for k in r):
        entries = [r[name] for r in runs if name in r]
        merged = dict(entries[-1])
        for key in merged:
            values = [e[key] for e in entries if isinstance(e.get(key), (int, float)) and not isinstance(e.get(key), bool)]
            if len(values) != len(entries):
                continue
            merged[key] = max(values) if key == "daemon_peak_rss" else round(statistics.median(values), 3)
        if all(e.get("ratio") is not None for e in entries):
            merged["ratios"] = [e["ratio"] for e in entries]
        summary[name] = merged
    return summary


def print_summary(summary, count):
    print(f"--- median of {count} runs (ratio range in brackets)")
    for name, e in summary.items():
        if "ratios" not in e:
            continue
        print(f"{name:17} hoardfs {e['hoardfs_s']:8.2f} s   plain {e['plain_s']:8.2f} s   ratio {e['ratio']:6.2f}"
              f" [{min(e['ratios']):.2f}-{max(e['ratios']):.2f}]   daemon RSS {e['daemon_peak_rss'] / MiB:6.0f} MiB",
              flush=True)


def run_suite(args, results):
    """One run of the selected workloads in a new folder under --workdir; fills `results`."""
    big = max(16, int(2048 * args.scale)) * MiB
    small_files = max(200, int(20000 * args.scale))
    many_files = max(1000, int(100000 * args.scale))
    random_file = max(64, int(1024 * args.scale)) * MiB
    inodes = max(10000, int(1e6 * args.scale))
    base = tempfile.mkdtemp(prefix="hoardfs-bench-", dir=args.workdir)
    want = (lambda name: not args.only or name in args.only)

    def record(name, hoard, plain, rss, extra=None, note=""):
        results[name] = {"hoardfs_s": round(hoard, 3), "plain_s": round(plain, 3),
                         "ratio": round(hoard / plain, 2) if plain > 0 else None, "daemon_peak_rss": rss,
                         **(extra or {})}
        ratio = f"{hoard / plain:6.2f}" if plain > 0 else "     -"
        print(f"{name:17} hoardfs {hoard:8.2f} s   plain {plain:8.2f} s   ratio {ratio}"
              f"   daemon RSS {rss / MiB:6.0f} MiB{note}", flush=True)

    try:
        h = Mount(os.path.join(base, "hoard"))
        plain = os.path.join(base, "plain")
        os.mkdir(plain)
        src = os.path.join(base, "src")
        os.mkdir(src)
        h.mount()
        for name, text in (("write-random", False), ("write-text", True)):
            if not want(name):
                continue
            source = os.path.join(src, name)
            make_source(source, big, text)
            # Each side starts with nothing dirty: neither pays for writing
            # out the source, nor the plain side's sync for the pages of the
            # hoardfs cache files the daemon left (they are a local cache,
            # not part of reaching the backend).
            sh("sync")
            t_h = timed(lambda: (write_file(source, os.path.join(h.mnt, name)), h.umount()))
            sh("sync")
            t_p = timed(lambda: (write_file(source, os.path.join(plain, name)), sh("sync")))
            os.unlink(source)
            record(name, t_h, t_p, h.peak_rss)
            h.mount()
        if want("read-cold") and os.path.exists(os.path.join(h.mnt, "write-random")):
            hoard_file = os.path.join(h.mnt, "write-random")
            plain_file = os.path.join(plain, "write-random")
            h.umount()
            h.drop_cache()
            h.mount()
            drop_caches()
            t_h_cold = timed(lambda: sh("cat", hoard_file, stdout=subprocess.DEVNULL))
            # Warm: read again at once, from the page cache on both sides.
            t_h_warm = timed(lambda: sh("cat", hoard_file, stdout=subprocess.DEVNULL))
            t_h_again = timed(lambda: sh("cat", hoard_file, stdout=subprocess.DEVNULL))
            drop_caches()
            t_p_cold = timed(lambda: sh("cat", plain_file, stdout=subprocess.DEVNULL))
            t_p_warm = timed(lambda: sh("cat", plain_file, stdout=subprocess.DEVNULL))
            t_p_again = timed(lambda: sh("cat", plain_file, stdout=subprocess.DEVNULL))
            record("read-cold", t_h_cold, t_p_cold, h.rss())
            record("read-warm", t_h_warm, t_p_warm, h.rss())
            record("read-warm-again", t_h_again, t_p_again, h.rss())
            # After a remount, page cache dropped (plain: a cold read again):
            # what the cold read left in the block cache (its first 64 MiB,
            # --sequential-cutoff), the rest fetched again.
            h.umount()
            h.mount()
            drop_caches()
            t_h = timed(lambda: sh("cat", hoard_file, stdout=subprocess.DEVNULL))
            drop_caches()
            t_p = timed(lambda: sh("cat", plain_file, stdout=subprocess.DEVNULL))
            record("read-cached", t_h, t_p, h.rss())
        if any(want(n) for n in ("cp-tree", "rsync-first", "rsync-incr", "rsync-linkdest")):
            tree = os.path.join(src, "tree")
            make_tree(tree, small_files)
            # The source is written back to disk, then read once, so both
            # sides copy it from the page cache (before, the hoardfs side read
            # it from disk and the plain side from the cache hoardfs's run left).
            drop_caches()
            read_tree(tree)
            if want("cp-tree"):
                t_h = timed(lambda: (sh("cp", "-a", tree, os.path.join(h.mnt, "cp-tree")), h.umount()))
                sh("sync")  # the plain side's sync is for its own pages, not the hoardfs cache's
                t_p = timed(lambda: (sh("cp", "-a", tree, os.path.join(plain, "cp-tree")), sh("sync")))
                record("cp-tree", t_h, t_p, h.peak_rss)
                h.mount()
            t_h = timed(lambda: sh("rsync", "-a", tree + "/", os.path.join(h.mnt, "r1") + "/"))
            t_p = timed(lambda: sh("rsync", "-a", tree + "/", os.path.join(plain, "r1") + "/"))
            record("rsync-first", t_h, t_p, h.rss())
            change_one_percent(tree)
            # The nightly incremental and the rsnapshot run start idle: the
            # previous run's uploads (hoardfs) and dirty pages (plain) are done.
            settle(h)
            t_h = timed(lambda: sh("rsync", "-a", tree + "/", os.path.join(h.mnt, "r1") + "/"))
            t_p = timed(lambda: sh("rsync", "-a", tree + "/", os.path.join(plain, "r1") + "/"))
            record("rsync-incr", t_h, t_p, h.rss())
            settle(h)
            t_h = timed(lambda: sh("rsync", "-a", "--link-dest=" + os.path.join(h.mnt, "r1"), tree + "/",
                                   os.path.join(h.mnt, "r2") + "/"))
            t_p = timed(lambda: sh("rsync", "-a", "--link-dest=" + os.path.join(plain, "r1"), tree + "/",
                                   os.path.join(plain, "r2") + "/"))
            record("rsync-linkdest", t_h, t_p, h.rss())
        if any(want(n) for n in ("cp-al", "find-du", "rm-rf")):
            many = os.path.join(h.mnt, "many")
            many_plain = os.path.join(plain, "many")
            make_empty_tree(many, many_files)
            make_empty_tree(many_plain, many_files)
            # Both sides start idle: the rsync workloads' uploads (hoardfs)
            # and dirty pages (plain) are done before the clock starts.
            settle(h)
            t_h = timed(lambda: sh("cp", "-al", many, many + ".links"))
            t_p = timed(lambda: sh("cp", "-al", many_plain, many_plain + ".links"))
            record("cp-al", t_h, t_p, h.rss())
            t_h = timed(lambda: (sh("find", many, stdout=subprocess.DEVNULL), sh("du", "-s", many,
                                                                                 stdout=subprocess.DEVNULL)))
            t_p = timed(lambda: (sh("find", many_plain, stdout=subprocess.DEVNULL),
                                 sh("du", "-s", many_plain, stdout=subprocess.DEVNULL)))
            record("find-du", t_h, t_p, h.rss())
            t_h = timed(lambda: sh("rm", "-rf", many + ".links"))
            t_p = timed(lambda: sh("rm", "-rf", many_plain + ".links"))
            record("rm-rf", t_h, t_p, h.rss())
        if want("random-4k"):
            ops = random_file // 4096
            paths = (os.path.join(h.mnt, "random-4k"), os.path.join(plain, "random-4k"))
            for path in paths:
                lay_out(path, random_file)
            sh("sync")
            os.setxattr(h.mnt, "user.hoardfs.ctrl", b"flushcache")  # uploaded: no write-back during the run
            t_h, iops_h, tool = random_4k(paths[0], random_file, ops)
            t_p, iops_p, _ = random_4k(paths[1], random_file, ops)
            for path in paths:
                os.unlink(path)
            record("random-4k", t_h, t_p, h.rss(),
                   {"tool": tool, "file_bytes": random_file, "ops": ops, "hoardfs_iops": round(iops_h),
                    "plain_iops": round(iops_p), "iops_ratio": round(iops_h / iops_p, 3) if iops_p else None},
                   f"   IOPS hoardfs {iops_h:8.0f} plain {iops_p:8.0f} ({tool})")
        if want("mount-warm"):
            h.umount()
            t_h = timed(h.mount)
            record("mount-warm", t_h, 0.0, h.rss())
        if want("million-inodes"):
            m = Mount(os.path.join(base, "inodes"))
            start = time.monotonic()
            layout = make_inodes(m, inodes)
            t_make = time.monotonic() - start
            plain_tree = os.path.join(base, "plain-inodes")
            t_plain_tree = timed(lambda: make_inode_tree(plain_tree, layout))
            t_warm = timed(m.mount)
            meta = json.loads(os.getxattr(m.mnt, "user.hoardfs.stat"))
            record("inodes-mount-warm", t_warm, 0.0, m.rss())
            t_h = timed(lambda: sh("ls", "-lR", m.mnt, stdout=subprocess.DEVNULL))
            t_p = timed(lambda: sh("ls", "-lR", plain_tree, stdout=subprocess.DEVNULL))
            record("inodes-ls-lR", t_h, t_p, m.rss())
            m.umount()
            warm_rss, m.peak_rss = m.peak_rss, 0  # the cold mount's daemon on its own
            m.drop_cache()
            t_cold = timed(m.mount)
            record("inodes-mount-cold", t_cold, 0.0, m.rss())
            m.umount()
            m.peak_rss = max(m.peak_rss, warm_rss)
            results["million-inodes"] = {
                **layout, "make_inodes_s": round(t_make, 3), "plain_tree_s": round(t_plain_tree, 3),
                "metadata_bytes": meta.get("metadata_bytes"), "mount_warm_s": round(t_warm, 3),
                "mount_cold_s": round(t_cold, 3), "ls_lR_hoardfs_s": round(t_h, 3), "ls_lR_plain_s": round(t_p, 3),
                "daemon_peak_rss": m.peak_rss}
            print(f"million-inodes: {layout['inodes']} inodes ({layout['dirs']} directories of {layout['per_dir']}"
                  f" files); setup: make_inodes {t_make:.2f} s (create {layout['create_seconds']:.2f} s, "
                  f"metadata upload {layout['shutdown_seconds']:.2f} s), plain tree {t_plain_tree:.2f} s; "
                  f"database {meta.get('metadata_bytes', 0) / MiB:.1f} MiB", flush=True)
            shutil.rmtree(plain_tree)
        stats = json.loads(os.getxattr(h.mnt, "user.hoardfs.stat"))
        results["store"] = {k: stats.get(k) for k in ("data_bytes", "dedup_bytes", "compressed_bytes",
                                                      "metadata_bytes")}
        print(f"store: {results['store']}")
        h.umount()
    finally:
        for m in [line.split()[1] for line in open("/proc/mounts") if line.split()[1].startswith(base)]:
            subprocess.run(["fusermount3", "-u", "-z", m])
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
