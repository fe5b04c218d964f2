#!/usr/bin/python3
"""Crash harness: nothing fsync'd is lost when the daemon is killed with -9.

Each round mounts the filesystem (the same cache directory every round), runs
a seeded random writer workload and kills the daemon (kill -9, pid from the
user.hoardfs.pid attribute of the mount root) at a seeded random moment:
between two steps of the workload, while a second writer thread is in the
middle of writes and fsyncs, or while `hoardfs ctrl upload-meta` (a metadata
upload), `hoardfs ctrl flushcache` (block uploads) or `umount.hoardfs` runs in
the background; sometimes again right after the recovery mount. The dead mount is lazily unmounted (fusermount3 -u -z) and the
filesystem mounted again with the same cache: crash recovery must happen
silently (mount.hoardfs exits 0, reading nothing but the passphrase).

The workload: new files written and fsync'd; new files written without fsync;
appends, overwrites (also beyond the end, leaving holes), truncates and
dedup copies of earlier files followed by fsync; renames and unlinks followed
by fsync of the directories involved; mkdir followed by fsync of the parent.
The model records a file's content hash only once its fsync has returned (and
a name's removal once the directory's fsync has returned); a file being
changed is "uncertain" from its first write until its fsync returns.

After each crash: every fsync'd file has exactly its fsync'd content, every
fsync'd removal is still removed, every fsync'd directory exists, and the
whole tree is consistent (every entry can be stat'ed, every file reads to its
st_size without error, `hoardfs stat` answers). Non-fsync'd files may be
missing or hold anything.

Every few rounds: clean umount, `fsck.hoardfs --cachedir CACHE URL` must
exit 0 (clean), and a remount shows exactly the tree of before the umount.
One round kills fsck.hoardfs itself (-9) mid-run after a crash; fsck again
must then exit 0 or 16 (repaired), and the mount must show every fsync'd file.
At the end: clean umount, the cache directory deleted, a mount with an empty
cache must show exactly the tree of the last clean umount.

Options: --seed N, --rounds N, --blocksize SIZE (mkfs), --keep-going (do not
stop at the first failed round).
"""

import argparse
import errno
import hashlib
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, FSCK, UMOUNT, Checks, Hoard, assert_same_tree,  # noqa: E402
                         is_mounted, log, pid_alive, require_environment, snapshot, wait_until)

KiB = 1 << 10
MAX_FILES = 70      # beyond this the workload prefers unlinks
FSCK_EVERY = 4      # a clean umount + fsck every this many rounds


def sha(data):
    return hashlib.sha256(data).hexdigest()


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass  # the daemon was killed while the file was open


def write_all(fd, data, offset=None):
    done = 0
    while done < len(data):
        if offset is None:
            done += os.write(fd, data[done:])
        else:
            done += os.pwrite(fd, data[done:], offset + done)


class Killed(Exception):
    """Raised inside the workload at the step where the daemon was killed."""


