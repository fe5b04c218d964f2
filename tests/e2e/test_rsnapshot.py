#!/usr/bin/python3
"""rsnapshot through a real mount: the use hoardfs is built for.

rsnapshot (the Debian package) keeps its snapshot_root inside a hoardfs mount
on the local backend and runs `rsnapshot alpha` five times (retain alpha 4,
so the fifth run also expires the oldest snapshot) over a source tree in
/tmp that changes between runs: files rewritten with new random data (new
mtime), a file touched only (new mtime, same content), files added and
deleted, a large file renamed, a hard-linked file rewritten in place, a
symlink pointed elsewhere.

The configuration is rsnapshot's default mode: `cmd_cp` set and link_dest
off, so each run rotates alpha.N -> alpha.N+1 with mv, makes alpha.1 with
`cp -al alpha.0 alpha.1` (hard links to every file) and then rsyncs the
source into alpha.0 (`-aH` and the default long arguments --delete
--numeric-ids --relative --delete-excluded; because of --relative the tree
lands in alpha.N/localhost/<absolute source path>).

After every run:
  * alpha.0 equals the source (content, type, mode, owner, nanosecond mtime,
    symlink targets, hard-link groups); alpha.1, alpha.2, ... still equal the
    source as it was at their run; the expired snapshot is gone;
  * every file unchanged since the previous run is the same inode in alpha.0
    and alpha.1 (st_nlink >= 2), every changed one a different inode;
  * after `hoardfs ctrl flushcache`, `hoardfs stat` dedup_bytes and
    compressed_bytes grew by at most the new random (incompressible) data
    written to the source (x1.1 + 256 KiB) and dedup_bytes by at least 90%
    of it (less what the expired snapshot alone held): renamed, touched and
    unchanged files add nothing.
At the end: unmount, delete the cache, mount, and every snapshot still
equals its source state, with the same stat figures.
"""

import os
import random
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treegen  # noqa: E402
from hoardfs_e2e import (CLI, Checks, Hoard, assert_same_tree, check_eq, log,  # noqa: E402
                         require_environment, scratch_dir, snapshot)

RSNAPSHOT = "/usr/bin/rsnapshot"
KiB = 1 << 10
MiB = 1 << 20
RETAIN = 4
RUNS = 5
SLACK = 256 * KiB
# The snapshots of one file are hard links, so their st_nlink differs from
# the source's; hard links inside the source are compared as link_group.
IGNORE = ("nlink",)