class Model:
    """What the writer did, and what must survive a crash."""

    def __init__(self, rng):
        self.rng = rng
        self.current = {}     # rel -> bytes: the live content as written (exact while mounted)
        self.durable = {}     # rel -> bytes: content whose fsync returned
        self.absent = set()   # rel whose removal a directory fsync made durable
        self.dirs = {""}      # directories whose creation is durable ("" = root)
        self.counter = 0
        self.trace = []       # the current round's operations, for failure reports

    def new_name(self, prefix):
        self.counter += 1
        d = self.rng.choice(sorted(self.dirs))
        name = f"{prefix}{self.counter:05d}"
        return os.path.join(d, name) if d else name

    def uncertain(self, *rels):
        for rel in rels:
            self.durable.pop(rel, None)
            self.absent.discard(rel)

    def made_durable(self, rel):
        self.durable[rel] = self.current[rel]
        self.absent.discard(rel)

    def content(self, size):
        rng = self.rng
        kind = rng.random()
        if kind < 0.45:
            return rng.randbytes(size)
        if kind < 0.75:  # compressible
            pattern = rng.randbytes(rng.randint(1, 300))
            return (pattern * (size // len(pattern) + 1))[:size]
        if kind < 0.9:  # mostly zeros with some data
            data = bytearray(size)
            for _ in range(rng.randint(0, 4)):
                if size:
                    off = rng.randrange(size)
                    chunk = rng.randbytes(min(size - off, rng.randint(1, 20000)))
                    data[off:off + len(chunk)] = chunk
            return bytes(data)
        # block-aligned copies of another file: dedup
        if self.current:
            src = self.current[rng.choice(sorted(self.current))]
            if src:
                return (src * (size // len(src) + 1))[:size]
        return rng.randbytes(size)

    def size(self):
        r = self.rng.random()
        if r < 0.15:
            return self.rng.randint(0, 100)
        if r < 0.7:
            return self.rng.randint(1, 200 * KiB)
        return self.rng.randint(200 * KiB, 1300 * KiB)


class Workload:
    """The writer: operations are generators that yield after every step, so
    that the daemon can be killed between any two steps."""

    def __init__(self, model, mnt):
        self.m = model
        self.mnt = mnt

    def p(self, rel):
        return os.path.join(self.mnt, rel) if rel else self.mnt

    def pick_file(self, durable_only=False):
        pool = sorted(self.m.durable if durable_only else self.m.current)
        return self.m.rng.choice(pool) if pool else None

    # --- operations -----------------------------------------------------------

    def new_file(self, do_fsync):
        m = self.m
        rel = m.new_name("f")
        data = m.content(m.size())
        m.trace.append(f"new_file {rel} size={len(data)} fsync={do_fsync}")
        m.uncertain(rel)
        fd = os.open(self.p(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            m.current[rel] = b""
            pieces = m.rng.randint(1, 3)
            cut = sorted(m.rng.randint(0, len(data)) for _ in range(pieces - 1))
            for a, b in zip([0] + cut, cut + [len(data)]):
                write_all(fd, data[a:b])
                m.current[rel] = data[:b]
                yield
            if do_fsync:
                os.fsync(fd)
                m.made_durable(rel)
        finally:
            close_quietly(fd)
        yield

    def modify(self, kind, do_fsync=True):
        m = self.m
        rel = self.pick_file(durable_only=m.rng.random() < 0.7) or self.pick_file()
        if rel is None:
            return
        old = m.current[rel]
        m.uncertain(rel)
        fd = os.open(self.p(rel), os.O_WRONLY)
        try:
            if kind == "append":
                extra = m.content(m.rng.randint(1, 300 * KiB))
                os.lseek(fd, 0, os.SEEK_END)
                write_all(fd, extra)
                new = old + extra
            elif kind == "overwrite":
                off = m.rng.randint(0, len(old) + (200 * KiB if m.rng.random() < 0.3 else 0))
                extra = m.content(m.rng.randint(1, 150 * KiB))
                write_all(fd, extra, off)
                base = old + bytes(max(0, off - len(old)))
                new = base[:off] + extra + base[off + len(extra):]
            else:  # truncate
                size = m.rng.randint(0, len(old) + 100 * KiB)
                os.ftruncate(fd, size)
                new = old[:size] + bytes(max(0, size - len(old)))
            m.trace.append(f"{kind} {rel} {len(old)} -> {len(new)} bytes fsync={do_fsync}")
            m.current[rel] = new
            yield
            if do_fsync:
                os.fsync(fd)
                m.made_durable(rel)
        finally:
            close_quietly(fd)
        yield

    def rename(self):
        m = self.m
        src = self.pick_file()
        if src is None:
            return
        others = [r for r in sorted(m.current) if r != src]
        if others and m.rng.random() < 0.35:
            dst = m.rng.choice(others)
        else:
            dst = m.new_name("r")
        was_durable = m.durable.get(src) == m.current[src]
        m.trace.append(f"rename {src} -> {dst} (source durable: {was_durable})")
        m.uncertain(src, dst)
        os.rename(self.p(src), self.p(dst))
        m.current[dst] = m.current.pop(src)
        yield
        for d in sorted({os.path.dirname(src), os.path.dirname(dst)}):
            fsync_dir(self.p(d))
        m.absent.add(src)
        if was_durable:
            m.made_durable(dst)
        yield

    def unlink(self):
        m = self.m
        rel = self.pick_file()
        if rel is None:
            return
        m.trace.append(f"unlink {rel}")
        m.uncertain(rel)
        os.unlink(self.p(rel))
        del m.current[rel]
        yield
        fsync_dir(self.p(os.path.dirname(rel)))
        m.absent.add(rel)
        yield

    def mkdir(self):
        m = self.m
        rel = m.new_name("d")
        m.trace.append(f"mkdir {rel}")
        os.mkdir(self.p(rel))
        yield
        fsync_dir(self.p(os.path.dirname(rel)))
        m.dirs.add(rel)
        yield

    def random_op(self):
        m = self.m
        r = m.rng.random()
        if len(m.current) > MAX_FILES and r < 0.5:
            return self.unlink()
        if len(m.dirs) < 6 and r < 0.04:
            return self.mkdir()
        if r < 0.30:
            return self.new_file(True)
        if r < 0.45:
            return self.new_file(False)
        if r < 0.55:
            return self.modify("append")
        if r < 0.65:
            return self.modify("overwrite")
        if r < 0.70:
            return self.modify("truncate")
        if r < 0.76:
            return self.modify(m.rng.choice(["append", "overwrite"]), do_fsync=False)
        if r < 0.90:
            return self.rename()
        return self.unlink()


class BackgroundWriter(threading.Thread):
    """A second writer that runs while the daemon is killed, so that the kill
    lands in the middle of FUSE requests (writes, fsyncs, creates). It keeps
    its own record; only what its fsync calls returned for counts."""

    def __init__(self, mnt, seed, prefix):
        super().__init__(daemon=True)
        self.mnt, self.rng, self.prefix = mnt, random.Random(seed), prefix
        self.durable = {}      # rel -> bytes whose fsync returned
        self.touched = set()   # every rel it wrote
        self.absent = set()    # removals made durable by a directory fsync
        self.ops = 0
        self.stop = threading.Event()
        self.error = None
        # Everything relative to the mount's root, opened here, while the
        # mount is certainly live: once the kill and the lazy unmount have
        # happened, the mountpoint leads to the directory underneath, and
        # files written there would count as fsync'd on the filesystem. (The
        # thread opening it itself could come after the kill when the round
        # waits for no operation.)
        self.root = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)

    def run(self):
        n = 0
        root = self.root
        try:
            while not self.stop.is_set():
                n += 1
                rel = f"{self.prefix}{n:04d}"
                self.touched.add(rel)
                data = self.rng.randbytes(self.rng.randint(1, 400 * KiB))
                fd = os.open(rel, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644, dir_fd=root)
                try:
                    for off in range(0, len(data), 32 * KiB):
                        write_all(fd, data[off:off + 32 * KiB])
                    if self.rng.random() < 0.6:
                        os.fsync(fd)
                        self.durable[rel] = data
                finally:
                    close_quietly(fd)
                if self.durable and self.rng.random() < 0.2:
                    victim = self.rng.choice(sorted(self.durable))
                    del self.durable[victim]
                    os.unlink(victim, dir_fd=root)
                    os.fsync(root)
                    self.absent.add(victim)
                self.ops += 1
        except OSError as e:
            self.error = e  # expected once the daemon is dead
        finally:
            close_quietly(root)


# --- the filesystem under test --------------------------------------------------


def daemon_pid(mnt):
    return int(os.getxattr(mnt, "user.hoardfs.pid").decode().strip())


def kill_and_lazy_unmount(h, pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already gone (e.g. an umount.hoardfs finished first)
    wait_until(lambda: not pid_alive(pid), 60, f"daemon {pid} to die after kill -9")
    if not is_mounted(h.mnt):
        return
    r = subprocess.run(["fusermount3", "-u", "-z", h.mnt], capture_output=True, timeout=60)
    if r.returncode != 0 and is_mounted(h.mnt):
        raise AssertionError(f"fusermount3 -u -z {h.mnt} -> exit {r.returncode}: "
                             f"{r.stderr.decode(errors='replace').strip()}")
    wait_until(lambda: not is_mounted(h.mnt), 60, f"{h.mnt} to be unmounted")


def storage_names(h, sub):
    root = os.path.join(h.storage, sub)
    found = set()
    for dirpath, _dirs, files in os.walk(root):
        found.update(os.path.join(dirpath, f) for f in files)
    return found


def io_bytes(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            fields = dict(line.split(": ") for line in f.read().splitlines())
        return int(fields["rchar"]) + int(fields["wchar"])
    except (OSError, ValueError, KeyError):
        return 0


def open_files(pid):
    names = []
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                names.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    except OSError:
        pass
    return names


def mount_after_crash(h):
    """The crash recovery: mount.hoardfs must succeed silently."""
    r = h.mount(check=False)
    if r.returncode != 0 or not is_mounted(h.mnt):
        raise AssertionError("mount after the crash failed: " + r.describe())
    h.remember_daemon(h.mnt)
    if r.stdout.strip():
        raise AssertionError("mount after the crash printed on stdout: " + r.describe())
    errors = [line for line in r.stderr_lines() if re.search(r"\berror\b", line, re.I)]
    if errors:
        raise AssertionError("mount after the crash reported errors: " + r.describe())
    return r


def fsck(h, timeout=300):
    return h.tool([FSCK, "--cachedir", h.cache, h.url], stdin_text=h.passphrase + "\n",
                  timeout=timeout)


class Harness:
    def __init__(self, h, args):
        self.h = h
        self.args = args
        self.rng = random.Random(args.seed)
        self.model = Model(self.rng)
        self.last_clean_tree = None

    # --- checking ------------------------------------------------------------------

    def verify(self, what):
        """Checks the model's durable promises, walks the whole tree, and makes
        the model's view of the live content the actual one."""
        m, mnt = self.model, self.h.mnt
        problems = []
        for rel, data in sorted(m.durable.items()):
            path = os.path.join(mnt, rel)
            try:
                with open(path, "rb") as f:
                    got = f.read()
            except OSError as e:
                problems.append(f"fsync'd file {rel!r} ({len(data)} bytes): "
                                f"{errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")
                continue
            if got != data:
                first = next((i for i, (a, b) in enumerate(zip(got, data)) if a != b),
                             min(len(got), len(data)))
                problems.append(f"fsync'd file {rel!r}: {len(got)} bytes, expected {len(data)} "
                                f"(sha256 {sha(got)[:12]} vs {sha(data)[:12]}), first difference "
                                f"at byte {first}")
        for rel in sorted(m.absent):
            if os.path.lexists(os.path.join(mnt, rel)):
                problems.append(f"{rel!r} exists although its removal was fsync'd")
        for rel in sorted(m.dirs):
            if not os.path.isdir(os.path.join(mnt, rel) if rel else mnt):
                problems.append(f"directory {rel!r} (creation fsync'd) is missing")
        actual = {}
        dirs = set()

        def walk(rel):
            path = os.path.join(mnt, rel) if rel else mnt
            try:
                names = sorted(os.listdir(path))
            except OSError as e:
                problems.append(f"listdir {rel!r}: {e}")
                return
            for name in names:
                sub = os.path.join(rel, name) if rel else name
                try:
                    st = os.lstat(os.path.join(mnt, sub))
                except OSError as e:
                    problems.append(f"readdir lists {sub!r} but lstat fails: {e}")
                    continue
                if stat.S_ISDIR(st.st_mode):
                    dirs.add(sub)
                    walk(sub)
                elif stat.S_ISREG(st.st_mode):
                    try:
                        with open(os.path.join(mnt, sub), "rb") as f:
                            data = f.read()
                    except OSError as e:
                        problems.append(f"reading {sub!r} ({st.st_size} bytes): "
                                        f"{errno.errorcode.get(e.errno, e.errno)} ({e.strerror})")
                        continue
                    if len(data) != st.st_size:
                        problems.append(f"{sub!r}: st_size {st.st_size} but read "
                                        f"{len(data)} bytes")
                    actual[sub] = data
                else:
                    problems.append(f"{sub!r}: unexpected file type {stat.S_IFMT(st.st_mode):o}")

        walk("")
        try:
            self.h.stat_json()
        except AssertionError as e:
            problems.append(str(e))
        # From now on the model works on what is there.
        m.current = actual
        m.dirs = {""} | dirs
        if problems:
            # Start the next round from the actual state, so that one bug
            # does not fail every later round.
            m.durable = {rel: data for rel, data in actual.items() if m.durable.get(rel) == data}
            m.absent = {rel for rel in m.absent if rel not in actual}
            shown = "\n    ".join(problems[:30])
            more = f"\n    ... and {len(problems) - 30} more" if len(problems) > 30 else ""
            ops = "\n    ".join(m.trace[-25:])
            raise AssertionError(f"{what}: {len(problems)} problems:\n    {shown}{more}\n"
                                 f"  last operations of this round:\n    {ops}")

    # --- one round -----------------------------------------------------------------

    def run_workload(self, kill_at):
        """Runs operations until kill_at steps were done; returns the steps."""
        work = Workload(self.model, self.h.mnt)
        steps = 0
        while steps < kill_at:
            op = work.random_op()
            if op is None:
                continue
            try:
                for _ in op:
                    steps += 1
                    if steps >= kill_at:
                        return steps, op  # stopped in the middle: the caller kills, then closes
            except OSError as e:
                raise AssertionError(f"workload step failed: {e}\n  operation: "
                                     f"{self.model.trace[-1] if self.model.trace else '?'}")
        return steps, None

    def crash(self, pid, rnd):
        """Kills the daemon now, or during a background upload; returns a description."""
        h, rng = self.h, self.rng
        mode = rng.choices(["step", "concurrent", "upload-meta", "flushcache", "umount"],
                           [0.25, 0.25, 0.2, 0.15, 0.15])[0]
        if mode == "step":
            kill_and_lazy_unmount(h, pid)
            return "kill -9 between two steps"
        if mode == "concurrent":
            bg = BackgroundWriter(h.mnt, rng.getrandbits(32), f"bg{rnd:03d}-")
            wanted = rng.randint(0, 12)
            bg.start()
            try:
                wait_until(lambda: bg.ops >= wanted or not bg.is_alive(), 120,
                           f"the background writer to do {wanted} operations")
                kill_and_lazy_unmount(h, pid)
            finally:
                bg.stop.set()
                bg.join(120)
            if bg.is_alive():
                raise AssertionError("the background writer hangs after the kill")
            m = self.model
            m.uncertain(*bg.touched)
            for rel, data in bg.durable.items():
                m.durable[rel] = data
            m.absent |= bg.absent
            return (f"kill -9 while a second writer runs ({bg.ops} operations done, "
                    f"{len(bg.durable)} fsync'd; it stopped with: {bg.error})")
        area = "data" if mode == "flushcache" else "meta"
        before = storage_names(h, area)
        argv = ([UMOUNT, h.mnt] if mode == "umount"
                else [CLI, "ctrl", mode, h.mnt] + (["--quiet"] if mode == "flushcache" else []))
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env=h.env)
        moment = rng.choice(["started", "first new object", "finished"]
                            if mode != "umount" else ["started", "first new object"])
        try:
            if moment == "first new object":
                wait_until(lambda: proc.poll() is not None or storage_names(h, area) - before,
                           60, f"{mode} to store an object")
            elif moment == "finished":
                proc.wait(timeout=120)
            kill_and_lazy_unmount(h, pid)
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        what = "umount.hoardfs" if mode == "umount" else f"hoardfs ctrl {mode}"
        return f"kill -9 during `{what}` ({moment}; it exited {proc.returncode})"

    def round(self, rnd, kill_fsck):
        h, m, rng = self.h, self.model, self.rng
        m.trace = []
        if not is_mounted(h.mnt):
            h.mount()
        pid = daemon_pid(h.mnt)
        kill_at = rng.randint(1, 150)
        steps, pending = self.run_workload(kill_at)
        how = self.crash(pid, rnd)
        if pending is not None:
            pending.close()  # runs the operation's cleanup (close on a dead mount)
        log(f"round {rnd}: {steps} steps, {len(m.trace)} operations, {how}; "
            f"{len(m.durable)} fsync'd files, {len(m.current)} files")
        if kill_fsck:
            self.fsck_killed_then_repairs()
        mount_after_crash(h)
        if rng.random() < 0.15:
            # Crash again at once, while the recovery may still be uploading.
            log(f"round {rnd}: kill -9 again right after the recovery mount")
            kill_and_lazy_unmount(h, daemon_pid(h.mnt))
            mount_after_crash(h)
        self.verify(f"round {rnd} after the crash")

    def fsck_killed_then_repairs(self):
        h, rng = self.h, self.rng
        if not os.access(FSCK, os.X_OK):
            raise AssertionError(f"fsck.hoardfs is not built ({FSCK})")
        cache_bytes = sum(os.path.getsize(os.path.join(d, f))
                          for d, _, fs in os.walk(h.cache) for f in fs)
        proc = subprocess.Popen([FSCK, "--cachedir", h.cache, h.url], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=h.env)
        moment = rng.choice(["started", "opened the cache", "did some I/O"])
        threshold = rng.randint(1, max(1, cache_bytes))
        try:
            proc.stdin.write((h.passphrase + "\n").encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        wait_until(lambda: proc.poll() is not None or os.path.exists(f"/proc/{proc.pid}/exe"),
                   30, "fsck.hoardfs to start")
        if moment == "opened the cache":
            wait_until(lambda: proc.poll() is not None
                       or any(p.startswith(h.cache + "/") for p in open_files(proc.pid)),
                       120, "fsck.hoardfs to open a file in the cache")
        elif moment == "did some I/O":
            wait_until(lambda: proc.poll() is not None or io_bytes(proc.pid) >= threshold,
                       120, f"fsck.hoardfs to read or write {threshold} bytes")
        if proc.poll() is None:
            proc.kill()
            outcome = f"killed -9 ({moment})"
        else:
            outcome = f"finished before the kill ({moment}), exit {proc.returncode}"
        out = proc.stdout.read().decode(errors="replace")
        proc.wait()
        log(f"fsck.hoardfs {outcome}; output: {out.strip()[-300:]!r}")
        r = fsck(h)
        if r.returncode not in (0, 16):
            raise AssertionError("fsck after a killed fsck: expected exit 0 or 16\n  "
                                 + r.describe())
        log(f"fsck.hoardfs again: exit {r.returncode}")

    def clean_cycle(self, rnd):
        """Clean umount, fsck (must be clean), remount: the same tree."""
        h = self.h
        before = snapshot(h.mnt)
        h.umount()
        self.last_clean_tree = before
        try:
            if not os.access(FSCK, os.X_OK):
                raise AssertionError(f"fsck.hoardfs is not built ({FSCK})")
            r = fsck(h)
            if r.returncode != 0:
                raise AssertionError(f"fsck.hoardfs after the clean umount of round {rnd}: "
                                     "expected exit 0 (clean)\n  " + r.describe())
        finally:
            h.mount()
        assert_same_tree(before, snapshot(h.mnt), f"round {rnd}: tree after umount, fsck, mount")

    def final(self):
        h = self.h
        before = snapshot(h.mnt)
        h.umount()
        self.last_clean_tree = before
        shutil.rmtree(h.cache)
        os.mkdir(h.cache)
        h.mount()
        try:
            assert_same_tree(self.last_clean_tree, snapshot(h.mnt),
                             "tree from an empty cache vs. the tree at the last clean umount")
        finally:
            h.umount()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--blocksize", default="64k")
    parser.add_argument("--keep-going", action="store_true",
                        help="run every round even after a failed one")
    args = parser.parse_args()
    require_environment()
    checks = Checks(f"crash (seed {args.seed}, {args.rounds} rounds)")
    with Hoard("crash") as h:
        harness = Harness(h, args)
        if not checks.run("mkfs", h.mkfs, "--blocksize", args.blocksize):
            checks.finish()
        fsck_kill_round = harness.rng.randrange(1, max(2, args.rounds))
        for rnd in range(args.rounds):
            kill_fsck = rnd == fsck_kill_round
            name = f"round_{rnd:02d}" + ("_with_killed_fsck" if kill_fsck else "")
            ok = checks.run(name, harness.round, rnd, kill_fsck)
            if not ok:
                # Leave a clean, mounted state (or none) for the next round.
                if not is_mounted(h.mnt):
                    try:
                        r = h.mount(check=False)
                    except Exception as e:  # noqa: BLE001 - e.g. the tools being rebuilt
                        log(f"could not mount after the failure: {e}")
                        break
                    if r.returncode != 0:
                        log("could not mount after the failure: " + r.describe())
                        break
                if not args.keep_going:
                    break
            if rnd % FSCK_EVERY == FSCK_EVERY - 1 or rnd == args.rounds - 1:
                if not checks.run(f"round_{rnd:02d}_clean_umount_fsck_mount",
                                  harness.clean_cycle, rnd):
                    if not is_mounted(h.mnt):
                        break
        if is_mounted(h.mnt):
            checks.run("empty_cache_shows_last_clean_tree", harness.final)
    checks.finish()


if __name__ == "__main__":
    main()