def write(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


class Source:
    """The source tree and what changed in it since the previous run."""

    def __init__(self, root, seed):
        self.root = root
        self.rng = random.Random(seed)
        self.plain = []       # regular files with one name, free to change
        self.dirs = []
        self.new_bytes = 0    # random bytes written since the last run
        self.changed = set()  # paths whose file was replaced since the last run
        self.clock = 1_600_000_000  # seconds, distinct for every change

    def p(self, rel):
        return os.path.join(self.root, rel)

    def stamp(self, rel):
        """A new nanosecond mtime, whole seconds apart from every earlier one
        (rsync's quick check compares seconds)."""
        self.clock += 7
        t = self.clock * 10**9 + self.rng.randrange(10**9)
        os.utime(self.p(rel), ns=(t, t), follow_symlinks=False)

    def random_file(self, rel, size, mode=0o644):
        write(self.p(rel), self.rng.randbytes(size), mode)
        self.new_bytes += size
        self.changed.add(rel)
        self.stamp(rel)

    def generate(self):
        rng = self.rng
        for d in range(8):
            for s in range(3):
                rel = f"dir{d}/sub{s}"
                os.makedirs(self.p(rel))
                self.dirs += [rel] if s else [f"dir{d}", rel]
        os.mkdir(self.p("empty-dir"))
        modes = [0o644] * 8 + [0o600, 0o755, 0o444]
        for i in range(300):
            rel = os.path.join(rng.choice(self.dirs), f"file{i:03d}")
            kind = rng.random()
            size = (rng.randint(0, 4 * KiB) if kind < 0.6 else
                    rng.randint(4 * KiB, 128 * KiB) if kind < 0.92 else
                    rng.randint(128 * KiB, MiB))
            data = treegen.text(rng, size) if rng.random() < 0.2 else rng.randbytes(size)
            write(self.p(rel), data, rng.choice(modes))
            self.plain.append(rel)
        for rel, size in (("dir0/exactly-1MiB.bin", MiB), ("dir1/two-blocks.bin", MiB + 4097),
                          ("dir2/empty", 0)):
            write(self.p(rel), rng.randbytes(size))
            self.plain.append(rel)
        os.chown(self.p(self.plain[0]), 1234, 5678)
        os.chown(self.p(self.plain[1]), 65534, 65534)
        os.mkdir(self.p("links"))
        self.dirs.append("links")
        write(self.p("links/original"), rng.randbytes(150 * KiB))
        os.link(self.p("links/original"), self.p("links/hardlink"))
        os.link(self.p("links/original"), self.p("dir3/hardlink-elsewhere"))
        os.symlink("original", self.p("links/symlink"))
        os.symlink("../dir0/sub1", self.p("links/to-dir"))
        for rel in self.plain + ["links/original", "links/symlink", "links/to-dir"]:
            self.stamp(rel)
        self.touch_dirs()
        self.new_bytes = 0
        self.changed = set()
        total = sum(os.lstat(self.p(r)).st_size for r in self.plain)
        return (f"{len(self.plain)} files ({total} bytes) in {len(self.dirs)} directories, "
                f"an empty directory, a file with 3 hard links, 2 symlinks")

    def touch_dirs(self):
        """Directory times, whole seconds apart from the previous run's: rsync
        compares directory times to the second (see test_rsync.py)."""
        for i, (dirpath, _, _) in enumerate(sorted(os.walk(self.root))):
            self.clock += 1
            os.utime(dirpath, ns=(self.clock * 10**9 + i,) * 2)

    def change(self, run):
        """What changes between two backups; returns a one-line summary."""
        rng = self.rng
        self.new_bytes = 0
        self.changed = set()
        picked = rng.sample(sorted(self.plain), 10)
        rewritten, touched, deleted, renamed = picked[:5], picked[5], picked[6:9], picked[9]
        for rel in rewritten:
            self.random_file(rel, rng.randint(16 * KiB, MiB))
        # Same content, new mtime: rsync copies it again (new inode), but
        # its blocks are already stored.
        self.stamp(touched)
        self.changed.add(touched)
        for rel in deleted:
            os.unlink(self.p(rel))
            self.plain.remove(rel)
        # Renamed: a new file for rsync, already stored blocks for hoardfs.
        big = max((r for r in self.plain if r not in picked),
                  key=lambda r: os.lstat(self.p(r)).st_size)
        target = os.path.join(rng.choice(self.dirs), f"renamed-in-run{run}")
        os.rename(self.p(big), self.p(target))
        self.plain[self.plain.index(big)] = target
        self.changed.add(target)
        if run == 3:
            os.mkdir(self.p("new-dir"))
            self.dirs.append("new-dir")
        added = []
        for i in range(4):
            rel = os.path.join(rng.choice(self.dirs), f"added-run{run}-{i}")
            self.random_file(rel, rng.randint(8 * KiB, 512 * KiB))
            self.plain.append(rel)
            added.append(rel)
        if run == 3:
            # In place, through one of its three names: all three change.
            with open(self.p("links/hardlink"), "r+b") as f:
                f.truncate(0)
                f.write(rng.randbytes(200 * KiB))
            self.new_bytes += 200 * KiB
            self.stamp("links/original")
            self.changed |= {"links/original", "links/hardlink", "dir3/hardlink-elsewhere"}
        if run == 4:
            os.unlink(self.p("links/symlink"))
            os.symlink("../dir1/two-blocks.bin", self.p("links/symlink"))
            self.stamp("links/symlink")
            self.changed.add("links/symlink")
        self.touch_dirs()
        return (f"rewrote {rewritten}, touched {touched!r}, deleted {deleted}, renamed "
                f"{big!r} -> {target!r}, added {added}; {self.new_bytes} new random bytes")


def same_tree(expected, path, what):
    try:
        assert_same_tree(expected, snapshot(path), what, ignore=IGNORE)
    except AssertionError as e:
        if "system.posix_acl_access" in str(e):
            # cp -a (coreutils 9) gives a new directory its mode only through
            # setxattr("system.posix_acl_access") of the equivalent ACL.
            raise AssertionError(f"{e}\n    (a POSIX ACL xattr appeared in the copy: "
                                 f"`cp -a` set the directory's permissions with setxattr "
                                 f"system.posix_acl_access, and the filesystem kept it as a "
                                 f"plain xattr instead of applying it to the mode)") from None
        raise


def content_bytes(states):
    """Bytes of distinct file contents in these tree snapshots: what block
    deduplication should store for them."""
    sizes = {}
    for state in states:
        for rec in state.values():
            if "sha256" in rec:
                sizes[rec["sha256"]] = rec["size"]
    return sizes


class Runner:
    def __init__(self, h, work, checks):
        self.h, self.work, self.checks = h, work, checks
        self.src = os.path.join(work, "src")
        os.mkdir(self.src)
        self.source = Source(self.src, seed=20261128)
        self.root = os.path.join(h.mnt, "snapshots")
        self.conf = os.path.join(work, "rsnapshot.conf")
        self.states = []  # snapshot() of the source at each run, oldest first
        self.stats = []   # settled `hoardfs stat` figures after each run

    def snapshot_dir(self, n):
        """The source tree inside alpha.N (--relative keeps its full path)."""
        return os.path.join(self.root, f"alpha.{n}", "localhost", self.src.lstrip("/"))

    def write_config(self):
        # Fields separated by TABs: rsnapshot rejects spaces.
        lines = [
            ("config_version", "1.2"),
            ("snapshot_root", self.root + "/"),
            ("no_create_root", "0"),
            # Default mode: cp -al for alpha.1, then rsync into alpha.0.
            ("cmd_cp", "/bin/cp"),
            ("cmd_rm", "/bin/rm"),
            ("cmd_rsync", "/usr/bin/rsync"),
            ("link_dest", "0"),
            ("retain", "alpha", str(RETAIN)),
            ("verbose", "1"),
            ("loglevel", "3"),
            ("lockfile", os.path.join(self.work, "rsnapshot.pid")),
            # -H: the source's hard links stay hard links in the snapshots.
            ("rsync_short_args", "-aH"),
            ("backup", self.src + "/", "localhost/"),
        ]
        with open(self.conf, "w") as f:
            f.write("".join("\t".join(fields) + "\n" for fields in lines))

    def rsnapshot(self, *args):
        proc = subprocess.run([RSNAPSHOT, "-c", self.conf, *args], capture_output=True,
                              text=True, timeout=600)
        if proc.returncode != 0:
            with open(self.conf) as f:
                conf = f.read()
            raise AssertionError(f"rsnapshot -c {self.conf} {' '.join(args)} -> exit "
                                 f"{proc.returncode}\n  stdout: {proc.stdout[-3000:]}\n"
                                 f"  stderr: {proc.stderr[-3000:]}\n  config:\n{conf}")
        return proc.stdout + proc.stderr

    def configtest(self):
        self.write_config()
        out = self.rsnapshot("configtest")
        if "Syntax OK" not in out:
            raise AssertionError(f"rsnapshot configtest did not say Syntax OK: {out!r}")

    def settled_stats(self):
        r = self.h.tool([CLI, "ctrl", "flushcache", "--quiet", self.h.mnt])
        if r.returncode != 0:
            raise AssertionError("hoardfs ctrl flushcache failed: " + r.describe())
        s = self.h.stat_json()
        check_eq(s["dirty_bytes"], 0, "dirty_bytes right after hoardfs ctrl flushcache")
        return s

    def backup(self, run):
        self.rsnapshot("alpha")
        self.states.append(snapshot(self.src))

    def snapshots_match(self, run):
        kept = min(run, RETAIN)
        names = sorted(os.listdir(self.root))
        check_eq(names, [f"alpha.{n}" for n in range(kept)],
                 f"snapshot_root after run {run} (retain alpha {RETAIN})")
        localhost = os.path.join(self.root, "alpha.0", "localhost")
        check_eq(os.listdir(localhost), [self.src.lstrip("/").split("/")[0]],
                 "alpha.0/localhost holds only the source's path")
        for n in range(kept):
            same_tree(self.states[run - 1 - n], self.snapshot_dir(n),
                      f"after run {run}: alpha.{n} (taken at run {run - n}) against the "
                      f"source at run {run - n}")

    def hard_links(self, run):
        """Unchanged files: one inode in alpha.0 and alpha.1; changed files:
        two inodes."""
        new, old = self.states[-1], self.states[-2]
        changed = self.source.changed
        same, differ = [], []
        problems = []
        for rel, rec in sorted(new.items()):
            if rec["type"] != stat.S_IFREG or rel not in old:
                continue
            a = os.lstat(os.path.join(self.snapshot_dir(0), rel))
            b = os.lstat(os.path.join(self.snapshot_dir(1), rel))
            if rel in changed:
                differ.append(rel)
                if a.st_ino == b.st_ino:
                    problems.append(f"{rel!r} changed before run {run} but alpha.0 and alpha.1 "
                                    f"share inode {a.st_ino}")
            else:
                same.append(rel)
                if a.st_ino != b.st_ino:
                    problems.append(f"{rel!r} unchanged since run {run - 1} but alpha.0 has "
                                    f"inode {a.st_ino}, alpha.1 inode {b.st_ino}")
                elif a.st_nlink < 2:
                    problems.append(f"{rel!r}: a hard link in alpha.0 and alpha.1 but "
                                    f"st_nlink {a.st_nlink}")
        if len(same) < 250 or len(differ) < 5:
            problems.append(f"only {len(same)} unchanged and {len(differ)} changed files "
                            f"compared: the test's bookkeeping is wrong")
        if problems:
            raise AssertionError(f"after run {run}, {len(problems)} problems:\n    " +
                                 "\n    ".join(problems[:40]))
        log(f"    {len(same)} unchanged files hard-linked, {len(differ)} changed files not")

    def stat_first(self):
        s = self.settled_stats()
        self.stats.append(s)
        distinct = sum(content_bytes(self.states).values())
        log(f"    after run 1: {s}; distinct source content {distinct} bytes")
        if not distinct * 0.9 <= s["dedup_bytes"] <= distinct * 1.1 + SLACK:
            raise AssertionError(f"after the first run dedup_bytes is {s['dedup_bytes']}, "
                                 f"expected about the source's {distinct} bytes of content")

    def stat_growth(self, run):
        before = self.stats[-1]
        s = self.settled_stats()
        self.stats.append(s)
        new = self.source.new_bytes
        # Content only the expired snapshot held may be freed.
        live = content_bytes(self.states[-RETAIN:])
        gone = content_bytes(self.states[:-RETAIN])
        freed = sum(size for sha, size in gone.items() if sha not in live)
        grown = s["dedup_bytes"] - before["dedup_bytes"]
        stored = s["compressed_bytes"] - before["compressed_bytes"]
        log(f"    run {run}: {new} new random bytes in the source, {freed} bytes only in the "
            f"expired snapshot; dedup_bytes {before['dedup_bytes']} -> {s['dedup_bytes']} "
            f"({grown:+}), compressed_bytes {before['compressed_bytes']} -> "
            f"{s['compressed_bytes']} ({stored:+}), data_bytes {s['data_bytes']}")
        limit = new * 1.1 + SLACK
        if grown > limit:
            raise AssertionError(f"run {run}: dedup_bytes grew by {grown} bytes for {new} bytes "
                                 f"of new data (limit {limit:.0f}): unchanged, touched or "
                                 f"renamed files were stored again")
        if stored > limit:
            raise AssertionError(f"run {run}: compressed_bytes grew by {stored} bytes for {new} "
                                 f"bytes of new incompressible data (limit {limit:.0f})")
        floor = new * 0.9 - freed
        if grown < floor:
            raise AssertionError(f"run {run}: dedup_bytes grew by only {grown} bytes for {new} "
                                 f"bytes of new random data (at least {floor:.0f} expected, "
                                 f"{freed} bytes may have been freed by the expiry)")

    def after_cache_loss(self):
        before = self.stats[-1]
        self.h.remount(drop_cache=True)
        s = self.h.stat_json()
        for key in ("dedup_bytes", "compressed_bytes", "data_bytes", "inodes", "entries"):
            check_eq(s[key], before[key], f"stat {key} after unmount, cache deletion and mount")
        kept = min(RUNS, RETAIN)
        for n in range(kept):
            same_tree(self.states[RUNS - 1 - n], self.snapshot_dir(n),
                      f"after cache loss: alpha.{n} against the source at run {RUNS - n}")

    def run_all(self):
        c = self.checks
        c.run("generate_source", lambda: log(f"    {self.source.generate()}"))
        if not c.run("rsnapshot_configtest", self.configtest):
            return
        for run in range(1, RUNS + 1):
            if run > 1:
                c.run(f"change_source_{run}", lambda run=run: log("    " + self.source.change(run)))
            if not c.run(f"rsnapshot_alpha_run_{run}", self.backup, run):
                return
            c.run(f"run_{run}_snapshots_equal_their_sources", self.snapshots_match, run)
            if run == 1:
                c.run("run_1_stat", self.stat_first)
            else:
                c.run(f"run_{run}_unchanged_files_are_hard_links", self.hard_links, run)
                c.run(f"run_{run}_stat_growth", self.stat_growth, run)
        c.run("remount_without_cache", self.after_cache_loss)


def main():
    require_environment()
    if not os.access(RSNAPSHOT, os.X_OK):
        raise SystemExit(f"FAIL: {RSNAPSHOT} is missing (scripts/install-deps.sh installs it)")
    checks = Checks("rsnapshot")
    with scratch_dir("hoardfs-rsnapshot-src-") as work:
        with Hoard("rsnapshot") as h:
            if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
                checks.finish()
            Runner(h, work, checks).run_all()
            checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
